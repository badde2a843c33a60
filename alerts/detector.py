"""The one interface every detector implements, and the registry that wires detectors into the pipeline.

A detector is pure: readings and events (with their own timestamps) in, detections out. It keeps its own state per
resident or device, never reads the clock and does no I/O; time advances only with the data (`advance(now)` is
called with the newest device time seen, so timeouts such as "no heartbeat for 10 min" fire deterministically in
tests and in accelerated replays alike).

Adding a detector = one module with a class satisfying `Detector` + one `register()` line in `alerts/catalog.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from hub.models import Detection, DeviceEvent, Reading


@runtime_checkable
class Detector(Protocol):
    """Streaming detector over validated readings."""

    name: str

    def observe(self, reading: Reading) -> list[Detection]:
        """Feed one reading; return the detections it completes (usually none)."""
        ...

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """Feed one device event (SOS, device fall, I'm OK...); return detections."""
        ...

    def advance(self, now: float) -> list[Detection]:
        """Let time pass up to `now` (device time, s); return detections that time alone completes."""
        ...


DetectorFactory = Callable[[], Detector]


class DetectorCatalog:
    """Named detector factories; the pipeline builds one instance of each."""

    def __init__(self) -> None:
        self._factories: dict[str, DetectorFactory] = {}

    def register(self, name: str, factory: DetectorFactory) -> None:
        """Add a detector under a unique name."""
        if name in self._factories:
            raise ValueError(f"detector {name!r} registered twice")
        self._factories[name] = factory

    def build(self, enabled: list[str] | None = None) -> list[Detector]:
        """Instantiate the enabled detectors (all by default)."""
        names = list(self._factories) if enabled is None else enabled
        unknown = [n for n in names if n not in self._factories]
        if unknown:
            raise ValueError(f"unknown detector(s) {unknown}; known: {sorted(self._factories)}")
        return [self._factories[n]() for n in names]

    def names(self) -> list[str]:
        """Registered detector names, in registration order."""
        return list(self._factories)
