"""Per-gauge building blocks of the disaster warning detector: threshold ladders, hysteresis, rolling metrics.

Levels here are plain ints 0..4 (none, blue, yellow, orange, red); `alerts/disaster/warnings.py` gives them names.
Everything is driven by the readings' own timestamps (no clock reads), as `alerts/detector.py` requires.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class Ladder:
    """Thresholds of one metric for blue, yellow, orange, red (ascending; None = level not configured)."""

    blue: float | None = None
    yellow: float | None = None
    orange: float | None = None
    red: float | None = None
    hysteresis: float = 0.0  # a level is released only below its threshold minus this margin

    def __post_init__(self) -> None:
        steps = [t for t in self.steps() if math.isfinite(t)]
        if steps != sorted(steps):
            raise ValueError(f"thresholds must ascend blue < yellow < orange < red: {self}")
        if self.hysteresis < 0:
            raise ValueError("hysteresis must be >= 0")

    def steps(self) -> tuple[float, float, float, float]:
        """Thresholds of levels 1..4, with unconfigured levels at +inf (never reached)."""
        b, y, o, r = self.blue, self.yellow, self.orange, self.red
        inf = math.inf
        return (inf if b is None else b, inf if y is None else y, inf if o is None else o, inf if r is None else r)

    def raw_level(self, value: float) -> int:
        """Highest level whose threshold the value reaches (>=), 0 if none."""
        return sum(1 for t in self.steps() if value >= t)


@dataclass(slots=True)
class LevelTracker:
    """Hysteresis state machine for one metric: raise after `raise_after_s`, release after `lower_after_s`.

    Level k is raised once the value has stayed >= threshold k for `raise_after_s` (0 = at once); a held level
    k is released once the value has stayed < threshold k - hysteresis for `lower_after_s`. So a noisy value
    around a threshold raises once and stays up: it must settle clearly below for a while to come down.
    """

    ladder: Ladder
    raise_after_s: float = 0.0
    lower_after_s: float = 1800.0
    level: int = 0
    value: float = 0.0
    _above_since: list[float | None] = field(default_factory=lambda: [None] * 4)
    _below_since: list[float | None] = field(default_factory=lambda: [None] * 4)

    def update(self, value: float, ts: float) -> int:
        """Feed one value at `ts`; return the (possibly changed) level."""
        self.value = value
        steps = self.ladder.steps()
        new_level = 0
        for k, thr in enumerate(steps, start=1):
            above, below = value >= thr, value < thr - self.ladder.hysteresis
            self._above_since[k - 1] = _since(self._above_since[k - 1], ts, above)
            self._below_since[k - 1] = _since(self._below_since[k - 1], ts, below)
            since = self._above_since[k - 1]
            if since is not None and ts - since >= self.raise_after_s:
                new_level = k
            released = self._below_since[k - 1]
            if k <= self.level and (released is None or ts - released < self.lower_after_s):
                new_level = max(new_level, k)
        self.level = new_level
        return new_level

    def state(self) -> list[Any]:
        """Level, value and the runs above / below each threshold: what a restart must keep (issue 7)."""
        return [self.level, self.value, list(self._above_since), list(self._below_since)]

    def restore(self, state: Sequence[Any]) -> None:
        """Take up a `state()` saved by an earlier run, so hysteresis and hold times go on where they were."""
        level, value, above, below = state
        self.level = int(level)
        self.value = 0.0 if value is None else float(value)  # a non-finite value was saved as null
        self._above_since = [None if t is None else float(t) for t in above]
        self._below_since = [None if t is None else float(t) for t in below]


def _since(started: float | None, ts: float, holds: bool) -> float | None:
    """Start of the current run of `holds`, or None when the run is broken."""
    if not holds:
        return None
    return ts if started is None else started


@dataclass(slots=True)
class Window:
    """Timestamped samples kept for `span_s`: sums (rain) and least-squares slopes (rise rates)."""

    span_s: float
    samples: deque[tuple[float, float]] = field(default_factory=deque)

    def add(self, ts: float, value: float) -> None:
        """Append a sample (out-of-order samples older than the newest are dropped)."""
        if self.samples and ts < self.samples[-1][0]:
            return
        self.samples.append((ts, value))
        self.trim(ts)

    def trim(self, now: float) -> None:
        """Forget samples older than the span."""
        while self.samples and self.samples[0][0] <= now - self.span_s:
            self.samples.popleft()

    def total(self, now: float, span_s: float) -> float:
        """Sum of values with ts in (now - span_s, now]."""
        return sum(v for t, v in self.samples if now - span_s < t <= now)

    def slope_per_h(self, min_span_s: float) -> float | None:
        """Least-squares slope in units per hour, or None with < 3 samples or too short a span."""
        if len(self.samples) < 3 or self.samples[-1][0] - self.samples[0][0] < min_span_s:
            return None
        t0 = self.samples[0][0]
        xs = [(t - t0) / HOUR_S for t, _ in self.samples]
        ys = [v for _, v in self.samples]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def river_ladder(warning_m: float, guarantee_m: float, approach_m: float = 0.5, hyst_m: float = 0.1) -> Ladder:
    """River ladder from a gauge's warning and guarantee levels.

    Blue within `approach_m` of the warning level, yellow at the warning level (超警戒), orange halfway
    to the guarantee level, red at the guarantee level (超保证).
    """
    if guarantee_m <= warning_m:
        raise ValueError("guarantee level must be above the warning level")
    mid = (warning_m + guarantee_m) / 2
    return Ladder(warning_m - approach_m, warning_m, mid, guarantee_m, hysteresis=hyst_m)


# Defaults after the CMA rainstorm classes (heavy rain 25-50 mm/24 h, rainstorm 50+, ...); tune per site.
RAIN_1H = Ladder(20, 30, 50, 70, hysteresis=5)
RAIN_3H = Ladder(30, 50, 70, 100, hysteresis=5)
RAIN_24H = Ladder(50, 100, 150, 250, hysteresis=10)
RIVER_RISE = Ladder(0.1, 0.2, 0.3, 0.5, hysteresis=0.05)
DISPLACEMENT = Ladder(20, 50, 100, 200, hysteresis=0)
DISPLACEMENT_RATE = Ladder(1, 2, 5, 10, hysteresis=0.5)


@dataclass(frozen=True, slots=True)
class GaugeThresholds:
    """Per-terminal configuration; a metric whose ladder is None is not evaluated."""

    rain_1h_mm: Ladder | None = RAIN_1H
    rain_3h_mm: Ladder | None = RAIN_3H
    rain_24h_mm: Ladder | None = RAIN_24H
    river_level_m: Ladder | None = None  # site-specific: build with river_ladder(warning, guarantee)
    river_rise_m_per_h: Ladder | None = RIVER_RISE
    displacement_mm: Ladder | None = DISPLACEMENT
    displacement_rate_mm_per_h: Ladder | None = DISPLACEMENT_RATE
    raise_after_s: float = 0.0  # a crossing must hold this long before raising (0: raise at once)
    lower_after_s: float = 1800.0  # below threshold - hysteresis this long before lowering
    rate_window_s: float = HOUR_S  # least-squares window of the rise / displacement rates
    min_rate_span_s: float = 900.0  # no rate from less than this much data


METRICS = (
    "rain_1h_mm", "rain_3h_mm", "rain_24h_mm", "river_level_m", "river_rise_m_per_h",
    "displacement_mm", "displacement_rate_mm_per_h",
)  # fmt: skip


@dataclass(slots=True)
class TerminalState:
    """Streaming state of one terminal."""

    cfg: GaugeThresholds
    trackers: dict[str, LevelTracker]
    rain: Window = field(default_factory=lambda: Window(24 * HOUR_S))
    river: Window = field(default_factory=lambda: Window(HOUR_S))
    disp: Window = field(default_factory=lambda: Window(HOUR_S))

    @classmethod
    def build(cls, cfg: GaugeThresholds) -> TerminalState:
        """Trackers for the configured metrics."""
        ladders = {m: getattr(cfg, m) for m in METRICS}
        trackers = {m: LevelTracker(lad, cfg.raise_after_s, cfg.lower_after_s) for m, lad in ladders.items() if lad}
        return cls(cfg, trackers, river=Window(cfg.rate_window_s), disp=Window(cfg.rate_window_s))

    def metrics(self, values: Mapping[str, float], ts: float) -> dict[str, float]:
        """Add one observation; return the metric values it makes available."""
        out: dict[str, float] = {}
        if "rainfall_mm" in values:
            self.rain.add(ts, values["rainfall_mm"])
        if self.rain.samples:
            for hours in (1, 3, 24):
                out[f"rain_{hours}h_mm"] = self.rain.total(ts, hours * HOUR_S)
        for key, win, rate in (
            ("river_level_m", self.river, "river_rise_m_per_h"),
            ("displacement_mm", self.disp, "displacement_rate_mm_per_h"),
        ):
            if key in values:
                out[key] = values[key]
                win.add(ts, values[key])
                slope = win.slope_per_h(self.cfg.min_rate_span_s)
                if slope is not None:
                    out[rate] = slope
        return out

    def level(self) -> tuple[int, str]:
        """Terminal level and the metric driving it."""
        best = max(self.trackers.items(), key=lambda kv: kv[1].level, default=None)
        return (best[1].level, best[0]) if best else (0, "")
