"""Benchmark: readings per second through all anomaly detectors, as residents followed in real time per core.

Replays a seeded scenario (pre-generated, so the generator's cost is excluded) twice in the same run: once through
a loop that only dispatches the records (the baseline) and once through the catalog's detectors with time advancing
every simulated minute. Also times `advance()` alone, scaled to 10,000 homes at one call per second. Last line JSON.
Run: `.venv/bin/python -m bench.anomalies [--homes N] [--days D]` (bounded: well under a minute at the defaults).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from alerts.catalog import build_catalog
from alerts.detector import Detector
from alerts.eval.anomaly import TICK_S
from devices.models import Availability, Reading
from simulators.scenarios import Scenario

TARGET_RESIDENTS = 10_000


def _dispatch(items: list, detectors: list, t0: float) -> int:
    """The replay loop of the evaluation; returns the number of detections."""
    n, tick = 0, t0 + TICK_S
    for item in items:
        while item.ts >= tick:
            for det in detectors:
                n += len(det.advance(tick))
            tick += TICK_S
        if isinstance(item, Reading):
            for det in detectors:
                n += len(det.observe(item))
        elif isinstance(item, Availability):
            for det in detectors:
                if hasattr(det, "observe_availability"):
                    n += len(det.observe_availability(item))
    return n


class _Null(Detector):
    """A detector that does nothing: the baseline measures the loop and dispatch alone."""

    name = "null"

    def observe(self, reading: Reading) -> list:
        return []

    def advance(self, now: float) -> list:
        return []


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a summary, the last line as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=60)
    parser.add_argument("--days", type=int, default=5)
    args = parser.parse_args(argv)
    scenario = Scenario(args.homes, args.days, seed=7)
    t_end = scenario.stream_start + args.days * 86_400.0
    items = [it for it in scenario.stream() if it.ts < t_end and not hasattr(it, "connected")]
    readings = sum(isinstance(it, Reading) for it in items)
    t = time.perf_counter()
    _dispatch(items, [_Null()], scenario.stream_start)
    base_s = time.perf_counter() - t
    detectors = build_catalog(scenario.topology).build()
    t = time.perf_counter()
    found = _dispatch(items, detectors, scenario.stream_start)
    det_s = time.perf_counter() - t
    t, calls = time.perf_counter(), 200
    for k in range(calls):
        for det in detectors:
            det.advance(t_end + k)
    advance_s = (time.perf_counter() - t) / calls * TARGET_RESIDENTS / args.homes  # one call, 10k homes
    per_resident_hz = readings / (args.homes * args.days * 86_400.0)
    rate = readings / det_s
    core_10k = TARGET_RESIDENTS * per_resident_hz / rate + advance_s  # advance once a second
    result = {
        "readings": readings,
        "detections": found,
        "baseline_s": round(base_s, 3),
        "detectors_s": round(det_s, 3),
        "ratio_vs_baseline": round(det_s / base_s, 2),
        "readings_per_s": round(rate),
        "us_per_reading": round(1e6 / rate, 2),
        "readings_per_resident_per_s": round(per_resident_hz, 5),
        "residents_real_time_per_core": round(1.0 / (per_resident_hz / rate + advance_s / TARGET_RESIDENTS)),
        "advance_10k_homes_ms": round(advance_s * 1e3, 3),
        "core_fraction_10k_residents": round(core_10k, 4),
    }
    print(
        f"{readings} readings ({per_resident_hz * 3600:.1f}/resident/h): detectors {det_s:.2f} s, "
        f"dispatch only {base_s:.2f} s (x{det_s / base_s:.1f}); 10,000 residents need {100 * core_10k:.2f} % "
        f"of a core",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
