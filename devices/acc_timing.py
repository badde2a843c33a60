"""Accelerometer samples with irregular timestamps (a watch delivering in bursts) onto a regular grid.

A wearable may send per-sample times (`acc_t` in the telemetry payload, docs/mqtt-contract.md) instead of trusting
its nominal rate: a Fitbit-class watch samples at ~50 Hz but hands samples over in bursts (steps of 1-3 ms, then
gaps of 50-140 ms). `to_grid` places the samples on the grid of absolute times k / rate (k integer), so that
consecutive payloads of one device mesh without overlap; the fall detector bridges the short gaps between them.
"""

from __future__ import annotations

import math

import numpy as np

MIN_HZ, MAX_HZ = 20.0, 200.0


def to_grid(t: np.ndarray, acc: np.ndarray, rate_hz: float) -> tuple[float, np.ndarray]:
    """Linear interpolation of (n, 3) samples at absolute times `t` (s) onto the grid k / rate_hz.

    Returns (time of the first grid sample, (m, 3) float32 samples at the grid times within [t[0], t[-1]]).
    Samples sharing a timestamp are averaged; unsorted times are sorted. m can be 0 for a very short window
    that holds no grid time; the caller then has nothing to feed.
    """
    t = np.asarray(t, dtype=np.float64)
    acc = np.asarray(acc, dtype=np.float64)
    if len(t) != len(acc) or len(t) == 0:
        raise ValueError("to_grid needs one time per sample")
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
