"""`hub evaluate routine HOME_DIR [--json]`: replay a real home through the routine detector and score it.

The home is a folder in the shared layout (home.json, sensors.csv, events.csv; see alerts/eval/home_replay.py). It is
replayed on its own clock (no wall clock: weeks replay in seconds). Every alert is printed with why it fired; where
the folder has labels.csv, the labelled emergencies are scored after the replay (caught: an alert between the
start and the end of the emergency; latency: the first such alert after the start; every other alert is false).
With --json the last line is one JSON object: {"alerts": [{"ts", "kind", "why"}...], "days", and the scores}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from alerts.eval.home_replay import LayoutError, iso, load_home, read_labels, run, score


def evaluate(root: Path) -> dict[str, Any]:
    """Replay one home folder; scores where it has labels (read only after the replay)."""
    t0 = time.perf_counter()
    layout = load_home(root)
    if not layout.events:
        raise LayoutError(f"{root}: events.csv has no events")
    offset = layout.events[0].utc_offset_s
    alerts = run(layout)
    result: dict[str, Any] = {
        "alerts": [{"ts": iso(d.ts, offset), "kind": d.kind, "why": d.message} for d in alerts],
        "days": round(layout.days, 3),
    }
    labels = read_labels(root)
    if labels is not None:
        scores = score(labels, alerts, layout.days, offset)
        false = scores.pop("_false")
        result.update(scores)
        result["false"] = [result["alerts"][i] for i in false]
    result["elapsed_s"] = round(time.perf_counter() - t0, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: the alerts and scores as text, then (with --json) one JSON object as the last line."""
    parser = argparse.ArgumentParser(prog="hub evaluate routine", description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="home folder: home.json, sensors.csv, events.csv[, labels.csv]")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args(argv)
    try:
        result = evaluate(args.home)
    except (LayoutError, OSError, ValueError, KeyError) as exc:
        print(f"hub evaluate routine: error: {exc}", file=sys.stderr)
        return 2
    false = {(a["ts"], a["kind"]) for a in result.get("false", [])}
    for a in result["alerts"]:
        mark = "FALSE " if (a["ts"], a["kind"]) in false else ("      " if "false" not in result else "caught")
        print(f"{mark} {a['ts']}  {a['why']}")
    print(f"{len(result['alerts'])} alert(s) over {result['days']} days "
          f"(replayed in {result['elapsed_s']} s)")
    if "emergencies" in result:
        for p in result["per_emergency"]:
            print(f"emergency {p['kind']:15} {p['start']}  caught={p['caught']}  latency_h={p['latency_h']}")
        print(f"caught {result['caught']}/{result['emergencies']}, median latency {result['latency_median_h']} h, "
              f"{result['false_alerts']} false alert(s) = {result['false_alerts_per_home_month']} per home-month")
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
