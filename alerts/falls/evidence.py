"""Accelerometer evidence around an impact: a short ring of recent windows per wearable, cut into a clip.

Raw accelerometer is not kept in the time-series store (DESIGN.md); only the seconds around an alert are, as
evidence the operator can look at (5 s before to 10 s after the impact by default).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from devices.models import Reading

KEEP_S = 40.0  # ring length per device: covers clip_before + cancel window delays + clip_after


@dataclass(frozen=True, slots=True)
class EvidenceClip:
    """Samples around an impact: columns t (s from `start_ts`), x, y, z (g)."""

    device_id: str
    impact_ts: float
    start_ts: float
    samples: np.ndarray  # (n, 4) float32

    def to_json(self) -> dict[str, object]:
        """JSON shape for the API and the console's chart."""
        return {"device_id": self.device_id, "impact_ts": self.impact_ts, "start_ts": self.start_ts,
                "t": self.samples[:, 0].round(3).tolist(), "xyz": self.samples[:, 1:].round(3).tolist()}


class AccRing:
    """The last KEEP_S seconds of accelerometer windows of each wearable."""

    def __init__(self) -> None:
        self._windows: dict[str, deque[tuple[float, float, np.ndarray]]] = {}

    def add(self, reading: Reading) -> None:
        """Remember a window (ts of its first sample, its rate, samples)."""
        if reading.acc is None or reading.acc_rate_hz <= 0:
            return
        ring = self._windows.setdefault(reading.device_id, deque())
        ring.append((reading.ts, reading.acc_rate_hz, reading.acc))
        newest = reading.ts
        while ring and ring[0][0] < newest - KEEP_S:
            ring.popleft()

    def newest_ts(self, device_id: str) -> float:
        """Device time of the last sample held for a device (0 when none)."""
        ring = self._windows.get(device_id)
        if not ring:
            return 0.0
        ts, rate, acc = ring[-1]
        return ts + len(acc) / rate

    def clip(self, device_id: str, impact_ts: float, before_s: float, after_s: float) -> EvidenceClip:
        """The samples within [impact - before, impact + after], duplicates and overlaps removed."""
        t0, t1 = impact_ts - before_s, impact_ts + after_s
        parts = []
        for ts, rate, acc in self._windows.get(device_id, ()):
            t = ts + np.arange(len(acc)) / rate
            keep = (t >= t0) & (t <= t1)
            if keep.any():
                parts.append(np.column_stack([t[keep] - t0, acc[keep]]))
        if not parts:
            return EvidenceClip(device_id, impact_ts, t0, np.zeros((0, 4), np.float32))
        samples = np.concatenate(parts)
        _, first = np.unique(samples[:, 0].round(4), return_index=True)
        return EvidenceClip(device_id, impact_ts, t0, samples[first].astype(np.float32))  # sorted by t


class EvidenceQueue:
    """Clips requested for raised alerts, cut once the data after the impact has arrived (or waited enough)."""

    def __init__(self, ring: AccRing, before_s: float = 5.0, after_s: float = 10.0, max_wait_s: float = 15.0) -> None:
        self.ring = ring
        self.before_s, self.after_s, self.max_wait_s = before_s, after_s, max_wait_s
        self._wanted: list[tuple[str, float, float]] = []  # device, impact ts, requested at (hub clock)

    def request(self, device_id: str, impact_ts: float, now: float) -> None:
        """Ask for the clip around an impact."""
        self._wanted.append((device_id, impact_ts, now))

    def due(self, now: float) -> list[EvidenceClip]:
        """Clips whose after-impact data is complete, or whose wait is over."""
        ready, waiting = [], []
        for device_id, impact_ts, asked in self._wanted:
            complete = self.ring.newest_ts(device_id) >= impact_ts + self.after_s
            if complete or now - asked >= self.max_wait_s:
                ready.append(self.ring.clip(device_id, impact_ts, self.before_s, self.after_s))
            else:
                waiting.append((device_id, impact_ts, asked))
        self._wanted = waiting
        return ready
