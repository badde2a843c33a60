"""`python -m alerts.eval.falls DATASET_DIR [--json] [--cv K]`: replay SisFall recordings.

Each recording is decimated to 50 Hz, cut into 1-s windows like the MQTT payload and fed as Reading objects to
the production detector; alerts are scored per recording (alerts/eval/falls_scoring.py). With --cv K, thresholds
are tuned on the training subjects of each leave-subjects-out fold (alerts/eval/falls_tuning.py) and the held-out
subjects are scored.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from alerts.eval.falls_dataset import SOURCE_HZ, T0, find_recordings, impact_index, load_acc, replay
from alerts.eval.falls_scoring import Outcome, breakdown, score_recording, summarise
from alerts.eval.falls_tuning import Loaded, cross_validate
from alerts.falls.detector import FallDetector
from alerts.falls.features import FallThresholds

T = TypeVar("T")
SUMMARY_KEYS = ("sensitivity", "specificity", "false_alarms_per_hour", "latency_median_s", "latency_p95_s")


def progress(items: Sequence[T], label: str, width: int = 30) -> Iterator[T]:
    """Yield items while drawing a one-line progress bar on stderr."""
    total = max(1, len(items))
    for i, item in enumerate(items, 1):
        if i == 1 or i == total or i % 10 == 0:
            done = width * i // total
            sys.stderr.write(f"\r{label} [{'#' * done}{'.' * (width - done)}] {i}/{len(items)}")
            sys.stderr.flush()
        yield item
    sys.stderr.write("\n")


def load(root: Path) -> Loaded:
    """Every recording under root with its samples and true impact time (NaN for daily activities)."""
    out = []
    for rec in progress(find_recordings(root), "loading"):
        acc = load_acc(rec.path)
        out.append((rec, acc, T0 + impact_index(acc) / SOURCE_HZ if rec.is_fall else math.nan))
    return out


def evaluate(loaded: Loaded, recs: Iterable[int], thresholds: FallThresholds | None = None) -> list[Outcome]:
    """Replay recordings through a FallDetector (waist thresholds overridden if given) and score them."""
    detector = FallDetector(thresholds=None if thresholds is None else {"waist": thresholds})
    outcomes = []
    for i in recs:
        rec, acc, impact = loaded[i]
        alerts = [(d.ts, at) for d, at in replay(detector, acc, f"{rec.subject}/{rec.path.name}")]
        impact_ts = None if math.isnan(impact) else impact
        outcomes.append(score_recording(rec.code, rec.subject, rec.group, len(acc) / SOURCE_HZ, impact_ts, alerts))
    return outcomes


def report(title: str, outcomes: list[Outcome]) -> dict[str, float]:
    """Print the summary and the breakdowns of one evaluation; return the summary."""
    s = summarise(outcomes)
    print(f"== {title}: {s['recordings']} recordings ({s['falls']} falls, {s['adl_hours']:.2f} h of ADL)")
    print(
        f"sensitivity {s['sensitivity']:.2%}  specificity {s['specificity']:.2%}  "
        f"false alarms/h {s['false_alarms_per_hour']:.2f}  "
        f"latency median {s['latency_median_s']:.2f} s  p95 {s['latency_p95_s']:.2f} s"
    )
    for key, name in (("group", "age group"), ("code", "code")):
        cells = [f"{k} {ok}/{n}" for k, (ok, n) in breakdown(outcomes, key).items()]
        print(f"correct per {name}: " + ", ".join(cells))
    return s


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="python -m alerts.eval.falls", description=__doc__.splitlines()[0])
    ap.add_argument("dataset_dir", type=Path, help="folder laid out like datasets/sisfall-dev")
    ap.add_argument("--json", action="store_true", help="end stdout with one JSON line of the figures")
    ap.add_argument("--cv", type=int, default=0, metavar="K", help="leave-subjects-out cross-validation, K folds")
    args = ap.parse_args(argv)
    loaded = load(args.dataset_dir)
    if not loaded:
        print(f"no SisFall recordings under {args.dataset_dir}", file=sys.stderr)
        return 2
    result: dict[str, object] = {**report("default thresholds", evaluate(loaded, range(len(loaded))))}
    if args.cv:
        cv_out: list[Outcome] = []
        chosen, on_all = cross_validate(loaded, args.cv, lambda recs, th: cv_out.extend(evaluate(loaded, recs, th)))
        for i, th in enumerate(chosen):
            print(f"fold {i}: {th}")
        print(f"tuned on all subjects: {on_all}")
        result["cv"] = report(f"{args.cv}-fold leave-subjects-out", cv_out)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
