"""Accelerometer samples with irregular timestamps (a watch delivering in bursts) onto a regular grid.

A wearable may send per-sample times (`acc_t` in the telemetry payload, docs/mqtt-contract.md) instead of trusting
its nominal rate. A Fitbit-class watch samples steadily at 40-50 Hz but stamps samples when it hands them over, in
bursts: five samples 1-3 ms apart, then 60-160 ms of nothing (WEDA-FALL). Taken literally, those stamps put five
real samples (100 ms of motion) into one 20-ms grid cell and lose impact peaks. So when the stamps of a payload lie
within `BURST_TOLERANCE_S` of a straight line through them (steady sampling, bursty stamps), the samples are
re-timed on that line; otherwise (lost samples, a real gap) the stamps are kept. The samples are then interpolated
onto the grid of absolute times k / rate (k integer), so that consecutive payloads of one device mesh without
overlap; the fall detector bridges the short gaps between them.
"""

from __future__ import annotations

import math

import numpy as np

MIN_HZ, MAX_HZ = 20.0, 200.0
BURST_TOLERANCE_S = 0.2  # stamps this close to a straight line are read as steady sampling delivered in bursts


def steady_times(t: np.ndarray) -> np.ndarray:
    """The least-squares line through the stamps (by sample index) if every stamp lies near it, else the stamps."""
    if len(t) < 3:
        return t
    i = np.arange(len(t), dtype=np.float64)
    slope, icpt = np.polyfit(i, t, 1)
    line = icpt + slope * i
    if slope > 0 and np.abs(t - line).max() <= BURST_TOLERANCE_S:
        return line
    return t


def to_grid(t: np.ndarray, acc: np.ndarray, rate_hz: float, steady: bool = True) -> tuple[float, np.ndarray]:
    """Linear interpolation of (n, 3) samples at absolute times `t` (s) onto the grid k / rate_hz.

    Returns (time of the first grid sample, (m, 3) float32 samples at the grid times within [t[0], t[-1]]).
    With `steady`, bursty stamps are first re-timed (`steady_times`). Samples sharing a timestamp are then
    averaged; unsorted times are sorted. m can be 0 for a very short window
    that holds no grid time; the caller then has nothing to feed.
    """
    t = np.asarray(t, dtype=np.float64)
    acc = np.asarray(acc, dtype=np.float64)
    if len(t) != len(acc) or len(t) == 0:
        raise ValueError("to_grid needs one time per sample")
    if steady:
        t = steady_times(t)
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, acc = t[order], acc[order]
    uniq, inverse, counts = np.unique(t, return_inverse=True, return_counts=True)
    if len(uniq) < len(t):
        acc = np.stack([np.bincount(inverse, acc[:, i]) / counts for i in range(3)], axis=1)
        t = uniq
    k0 = math.ceil(t[0] * rate_hz - 1e-6)
    k1 = math.floor(t[-1] * rate_hz + 1e-6)
    if k1 < k0:
        return k0 / rate_hz, np.zeros((0, 3), dtype=np.float32)
    grid = np.arange(k0, k1 + 1) / rate_hz
    out = np.stack([np.interp(grid, t, acc[:, i]) for i in range(3)], axis=1)
    return k0 / rate_hz, out.astype(np.float32)
