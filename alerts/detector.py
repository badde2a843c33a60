"""The one interface every detector implements, and the registry that wires detectors into the pipeline.

A detector is pure: readings and events (with their own timestamps) in, detections out. It keeps its own state per
resident or device, never reads the clock and does no I/O; time advances only with the data (`advance(now)` is
called with the newest device time seen, so timeouts such as "no heartbeat for 10 min" fire deterministically in
tests and in accelerated replays alike).

Adding a detector = one module with a subclass of `Detector` + one `register()` line in `alerts/catalog.py`
(docs/architecture.md shows a whole example).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from alerts.detection import Detection
from devices.models import Availability, DeviceEvent, DisasterReport, Reading


@runtime_checkable
class Detector(Protocol):
    """Streaming detector over validated records: every hook the detector stage calls, declared here.

    Subclass it (`class MyDetector(Detector)`) and override only the hooks your detector needs; the others keep
    these defaults, which do nothing. The stage calls, in this order per batch: `observe_batch` (whose default
    feeds `observe` one reading at a time; override it for a vectorised path), `observe_event` per device event,
    `observe_availability` per availability change, `observe_report` per village disaster report, then `advance`
    with the newest device time; `on_disconnect` / `on_reconnect` when the hub's broker link drops or returns.
    """

    name: str = ""

    def observe(self, reading: Reading) -> list[Detection]:
        """Feed one reading; return the detections it completes (usually none)."""
        return []

    def observe_batch(self, readings: Sequence[Reading]) -> list[Detection]:
        """Feed a batch of readings in arrival order (default: `observe` on each)."""
        found: list[Detection] = []
        for reading in readings:
            found.extend(self.observe(reading))
        return found

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """Feed one device event (SOS, device fall, I'm OK, service request); return detections."""
        return []

    def observe_availability(self, availability: Availability) -> list[Detection]:
        """A device went online or offline (its retained availability topic, its last will)."""
        return []

    def observe_report(self, report: DisasterReport) -> list[Detection]:
        """A village disaster-information officer's report (initial, follow-up, verified)."""
        return []

    def on_disconnect(self, ts: float) -> None:
        """The hub lost its broker link at hub time `ts`: silence from now on is not the devices' fault."""
        return None  # a default that does nothing (an empty body would make the hook abstract to mypy)

    def on_reconnect(self, ts: float) -> None:
        """The hub's broker link is back at hub time `ts`."""
        return None

    def advance(self, now: float) -> list[Detection]:
        """Let time pass up to `now` (device time, s); return detections that time alone completes."""
        return []


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
