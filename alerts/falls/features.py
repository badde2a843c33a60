"""Fall evidence around one impact: resampling to the internal rate, features, thresholds, decision rule.

Temporal logic of threshold fall detectors (DESIGN.md, "Falls"): a free-fall dip before the impact, an impact
peak, then lying still with an orientation changed from the pre-fall posture. Kept apart from the streaming
state in `alerts/falls/detector.py` so that evaluation and tuning (`alerts/eval/falls_tuning.py`) reuse the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RATE_HZ = 50  # internal sample rate; inputs from 25 to 200 Hz are resampled to it
PRE_ORIENT_S = (2.5, 1.0)  # pre-fall posture: mean acc from 2.5 s to 1.0 s before the impact
FREEFALL_S = 1.0  # the free-fall dip is looked for in the second before the impact
POST_S = (0.4, 1.2)  # post-impact posture and stillness: from 0.4 s to 1.2 s after the impact
PRE_N = round(PRE_ORIENT_S[0] * RATE_HZ)
POST_N = round(POST_S[1] * RATE_HZ)
UPRIGHT = np.array([0.0, -1.0, 0.0])  # gravity in the device frame of a standing wearer (waist, SisFall axes)


@dataclass(frozen=True, slots=True)
class FallThresholds:
    """Decision thresholds of one wear position (g, degrees)."""

    peak_g: float = 2.5  # the impact must reach this |a|
    hard_peak_g: float = 4.0  # ... or this, when there was no free-fall dip
    freefall_g: float = 0.8  # a dip below this |a| before the impact counts as free fall
    orientation_deg: float = 45.0  # posture change between before and after
    stillness_g: float = 0.25  # std of |a| after the impact must stay below this
    pre_tilt_max_deg: float = 180.0  # the pre-fall posture must be this close to upright (180 = not checked)


def to_internal_rate(acc: np.ndarray, rate_hz: float) -> np.ndarray:
    """Resample an (n, 3) window (g) to RATE_HZ: block mean for integer factors, else linear interpolation."""
    if rate_hz == RATE_HZ:
        return acc
    ratio = rate_hz / RATE_HZ
    k = round(ratio)
    if abs(ratio - k) < 1e-9 and k > 1:
        n = len(acc) // k * k
        return acc[:n].reshape(-1, k, 3).mean(axis=1)
    n_out = max(1, round(len(acc) * RATE_HZ / rate_hz))
    t_in = np.arange(len(acc)) / rate_hz
    t_out = np.arange(n_out) / RATE_HZ
    cols = [np.interp(t_out, t_in, acc[:, i]) for i in range(3)]
    return np.stack(cols, axis=1).astype(np.float32)


def _finite_rows(seg: np.ndarray) -> np.ndarray:
    """Rows of `seg` without NaN (gaps are stored as NaN)."""
    return seg[np.isfinite(seg).all(axis=1)] if seg.ndim == 2 else seg[np.isfinite(seg)]


def angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    """Angle between two vectors, degrees (NaN when either is missing)."""
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if not (nu > 0 and nv > 0):
        return math.nan
    return math.degrees(math.acos(max(-1.0, min(1.0, float(u @ v) / (nu * nv)))))


def impact_features(seg: np.ndarray) -> dict[str, float]:
    """Features of a (PRE_N + 1 + POST_N, 3) segment centred on the impact sample at index PRE_N."""
    mag = np.sqrt((seg.astype(np.float64) ** 2).sum(axis=1))
    ff = _finite_rows(mag[PRE_N - round(FREEFALL_S * RATE_HZ) : PRE_N])
    pre = _finite_rows(seg[: PRE_N - round(PRE_ORIENT_S[1] * RATE_HZ)])
    post_from = PRE_N + round(POST_S[0] * RATE_HZ)
    post = _finite_rows(seg[post_from:])
    post_mag = _finite_rows(mag[post_from:])
    pre_vec = pre.mean(axis=0) if len(pre) else np.zeros(3)
    post_vec = post.mean(axis=0) if len(post) else np.zeros(3)
    return {
        "peak_g": float(mag[PRE_N]),
        "freefall_min_g": float(ff.min()) if len(ff) else 1.0,
        "stillness": float(post_mag.std()) if len(post_mag) > 1 else math.nan,
        "orientation_change_deg": angle_deg(pre_vec, post_vec),
        "pre_tilt_deg": angle_deg(pre_vec, UPRIGHT),
        "post_tilt_deg": angle_deg(post_vec, UPRIGHT),
    }


def is_fall(f: dict[str, float], th: FallThresholds) -> bool:
    """The decision rule: impact (hard, or after a free fall), then a changed posture held still."""
    impact = f["peak_g"] >= th.hard_peak_g or (f["peak_g"] >= th.peak_g and f["freefall_min_g"] <= th.freefall_g)
    # NaN comparisons are False: a posture or stillness that cannot be measured does not confirm a fall.
    posture = f["orientation_change_deg"] >= th.orientation_deg and f["pre_tilt_deg"] <= th.pre_tilt_max_deg
    return impact and posture and f["stillness"] <= th.stillness_g


def confidence(f: dict[str, float], th: FallThresholds) -> float:
    """0..1: how far the evidence lies beyond the thresholds (0.5 = exactly at them)."""
    margins = (
        (f["peak_g"] - th.peak_g) / th.peak_g,
        (f["orientation_change_deg"] - th.orientation_deg) / 45.0,
        (th.stillness_g - f["stillness"]) / th.stillness_g,
        (th.freefall_g - f["freefall_min_g"]) / th.freefall_g,
    )
    score = sum(max(-1.0, min(1.0, m)) for m in margins if math.isfinite(m)) / len(margins)
    return round(1.0 / (1.0 + math.exp(-4.0 * score)), 3)
