"""Splice emergencies into a home in the shared layout, the way the dev set's README describes, to tune and test the
routine detectors on emergencies other than the labelled ones.

- `day_collapse`: a moment between 09:00 and 16:00 local when the resident is at home (a sensor fired in the 30
  minutes before, the front door not in the hour before); 8 hours of silence follow.
- `night_bathroom`: right after a toilet or bathroom sensor fired between 00:00 and 05:00; 8 hours of silence follow.
More kinds to tune on (not in the dev set; `--kinds`): `evening_collapse` as `day_collapse` between 16:00 and
22:00; `back_collapse`: within 10 minutes after coming home (the front door after an hour or more of silence).
Every event in `[start, end)` is removed. Chosen days are at least 3 days apart (also from the home's own labels)
and never in the first 3 days. Deterministic for a seed.

`python -m alerts.eval.home_splice SRC_HOME DST_HOME [--seed S] [--count N]` writes a new home folder (home.json and
sensors.csv as they were, events.csv spliced, labels.csv with the source's labels and the new ones).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from alerts.eval.home_replay import Event, Label, Sensor, iso, read_events, read_labels, read_sensors

DAY_S = 86_400.0
SILENCE_S = 8 * 3600.0
KINDS = ("day_collapse", "night_bathroom")
HOURS = {"day_collapse": (9.0, 16.0), "evening_collapse": (16.0, 22.0)}  # when an at-home collapse may begin


@dataclass(frozen=True, slots=True)
class Splice:
    """One spliced emergency."""

    start: float
    end: float
    kind: str


def _local_day(ts: float, off: float) -> int:
    return int((ts + off) // DAY_S)


def _tod(ts: float, off: float) -> float:
    return (ts + off) % DAY_S


def candidates(events: list[Event], sensors: list[Sensor], kind: str, step_s: float = 900.0) -> list[float]:
    """Every moment that qualifies for one kind of emergency (day collapse on a 15-minute grid)."""
    by_id = {s.sensor_id: s for s in sensors}
    times = [e.ts for e in events]
    off = events[0].utc_offset_s if events else 0.0
    if kind == "night_bathroom":
        out = []
        for e in events:
            s = by_id.get(e.sensor_id)
            if e.value and s is not None and s.room in ("bathroom", "toilet") and _tod(e.ts, off) < 5 * 3600.0:
                out.append(e.ts + 1.0)
        return out
    doors = [e.ts for e in events if (s := by_id.get(e.sensor_id)) is not None and s.front_door]
    if kind == "back_collapse":
        out = []
        for k, d in enumerate(doors):
            i = bisect.bisect_left(times, d)
            if i > 0 and d - times[i - 1] >= 3600.0 and (k == 0 or d - doors[k - 1] > 120.0):
                j = bisect.bisect_right(times, d + 600.0)
                if j > i + 1:
                    out.append(times[j - 1] + 1.0)  # the last sign within 10 minutes of coming in
        return out
    lo, hi = HOURS[kind]
    out = []
    t = events[0].ts - events[0].ts % step_s + step_s
    while t < events[-1].ts:
        if lo * 3600.0 <= _tod(t, off) < hi * 3600.0:
            i = bisect.bisect_left(times, t)
            recent = i > 0 and t - times[i - 1] <= 1800.0
            j = bisect.bisect_left(doors, t)
            door_near = j > 0 and t - doors[j - 1] <= 3600.0
            if recent and not door_near:
                out.append(t)
        t += step_s
    return out


def choose(events: list[Event], sensors: list[Sensor], count: int, seed: int,
           taken: list[Label] | None = None, taken_gap_days: int = 3,
           kinds: tuple[str, ...] = KINDS) -> list[Splice]:
    """Pick `count` emergencies, kinds alternating from a seeded start, on days 3 apart, after the first 3 days."""
    rng = random.Random(seed)
    off = events[0].utc_offset_s
    first_day = _local_day(events[0].ts, off)
    busy = [_local_day(lab.start, off) for lab in taken or ()]
    gaps = [taken_gap_days] * len(busy)
    pools = {k: candidates(events, sensors, k) for k in kinds}
    out: list[Splice] = []
    order = list(kinds)
    rng.shuffle(order)
    for _ in range(count * 20):
        if len(out) == count:
            break
        kind = order[len(out) % len(order)]
        pool = [t for t in pools[kind]
                if _local_day(t, off) >= first_day + 3 and t + SILENCE_S < events[-1].ts
                and all(abs(_local_day(t, off) - d) >= g for d, g in zip(busy, gaps, strict=True))]
        if not pool:
            order.remove(kind)
            if not order:
                break
            continue
        t = rng.choice(pool)
        out.append(Splice(t, t + SILENCE_S, kind))
        busy.append(_local_day(t, off))
        gaps.append(3)
    return sorted(out, key=lambda s: s.start)


def apply(events: list[Event], splices: list[Splice]) -> list[Event]:
    """The events without those inside any splice's [start, end)."""
    return [e for e in events if not any(s.start <= e.ts < s.end for s in splices)]


def splice_home(src: Path, dst: Path, seed: int = 0, count: int = 5, taken_gap_days: int = 3,
                kinds: tuple[str, ...] = KINDS) -> list[Splice]:
    """Write a spliced copy of a home folder; returns the new emergencies (also appended to its labels.csv).

    The source's own labels keep `taken_gap_days` from the new ones (3 as among the new ones; 1 only avoids their
    days, to fit more emergencies into a short recording for tuning)."""
    events = list(read_events(src))
    sensors = read_sensors(src)
    taken = read_labels(src) or []
    splices = choose(events, sensors, count, seed, taken, taken_gap_days, kinds)
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("home.json", "sensors.csv"):
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    kept = apply(events, splices)
    with (dst / "events.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ts", "sensor_id", "value"])
        for e in kept:
            w.writerow([iso(e.ts, e.utc_offset_s), e.sensor_id, e.value])
    off = events[0].utc_offset_s
    rows = [(lab.start, lab.end, lab.kind) for lab in taken] + [(s.start, s.end, s.kind) for s in splices]
    with (dst / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["start", "end", "kind"])
        for start, end, kind in sorted(rows):
            w.writerow([iso(start, off), iso(end, off), kind])
    return splices


def main(argv: list[str] | None = None) -> int:
    """Command line: splice and print the new emergencies as one JSON line."""
    p = argparse.ArgumentParser(prog="python -m alerts.eval.home_splice", description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path, help="a home folder (home.json, sensors.csv, events.csv[, labels.csv])")
    p.add_argument("dst", type=Path, help="where to write the spliced home")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--taken-gap-days", type=int, default=3, help="days kept from the source's own labels")
    p.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: day_collapse, night_bathroom, "
                   "evening_collapse, back_collapse")
    args = p.parse_args(argv)
    splices = splice_home(args.src, args.dst, args.seed, args.count, args.taken_gap_days,
                          tuple(args.kinds.split(",")))
    off = next(read_events(args.src)).utc_offset_s
    print(json.dumps([{"start": iso(s.start, off), "end": iso(s.end, off), "kind": s.kind} for s in splices]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
