"""A small learned fall model per wear position: per-impact statistics and an L2-regularised logistic regression.

The streaming detector (alerts/falls/detector.py) finds impact clusters and cuts the same segment as the threshold rule
(2.5 s before the impact to 1.2 s after, 50 Hz). `segment_features` adds window statistics of that segment to the
rule's features (after the WEDA-FALL authors: means, deviations and extremes of |a| per phase); the model is a
logistic regression on standardised, clipped features and, optionally, the pairwise products of the first few
(interactions such as "hard impact AND still after": claps and table hits are hard but not followed by stillness,
and a linear model cannot say "and"), fitted with Newton steps in numpy (deterministic), class weights balanced.
A model file is JSON of a few kB (`alerts/falls/models.json`), written by scripts/train_falls.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from alerts.falls.features import PRE_N, RATE_HZ, FallThresholds, angle_deg, confidence, is_fall

MODEL_PATH = Path(__file__).with_name("models.json")
CLIP_Z = 4.0  # standardised features are clipped to +-4: one odd value cannot dominate a decision


def _ix(s: float) -> int:
    """Segment index of a time relative to the impact (s)."""
    return PRE_N + round(s * RATE_HZ)



def segment_features(seg: np.ndarray) -> dict[str, float]:
    """Window statistics of a (PRE_N + 1 + POST_N, 3) segment centred on the impact (NaN where unknown)."""
    x = seg.astype(np.float64)
    mag = np.sqrt(np.einsum("ij,ij->i", x, x))
    peak = float(mag[PRE_N])
    finite = bool(np.isfinite(mag).all())  # the usual case: no gap, no filtering needed

    def part(lo: float, hi: float) -> np.ndarray:
        p = mag[_ix(lo) : _ix(hi)]
        return p if finite else p[np.isfinite(p)]

    def vec(lo: float, hi: float) -> np.ndarray:
        p = x[_ix(lo) : _ix(hi)]
        if not finite:
            p = p[np.isfinite(p).all(axis=1)]
        return p.mean(axis=0) if len(p) else np.full(3, np.nan)

    pre, last, post = part(-2.5, -1.0), part(-1.0, -0.1), part(0.3, 1.2)
    near = part(-0.3, 0.3 + 1 / RATE_HZ)  # 0.3 s either side of the impact, both ends included
    last_min, late = part(-1.0, -0.05), part(0.7, 1.2)
    nan = math.nan
    away = np.concatenate([mag[: _ix(-0.3)], mag[_ix(0.3) :]])
    post_axes = x[_ix(0.3) :]
    if not finite:
        away = away[np.isfinite(away)]
        post_axes = post_axes[np.isfinite(post_axes).all(axis=1)]
    return {
        "log_peak": math.log(peak) if peak > 0 else nan,
        "pre_mean": float(pre.mean()) if len(pre) > 1 else nan,  # activity before the fall
        "pre_std": float(pre.std()) if len(pre) > 1 else nan,
        "last_s_mean": float(last.mean()) if len(last) > 1 else nan,  # about 1 g when still, below in free fall
        "last_s_min": float(last_min.min()) if len(last_min) > 1 else nan,
        "last_s_std": float(last.std()) if len(last) > 1 else nan,
        "post_mean": float(post.mean()) if len(post) > 1 else nan,
        "post_std": float(post.std()) if len(post) > 1 else nan,
        "post_max": float(post.max()) if len(post) > 1 else nan,
        "other_peaks": float((away > max(1.8, 0.6 * peak)).sum()) / RATE_HZ,  # claps repeat, falls do not
        "shift_g": float(np.linalg.norm(vec(0.4, 1.2) - vec(-2.5, -1.0))),  # posture change, unnormalised
        "post_axis_std": float(post_axes.std(axis=0).sum()) if len(post_axes) > 1 else nan,
        "late_std": float(late.std()) if len(late) > 1 else nan,  # settled by the end of the segment?
        "turn_deg": angle_deg(vec(-1.0, -0.5), vec(0.4, 1.2)),  # turn from just before the impact to after it
        "sink_g_s": float((part(-0.6, -0.05) - 1.0).sum()) / RATE_HZ,  # |a| below 1 g: sinking before impact
        "impact_energy": float(((near - 1.0) ** 2).sum()) / RATE_HZ if len(near) else nan,  # 0.3 s either side
    }


@dataclass
class FallModel:
    """Logistic regression over named features: p = sigmoid(w . clip((f - mean) / scale) + b); fall if p >= cut."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    cut: float = 0.5
    min_peak_g: float = 1.8  # impacts below this are never falls
    meta: dict[str, object] = field(default_factory=dict)
    quadratic: int = 0  # products of every pair of the first `quadratic` standardised features are terms too
    # Where set, the threshold rule (alerts/falls/features.py) with these thresholds, fitted on the same training
    # subjects, also decides a fall: "rule OR the model at a high cut", the model catching what the rule misses.
    rule: dict[str, float] | None = None

    def __post_init__(self) -> None:
        self._m = np.asarray(self.mean)
        self._s = np.asarray(self.scale)
        self._w = np.asarray(self.coef)
        self._pairs = np.triu_indices(self.quadratic)
        self.thresholds = None if self.rule is None else FallThresholds(**self.rule)

    def vector(self, f: Mapping[str, float]) -> np.ndarray:
        """Standardised, clipped feature vector (missing values at the training mean, i.e. 0), then the products."""
        v = np.array([f.get(k, math.nan) for k in self.features], dtype=np.float64)
        z = (v - self._m) / self._s
        z = np.clip(np.nan_to_num(z, nan=0.0), -CLIP_Z, CLIP_Z)
        return np.concatenate([z, z[self._pairs[0]] * z[self._pairs[1]]]) if self.quadratic > 0 else z

    def probability(self, f: Mapping[str, float]) -> float:
        """Fall probability of one impact."""
        return 1.0 / (1.0 + math.exp(-float(self._w @ self.vector(f) + self.intercept)))

    def is_fall(self, f: Mapping[str, float]) -> bool:
        """The decision."""
        if self.thresholds is not None and is_fall(dict(f), self.thresholds):
            return True
        return f["peak_g"] >= self.min_peak_g and self.probability(f) >= self.cut

    def confidence(self, f: Mapping[str, float]) -> float:
        """0..1 for a decided fall: the model's probability, or the rule's margin where that is higher."""
        p = self.probability(f)
        if self.thresholds is not None and is_fall(dict(f), self.thresholds):
            p = max(p, confidence(dict(f), self.thresholds))
        return round(p, 3)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready parameters."""
        return asdict(self)


def expand(z: np.ndarray, quadratic: int) -> np.ndarray:
    """Rows of standardised features followed by the products z_i * z_j, i <= j < quadratic (interactions)."""
    if quadratic <= 0:
        return z
    i, j = np.triu_indices(quadratic)
    return np.hstack([z, z[:, i] * z[:, j]])


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column median and a robust scale (IQR / 1.349, or 1 when flat) of a matrix with NaN."""
    med = np.nanmedian(x, axis=0)
    q75, q25 = np.nanpercentile(x, [75, 25], axis=0)
    scale = (q75 - q25) / 1.349
    scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)
    return np.nan_to_num(med), scale


def fit_logistic(z: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float, iters: int = 50) -> np.ndarray:
    """Weighted L2-regularised logistic regression by Newton steps; returns [coef..., intercept]."""
    a = np.hstack([z, np.ones((len(z), 1))])
    w = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], l2)
    reg[-1] = 0.0  # intercept not penalised
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -30, 30)))
        grad = a.T @ (weights * (p - y)) + reg * w
        hess = (a * (weights * p * (1 - p))[:, None]).T @ a + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit(
    rows: Sequence[Mapping[str, float]], labels: Sequence[bool], features: Sequence[str], l2: float = 1.0,
    cut: float = 0.5, min_peak_g: float = 1.8, groups: Sequence[str] | None = None, quadratic: int = 0,
) -> FallModel:
    """Fit a model on impact rows (label True = the impact of a fall); classes weighted to equal total weight.

    With `groups` (e.g. the recording of each row), each group's rows share one unit of weight within its class,
    so a 100-s walk with 80 impacts counts as much as a 10-s clap recording with 5.
    """
    x = np.array([[r.get(k, math.nan) for k in features] for r in rows], dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    mean, scale = standardiser(x)
    z = np.clip(np.nan_to_num((x - mean) / scale, nan=0.0), -CLIP_Z, CLIP_Z)
    weights = np.ones(len(y))
    if groups is not None:
        g = np.asarray(groups)
        _, inv, counts = np.unique(g, return_inverse=True, return_counts=True)
        weights = 1.0 / counts[inv]
    for cls in (0.0, 1.0):
        m = y == cls
        if m.any():
            weights[m] *= len(y) / 2.0 / weights[m].sum()
    w = fit_logistic(expand(z, quadratic), y, weights, l2)
    return FallModel(
        list(features), mean.tolist(), scale.tolist(), w[:-1].tolist(), float(w[-1]), cut, min_peak_g,
        quadratic=quadratic,
    )


def load_models(path: Path = MODEL_PATH) -> dict[str, FallModel]:
    """Position -> model from a model file (empty when the file is absent)."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {pos: FallModel(**params) for pos, params in data["models"].items()}
