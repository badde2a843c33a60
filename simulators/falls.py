"""Synthetic waist accelerometer traces (g, device axes as in SisFall: y points down when standing), seeded.

Daily activities (walking, standing, sitting), a fall (free-fall dip, 3-6 g impact, lying still on the side)
and fall-like activities (sitting down hard, lying down, a stumble): demos and tests need no dataset.
`generate(kind, rate_hz, seed)` returns the (n, 3) float32 trace and the impact sample (None without one).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

UPRIGHT = np.array([0.0, -1.0, 0.0])  # gravity in the device frame, standing
SITTING = np.array([0.0, -np.cos(np.radians(25)), np.sin(np.radians(25))])  # trunk leaned back 25 degrees
LYING = np.array([0.0, 0.0, -1.0])  # lying on the side: gravity on z


class _Trace:
    """Builds a trace segment by segment at one sample rate."""

    def __init__(self, rate_hz: float, rng: np.random.Generator) -> None:
        self.rate_hz, self.rng = rate_hz, rng
        self.parts: list[np.ndarray] = []

    def n(self, seconds: float) -> int:
        """Samples in a duration."""
        return max(1, round(seconds * self.rate_hz))

    def hold(self, g: np.ndarray, seconds: float, noise_g: float = 0.01) -> None:
        """A still posture."""
        self.parts.append(g + self.rng.normal(0, noise_g, (self.n(seconds), 3)))

    def walk(self, seconds: float, step_hz: float = 1.8, amp_g: float = 0.3) -> None:
        """Upright walking: vertical bounce and some sway."""
        t = np.arange(self.n(seconds)) / self.rate_hz
        phase = self.rng.uniform(0, 2 * np.pi)
        bounce = amp_g * np.sin(2 * np.pi * step_hz * t + phase)
        sway = 0.1 * np.sin(np.pi * step_hz * t + phase)
        acc = UPRIGHT + np.stack([sway, -bounce, 0.5 * sway], axis=1)
        self.parts.append(acc + self.rng.normal(0, 0.03, acc.shape))

    def move(self, a: np.ndarray, b: np.ndarray, seconds: float, scale: float = 1.0) -> None:
        """Posture change from a to b; |a| scaled (scale < 1 = partial free fall)."""
        w = np.linspace(0.0, 1.0, self.n(seconds))[:, None]
        self.parts.append(((1 - w) * a + w * b) * scale + self.rng.normal(0, 0.02, (len(w), 3)))

    def impact(self, direction: np.ndarray, peak_g: float, seconds: float = 0.06) -> int:
        """A short impact spike along `direction`; returns the index of its peak."""
        k = self.n(seconds)
        shape = np.hanning(k + 2)[1:-1][:, None]
        self.parts.append(direction * (1.0 + (peak_g - 1.0) * shape))
        return sum(len(p) for p in self.parts[:-1]) + int(np.argmax(shape))

    def done(self) -> np.ndarray:
        """The whole trace."""
        return np.concatenate(self.parts).astype(np.float32)


def _fall(t: _Trace) -> int:
    """Walk, trip, free fall, hit the ground on the side, lie still."""
    t.walk(4.0)
    t.move(UPRIGHT, (UPRIGHT + LYING) / 2, 0.4, scale=t.rng.uniform(0.2, 0.4))
    i = t.impact(LYING, t.rng.uniform(3.0, 6.0))
    t.move(LYING * 1.4, LYING, 0.3)
    t.hold(LYING, 10.0)
    return i


def _sit_down_hard(t: _Trace) -> int:
    """Stand, drop onto a chair (2.5 g), sit still."""
    t.hold(UPRIGHT, 3.0, 0.02)
    t.move(UPRIGHT, SITTING, 0.5, scale=0.7)
    i = t.impact(SITTING, 2.5)
    t.hold(SITTING, 8.0)
    return i


def _lie_down(t: _Trace) -> None:
    """Sit, then lie down on a bed (posture changes, no impact)."""
    t.hold(SITTING, 3.0)
    t.move(SITTING, LYING, 1.5, scale=1.15)
    t.hold(LYING, 8.0)


def _stumble(t: _Trace) -> int:
    """Walk, stumble (dip and a 3 g jolt), recover and walk on."""
    t.walk(4.0)
    t.move(UPRIGHT, UPRIGHT, 0.2, scale=0.5)
    i = t.impact(UPRIGHT, 3.2)
    t.walk(8.0, amp_g=0.45)
    return i


def _daily(t: _Trace) -> None:
    """Walking, standing, sitting down gently, sitting, standing up, walking."""
    t.walk(10.0)
    t.hold(UPRIGHT, 5.0, 0.02)
    t.move(UPRIGHT, SITTING, 1.5)
    t.hold(SITTING, 10.0)
    t.move(SITTING, UPRIGHT, 1.5)
    t.walk(10.0)


KINDS: dict[str, Callable[[_Trace], int | None]] = {
    "fall": _fall,
    "sit_down_hard": _sit_down_hard,
    "lie_down": _lie_down,
    "stumble": _stumble,
    "daily": _daily,
}
FALL_LIKE = ("sit_down_hard", "lie_down", "stumble", "daily")


def generate(kind: str, rate_hz: float = 50.0, seed: int = 0) -> tuple[np.ndarray, int | None]:
    """A synthetic (n, 3) trace in g at rate_hz and the sample of its impact (None if it has none)."""
    trace = _Trace(rate_hz, np.random.default_rng(seed))
    impact = KINDS[kind](trace)
    return trace.done(), impact


def windows(acc: np.ndarray, rate_hz: float, window_s: float = 1.0) -> list[np.ndarray]:
    """Cut a trace into the telemetry windows a wearable would publish."""
    step = max(1, round(window_s * rate_hz))
    return [acc[i : i + step] for i in range(0, len(acc), step)]
