"""Tune and check the routine detectors on emergencies of one's own: splice several seeds of emergencies into a home
(`home_splice`, the dev set's way, on days away from its own labels), replay each copy and sum the figures.

`python -m alerts.eval.home_sweep HOME_DIR [--seeds 1-8] [--count 6] [--kinds K1,K2] [--json]`: per seed the
caught emergencies, their latencies and the false alerts; then the totals (median latency, false alerts per
home-month over all copies).
Only the spliced copies' labels are read, after each replay (as `hub evaluate routine` does).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from alerts.eval.home_replay import load_home, read_labels, run, score
from alerts.eval.home_splice import KINDS, splice_home


def sweep(src: Path, seeds: list[int], count: int = 6, kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    """Splice `count` emergencies for each seed into a copy of `src`, replay and score each copy."""
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    caught = total = false = 0
    days = 0.0
    false_list: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            dst = Path(tmp) / f"seed{seed}"
            splice_home(src, dst, seed=seed, count=count, taken_gap_days=1, kinds=kinds)
            layout = load_home(dst)
            alerts = run(layout)
            labels = read_labels(dst) or []
            sc = score(labels, alerts, layout.days, layout.events[0].utc_offset_s)
            missed = [p for p in sc["per_emergency"] if not p["caught"]]
            rows.append({"seed": seed, "emergencies": sc["emergencies"], "caught": sc["caught"],
                         "latency_median_h": sc["latency_median_h"], "false_alerts": sc["false_alerts"],
                         "missed": missed})
            caught += sc["caught"]
            total += sc["emergencies"]
            false += sc["false_alerts"]
            days += layout.days
            latencies += [float(p["latency_h"]) for p in sc["per_emergency"] if p["latency_h"] is not None]
            false_list += [f"seed {seed}: {alerts[i].message} @ {alerts[i].ts:.0f}" for i in sc["_false"]]
    return {"seeds": rows, "emergencies": total, "caught": caught,
            "latency_median_h": round(statistics.median(latencies), 2) if latencies else None,
            "latency_max_h": round(max(latencies), 2) if latencies else None,
            "false_alerts": false, "false_alerts_per_home_month": round(false / days * 30.0, 2) if days else None,
            "false": false_list}


def _seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-", 1)
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    """Command line: one line per seed, the totals, and (with --json) one JSON object as the last line."""
    p = argparse.ArgumentParser(prog="python -m alerts.eval.home_sweep", description=__doc__.splitlines()[0])
    p.add_argument("home", type=Path)
    p.add_argument("--seeds", default="1-8", help="e.g. 1-8 or 2,5,9")
    p.add_argument("--count", type=int, default=6, help="emergencies spliced per seed")
    p.add_argument("--kinds", default=",".join(KINDS), help="splice kinds, comma-separated (see home_splice)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    r = sweep(args.home, _seeds(args.seeds), args.count, tuple(args.kinds.split(",")))
    for row in r["seeds"]:
        print(f"seed {row['seed']}: caught {row['caught']}/{row['emergencies']}, median latency "
              f"{row['latency_median_h']} h, {row['false_alerts']} false; missed {row['missed']}")
    for f in r["false"]:
        print("FALSE", f)
    print(f"total: caught {r['caught']}/{r['emergencies']}, median latency {r['latency_median_h']} h "
          f"(max {r['latency_max_h']}), {r['false_alerts']} false = {r['false_alerts_per_home_month']} per home-month")
    if args.json:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
