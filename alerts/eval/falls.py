"""`python -m alerts.eval.falls DATASET_DIR [--json] [--cv K] [--worn-at waist|wrist|pendant]`: replay fall datasets.

The layout is recognised from the files: SisFall (waist, 200 Hz, decimated to 50 Hz) or WEDA-FALL (wrist, ~50 Hz
stamped in bursts, sent as 1-s payloads with per-sample times and put on the 50 Hz grid as ingest does). Each
recording is fed as Reading objects to the production detector, worn where `--worn-at` says (default: the
dataset's own position), and alerts are scored per recording (alerts/eval/falls_scoring.py). With --cv K, the
position's method is refitted on the training subjects of each leave-subjects-out fold and the held-out subjects
are scored: the learned model where the position has one (alerts/eval/falls_learn.py), else the thresholds
(alerts/eval/falls_tuning.py).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from scipy.stats import chi2

from alerts.eval.falls_scoring import Outcome, breakdown, score_recording, summarise
from alerts.eval.falls_sources import DEFAULT_POSITION, Row, duration_s, fall_start_ts, replay_any
from alerts.eval.falls_sources import load as load_any
from alerts.eval.falls_sources import progress as progress
from alerts.eval.falls_tuning import Loaded, cross_validate
from alerts.falls.detector import DEFAULT_MODELS, FallDetector, WornAt
from alerts.falls.features import FallThresholds
from alerts.falls.model import FallModel

SUMMARY_KEYS = ("sensitivity", "specificity", "false_alarms_per_hour", "latency_median_s", "latency_p95_s")
WAKING_HOURS_PER_DAY = 16.0  # false alarms per day = per hour of (laboratory) daily activity x waking hours


def per_day_upper95(alarms: float, adl_hours: float) -> float:
    """One-sided 95 % upper bound of the false alarms per day (exact Poisson): what few ADL hours cannot rule out."""
    if not adl_hours:
        return math.nan
    return float(chi2.ppf(0.95, 2 * (round(alarms) + 1))) / 2 / adl_hours * WAKING_HOURS_PER_DAY


def load(root: Path) -> Loaded:
    """Every recording under root with its samples and true impact time (NaN for daily activities)."""
    return load_any(root)[1]


def evaluate(
    loaded: list[Row], recs: Iterable[int], thresholds: FallThresholds | None = None, position: WornAt = "waist",
    model: FallModel | None = None,
) -> list[Outcome]:
    """Replay recordings through a FallDetector worn at `position` (thresholds or model overridden if given)."""
    detector = FallDetector(
        position,
        thresholds=None if thresholds is None else {position: thresholds},
        models=None if model is None else {position: model},
    )
    outcomes = []
    for i in recs:
        rec, data, impact = loaded[i]
        alerts = [(d.ts, at) for d, at in replay_any(detector, data, f"{rec.subject}/{rec.code}/{rec.path.name}")]
        impact_ts = None if math.isnan(impact) else impact
        outcomes.append(
            score_recording(rec.code, rec.subject, rec.group, duration_s(data), impact_ts, alerts, fall_start_ts(rec))
        )
    return outcomes


def report(title: str, outcomes: list[Outcome]) -> dict[str, float]:
    """Print the summary and the breakdowns of one evaluation; return the summary."""
    s = summarise(outcomes)
    s["false_alarms_per_day"] = s["false_alarms_per_hour"] * WAKING_HOURS_PER_DAY
    s["false_alarms_per_day_upper95"] = per_day_upper95(s["false_alarms_per_hour"] * s["adl_hours"], s["adl_hours"])
    print(f"== {title}: {s['recordings']} recordings ({s['falls']} falls, {s['adl_hours']:.2f} h of ADL)")
    print(
        f"sensitivity {s['sensitivity']:.2%}  specificity {s['specificity']:.2%}  "
        f"false alarms/h {s['false_alarms_per_hour']:.2f} (/day of {WAKING_HOURS_PER_DAY:.0f} waking h: "
        f"{s['false_alarms_per_day']:.1f}, at most {s['false_alarms_per_day_upper95']:.1f} at 95 %)  "
        f"latency median {s['latency_median_s']:.2f} s  p95 {s['latency_p95_s']:.2f} s"
    )
    for group in sorted({o.group for o in outcomes}):
        g = summarise(o for o in outcomes if o.group == group)
        cells = []
        if g["falls"]:
            s[f"{group}_sensitivity"] = g["sensitivity"]
            cells.append(f"sensitivity {g['sensitivity']:.2%} ({g['falls']} falls)")
        if g["adl_recordings"]:
            s[f"{group}_specificity"] = g["specificity"]
            s[f"{group}_false_alarms_per_hour"] = g["false_alarms_per_hour"]
            s[f"{group}_false_alarms_per_day"] = g["false_alarms_per_hour"] * WAKING_HOURS_PER_DAY
            up = s[f"{group}_false_alarms_per_day_upper95"] = per_day_upper95(
                g["false_alarms_per_hour"] * g["adl_hours"], g["adl_hours"]
            )
            cells.append(
                f"specificity {g['specificity']:.2%}  false alarms/h {g['false_alarms_per_hour']:.2f} "
                f"({g['adl_hours']:.2f} h of ADL, {g['false_alarms_per_hour'] * WAKING_HOURS_PER_DAY:.1f}/day, "
                f"at most {up:.1f} at 95 %)"
            )
        print(f"  {group}: " + "  ".join(cells))
    for key, name in (("group", "age group"), ("code", "code")):
        cells = [f"{k} {ok}/{n}" for k, (ok, n) in breakdown(outcomes, key).items()]
        print(f"correct per {name}: " + ", ".join(cells))
    missed: dict[str, list[str]] = defaultdict(list)
    alarming: dict[str, list[str]] = defaultdict(list)
    for o in outcomes:
        if o.is_fall and not o.correct:
            missed[o.code].append(o.subject if o.n_alerts == 0 else f"{o.subject}({o.n_alerts} alerts)")
        elif not o.is_fall and o.n_alerts:
            alarming[o.code].append(o.subject if o.n_alerts == 1 else f"{o.subject}x{o.n_alerts}")
    print("missed falls: " + ("; ".join(f"{c}: {' '.join(v)}" for c, v in sorted(missed.items())) or "none"))
    print("alarming activities: " + ("; ".join(f"{c}: {' '.join(v)}" for c, v in sorted(alarming.items())) or "none"))
    return s


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="python -m alerts.eval.falls", description=__doc__.splitlines()[0])
    ap.add_argument("dataset_dir", type=Path, help="folder laid out like datasets/sisfall-dev or weda-fall-dev")
    ap.add_argument("--json", action="store_true", help="end stdout with one JSON line of the figures")
    ap.add_argument("--cv", type=int, default=0, metavar="K", help="leave-subjects-out cross-validation, K folds")
    ap.add_argument("--worn-at", choices=("waist", "wrist", "pendant"), help="default: the dataset's own position")
    args = ap.parse_args(argv)
    kind, loaded = load_any(args.dataset_dir)
    if kind is None or not loaded:
        print(f"no SisFall or WEDA-FALL recordings under {args.dataset_dir}", file=sys.stderr)
        return 2
    position: WornAt = args.worn_at or DEFAULT_POSITION[kind]
    method = "learned model" if position in DEFAULT_MODELS else "thresholds"
    print(f"dataset layout {kind}, worn at {position}, method: {method}")
    result: dict[str, object] = {"dataset": kind, "worn_at": position, "method": method}
    result.update(report(f"shipped {method}", evaluate(loaded, range(len(loaded)), position=position)))
    if args.cv:
        cv_out: list[Outcome] = []
        if position in DEFAULT_MODELS:
            from alerts.eval.falls_learn import cross_validate as cross_validate_model

            def score_model(recs: list[int], model: FallModel) -> None:
                cv_out.extend(evaluate(loaded, recs, position=position, model=model))

            models, _ = cross_validate_model(loaded, args.cv, score_model, position)
            for i, m in enumerate(models):
                held_out = " ".join(map(str, m.meta["held_out"]))  # type: ignore[call-overload]  # meta is JSON
                print(f"fold {i}: held out {held_out}, fitted on {m.meta['rows']} impacts")
        else:

            def score_rule(recs: list[int], th: FallThresholds) -> None:
                cv_out.extend(evaluate(loaded, recs, th, position))

            chosen, on_all = cross_validate(loaded, args.cv, score_rule, position)
            for i, th in enumerate(chosen):
                print(f"fold {i}: {th}")
            print(f"tuned on all subjects: {on_all}")
        result["cv"] = report(f"{args.cv}-fold leave-subjects-out", cv_out)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
