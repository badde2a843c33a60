"""Benchmark of FallDetector alone: one-second 50 Hz windows from many synthetic wearables.

`python -m bench.falls [--windows N] [--devices D]` prints windows/s for `observe` (one reading at a time) and
`observe_batch` (one window of every device per call), next to a baseline measured in the same run over the
same windows: a bare per-window numpy |a| maximum (the least any detector must do). Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

from alerts.falls.detector import FallDetector
from devices.models import Family, Reading
from simulators.falls import generate

RATE_HZ = 50.0
T0 = 1_700_000_000.0


def make_readings(n_windows: int, n_devices: int) -> list[Reading]:
    """Round-robin 1-s windows of daily activity (one fall every 7 devices) from n_devices wearables."""
    traces = [generate("fall" if d % 7 == 0 else "daily", RATE_HZ, seed=d)[0] for d in range(min(n_devices, 64))]
    out = []
    for i in range(n_windows):
        dev, k = i % n_devices, i // n_devices
        trace = traces[dev % len(traces)]
        lo = k * 50 % (len(trace) - 50)
        out.append(Reading(f"w{dev}", Family.WEARABLE, T0 + k, k, {}, trace[lo : lo + 50], RATE_HZ))
    return out


def timed(fn: Callable[[], object]) -> float:
    """Seconds taken by one call."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def baseline(readings: list[Reading]) -> None:
    """Bare numpy: the largest |a| of every window, one window at a time."""
    for r in readings:
        np.sqrt((r.acc * r.acc).sum(axis=1)).max()


def run_batched(readings: list[Reading], n_devices: int, worn_at: str = "waist") -> None:
    """One observe_batch call per round of all devices."""
    det = FallDetector(worn_at)
    for i in range(0, len(readings), n_devices):
        det.observe_batch(readings[i : i + n_devices])


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=200_000)
    ap.add_argument("--devices", type=int, default=1_000)
    ap.add_argument("--worn-at", choices=("waist", "wrist", "pendant"), default="waist")
    args = ap.parse_args()
    readings = make_readings(args.windows, args.devices)
    n = len(readings)
    t_base = timed(lambda: baseline(readings))
    det = FallDetector(args.worn_at)
    t_single = timed(lambda: [det.observe(r) for r in readings])
    t_batch = timed(lambda: run_batched(readings, args.devices, args.worn_at))
    result = {
        "windows": n,
        "devices": args.devices,
        "worn_at": args.worn_at,
        "baseline_numpy_norm_windows_per_s": round(n / t_base),
        "observe_windows_per_s": round(n / t_single),
        "windows_per_s": round(n / t_batch),
    }
    result["observe_vs_baseline"] = round(t_base / t_single, 2)
    result["batch_vs_baseline"] = round(t_base / t_batch, 2)
    print(f"baseline (numpy |a| max per window): {result['baseline_numpy_norm_windows_per_s']:>9,} windows/s")
    print(
        f"FallDetector.observe:                     {result['observe_windows_per_s']:>9,} windows/s "
        f"({result['observe_vs_baseline']}x baseline)"
    )
    print(
        f"FallDetector.observe_batch:               {result['windows_per_s']:>9,} windows/s "
        f"({result['batch_vs_baseline']}x baseline)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
