"""Smoke, gas and water leak: an immediate critical detection, once per alarm, and a report when it clears.

A sensor stuck in alarm repeats `smoke: true` with every heartbeat: that is the same alarm, not a new one (one
info detection says it looks stuck). Clearing is debounced, so a flapping sensor does not open a second alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.detection import Detection, Severity
from alerts.detector import Detector
from devices.i18n import kind_title, t, word
from devices.models import DeviceEvent, Reading
from devices.topology import Topology

HAZARDS = ("smoke", "gas", "water_leak")


@dataclass
class HomeSafetySettings:
    """Debounce and stuck-sensor timings."""

    clear_confirm_s: float = 120.0  # the alarm must stay off this long before it counts as cleared
    stuck_after_s: float = 3600.0  # one info detection when an alarm has lasted this long
    clock_reset_s: float = 600.0


@dataclass(slots=True)
class _Alarm:
    """Alarm state of one hazard field of one device."""

    on: bool = False
    since: float = 0.0
    off_since: float | None = None
    stuck_told: bool = False
    last_ts: float = float("-inf")


class HomeSafetyDetector(Detector):
    """Critical hazard alarms per device field, subject = the home."""

    name = "home_safety"

    def __init__(self, topology: Topology, settings: HomeSafetySettings | None = None) -> None:
        self._topology = topology
        self._s = settings or HomeSafetySettings()
        self._alarms: dict[tuple[str, str], _Alarm] = {}
        self._clearing: set[tuple[str, str]] = set()  # alarms that went off and wait for the debounce

    def observe(self, reading: Reading) -> list[Detection]:
        """Raise on the first alarm reading, stay quiet while it persists, start the clear debounce on off."""
        out: list[Detection] = []
        for hazard in HAZARDS:
            value = reading.values.get(hazard)
            if value is None:
                continue
            alarm = self._alarms.setdefault((reading.device_id, hazard), _Alarm())
            if reading.ts <= alarm.last_ts and alarm.last_ts - reading.ts <= self._s.clock_reset_s:
                continue  # duplicate or reordered message; a large backward jump is a clock reset
            alarm.last_ts = reading.ts
            det = self._step(alarm, reading, hazard, value >= 0.5)
            if det is not None:
                out.append(det)
        return out

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """Hazard sensors report through telemetry only."""
        return []

    def advance(self, now: float) -> list[Detection]:
        """Report alarms that stayed off for the debounce time."""
        out = []
        for key in list(self._clearing):
            alarm = self._alarms[key]
            if alarm.off_since is None:
                self._clearing.discard(key)
            elif now - alarm.off_since >= self._s.clear_confirm_s:
                alarm.on, alarm.off_since = False, None
                self._clearing.discard(key)
                out.append(self._detection(key[0], key[1], "cleared", now, Severity.INFO, alarm))
        return out

    def _step(self, alarm: _Alarm, r: Reading, hazard: str, on: bool) -> Detection | None:
        if not on:
            if alarm.on and alarm.off_since is None:
                alarm.off_since = r.ts
                self._clearing.add((r.device_id, hazard))
            return None
        alarm.off_since = None
        if not alarm.on:
            alarm.on, alarm.since, alarm.stuck_told = True, r.ts, False
            return self._detection(r.device_id, hazard, "", r.ts, Severity.CRITICAL, alarm)
        if not alarm.stuck_told and r.ts - alarm.since >= self._s.stuck_after_s:
            alarm.stuck_told = True
            return self._detection(r.device_id, hazard, "stuck", r.ts, Severity.INFO, alarm)
        return None

    def _detection(
        self, device_id: str, hazard: str, phase: str, ts: float, severity: Severity, alarm: _Alarm
    ) -> Detection:
        info = self._topology.get(device_id)
        kind = f"{hazard}_{phase}" if phase else hazard
        return Detection(
            detector=self.name,
            kind=kind,
            subject_id=info.home_id if info is not None else device_id,
            device_id=device_id,
            ts=ts,
            severity=severity,
            features={"alarm_since_ts": alarm.since, "duration_s": ts - alarm.since},
            message=t("det.home_safety", kind=kind_title(kind),
                      place=word("det.room.", info.room) if info and info.room else device_id),
        )
