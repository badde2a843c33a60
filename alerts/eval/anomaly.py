"""`evaluate anomalies --homes N --days D [--seed S] [--json] [--out DIR]`: replay a labelled scenario.

The simulated community (simulators/scenarios.py) is replayed accelerated through the catalog's detectors, time
advancing every simulated minute. A detection matches a label of the same type and subject when it falls within the
type's tolerance window after the label's start; the first match of a label is a true positive and gives the delay,
every other alarm detection is a false positive. Informational detections (cleared, restored, online) are not
alarms. Over the simulated broker restart, infrastructure and device-offline alerts are counted separately.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import cast

from alerts.catalog import build_catalog
from alerts.detection import Detection, Severity
from alerts.detector import Detector
from devices.models import Availability, Reading
from simulators.scenarios import TYPES, HubSignal, Label, Scenario, write_ground_truth

TICK_S = 60.0
EARLY_S = 120.0
RESTART_WINDOW_S = 3 * 3600.0
TOLERANCE_S = {
    "inactivity": 5.5 * 3600, "no_wakeup": 6 * 3600, "bed_not_left": 6 * 3600, "bathroom_long": 3 * 3600,
    "night_exit": 2 * 3600, "vital_limit": 1800, "vital_baseline": 3600, "smoke": 600, "gas": 600,
    "water_leak": 600, "device_offline": 7 * 3600, "low_battery": 600, "infrastructure": 3600,
}  # fmt: skip


def replay(scenario: Scenario, detectors: list[Detector], progress: bool = True) -> list[Detection]:
    """Feed every record to every detector in time order; advance time each simulated minute."""
    found: list[Detection] = []
    t_start, t_end = scenario.stream_start, scenario.stream_start + scenario.days * 86_400.0
    tick, shown = t_start + TICK_S, -1
    for item in scenario.stream():
        if item.ts >= t_end:  # the run ends; what the devices would say afterwards is not part of it
            break
        while item.ts >= tick:
            for det in detectors:
                found.extend(det.advance(tick))
            tick += TICK_S
            shown = _progress(tick, t_start, t_end, shown) if progress else shown
        if isinstance(item, Reading):
            for det in detectors:
                found.extend(det.observe(item))
        elif isinstance(item, Availability):
            for det in detectors:
                found.extend(det.observe_availability(item))
        elif isinstance(item, HubSignal):
            for det in detectors:
                if item.connected:
                    det.on_reconnect(item.ts)
                else:
                    det.on_disconnect(item.ts)
    if progress:
        print(file=sys.stderr)
    return found


def _progress(now: float, t0: float, t1: float, shown: int) -> int:
    pct = min(100, int(100 * (now - t0) / (t1 - t0)))
    if pct != shown:
        bar = "#" * (pct // 4) + "." * (25 - pct // 4)
        print(f"\r[{bar}] {pct:3d}%  day {int((now - t0) // 86_400) + 1}", end="", file=sys.stderr, flush=True)
    return pct


def score(labels: list[Label], detections: list[Detection], restart: tuple[float, float]) -> dict[str, object]:
    """Per-type precision, recall and median delay, plus alerts over the broker restart."""
    alarms = [d for d in detections if d.severity != Severity.INFO]
    by_key: dict[tuple[str, str], list[Label]] = defaultdict(list)
    for label in labels:
        by_key[(label.type, label.subject)].append(label)
    matched: set[int] = set()
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    delays: dict[str, list[float]] = defaultdict(list)
    for det in sorted(alarms, key=lambda d: d.ts):
        hit = next(
            (
                lab
                for lab in by_key.get((det.kind, det.subject_id), ())
                if id(lab) not in matched and lab.start - EARLY_S <= det.ts <= lab.start + TOLERANCE_S[lab.type]
            ),
            None,
        )
        if hit is None:
            fp[det.kind] += 1
            continue
        matched.add(id(hit))
        tp[det.kind] += 1
        delays[det.kind].append(det.ts - hit.start)
    result: dict[str, object] = {}
    for kind in TYPES:
        n = sum(1 for lab in labels if lab.type == kind)
        ndet = tp[kind] + fp[kind]
        result[kind] = {
            "precision": round(tp[kind] / ndet, 4) if ndet else 1.0,
            "recall": round(tp[kind] / n, 4) if n else 1.0,
            "delay_median_s": round(statistics.median(delays[kind]), 1) if delays[kind] else None,
            "labels": n,
            "detections": ndet,
        }
    window = [d for d in alarms if restart[0] <= d.ts <= restart[1] + RESTART_WINDOW_S]
    result["infrastructure_alerts"] = sum(1 for d in window if d.kind == "infrastructure")
    result["device_offline_alerts_over_restart"] = sum(1 for d in window if d.kind == "device_offline")
    result["other_alarms"] = {k: v for k, v in fp.items() if k not in TYPES}
    return result


def evaluate(homes: int, days: int, seed: int = 0, progress: bool = False) -> dict[str, object]:
    """Build, replay and score one scenario; the result is the JSON object of the CLI."""
    scenario = Scenario(homes, days, seed)
    detectors = build_catalog(scenario.topology).build()
    t0 = time.perf_counter()
    found = replay(scenario, detectors, progress)
    result = score(scenario.labels, found, scenario.restart)
    result["run"] = {"homes": homes, "days": days, "seed": seed, "elapsed_s": round(time.perf_counter() - t0, 1)}
    return result | {"_labels": scenario.labels, "_detections": found}


def main(argv: list[str] | None = None) -> int:
    """Command line: print the per-type table (or, with --json, one JSON object as the last line)."""
    parser = argparse.ArgumentParser(prog="hub evaluate anomalies", description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=100, help="simulated homes (default 100)")
    parser.add_argument("--days", type=int, default=30, help="simulated days, at least 4 (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="scenario seed (default 0)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument("--out", type=Path, help="write the ground truth (and detections) to this folder")
    args = parser.parse_args(argv)
    if args.homes < 1 or args.days < 4:
        parser.error("needs --homes >= 1 and --days >= 4 (a few days of learning come first)")
    try:
        result = evaluate(args.homes, args.days, args.seed, progress=True)
    except ValueError as exc:  # a scenario too small for its labelled anomalies
        parser.error(str(exc))
    labels = cast("list[Label]", result.pop("_labels"))  # what evaluate() put there, beside the JSON result
    detections = cast("list[Detection]", result.pop("_detections"))
    if args.out is not None:
        write_ground_truth(labels, args.out)
        rows = [{"kind": d.kind, "subject": d.subject_id, "ts": d.ts, "severity": d.severity} for d in detections]
        (args.out / "detections.json").write_text(json.dumps(rows, indent=1))
    print(f"{'type':16} {'labels':>6} {'alarms':>6} {'precision':>9} {'recall':>7} {'delay_med_s':>11}")
    for kind in TYPES:
        r = result[kind]
        assert isinstance(r, dict)
        delay = "-" if r["delay_median_s"] is None else f"{r['delay_median_s']:.0f}"
        print(f"{kind:16} {r['labels']:6d} {r['detections']:6d} {r['precision']:9.3f} {r['recall']:7.3f} {delay:>11}")
    print(
        f"over the broker restart: {result['infrastructure_alerts']} infrastructure alert(s), "
        f"{result['device_offline_alerts_over_restart']} device-offline alert(s); run {result['run']}"
    )
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
