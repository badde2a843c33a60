"""What the live demo stages besides falls, early enough that a newcomer sees the console's queue fill in a minute.

Within the first ten seconds: a red key (SOS), a green key (a meal requested), low SpO2 (an alert after the
vitals detector's sustain time), a smoke alarm and a long inactivity (a home where nobody has moved for over four
hours: its last motion is reported with its own, earlier timestamp, then the home stays quiet). Then the red key,
green key, vitals and smoke come again every `REPEAT_S`, each time from other residents. Times are real seconds
since the simulation started; payloads carry the simulated clock like every other message.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

import orjson

from devices.models import Family
from simulators.telemetry import SimDevice

logger = logging.getLogger(__name__)
STAGES: tuple[tuple[float, str], ...] = (
    (2.0, "inactivity"), (3.0, "vitals"), (4.0, "sos"), (6.0, "service_request"), (8.0, "smoke"))  # fmt: skip
REPEAT_S = 600.0
REPEATED = frozenset({"vitals", "sos", "service_request", "smoke"})
SERVICES = ("meals", "cleaning", "nursing", "medical_escort")
INACTIVE_S = 4 * 3600.0 + 120.0  # past the routine detector's first-day daytime limit (4 h)
LOW_SPO2 = 86.0  # below the clinical limit of 90 %, held for three minutes
HOUR_S, DAY_S, UTC_OFFSET_S = 3600.0, 86_400.0, 8 * 3600.0
Publish = Callable[[str, str, bytes], None]  # device id, topic, payload


def quiet_since(now: float) -> float:
    """A daytime moment (06:00-21:58 China Standard Time) more than four hours before `now`: the last motion of
    a staged inactivity. A silence that began at night is sleep, which the detector judges by the wake-up time."""
    t = now - INACTIVE_S
    tod = (t + UTC_OFFSET_S) % DAY_S
    latest = 21 * HOUR_S + 58 * 60
    if 6 * HOUR_S <= tod <= latest:
        return t
    return t - (tod - latest) % DAY_S


class DemoScript:
    """Stages the demo's alerts on the simulated devices at their times."""

    def __init__(self, devices: list[SimDevice], seed: int) -> None:
        self.rng = random.Random(seed + 15)
        self.wearables = [d for d in devices if d.record.family == Family.WEARABLE.value]
        self.sensors = [d for d in devices if d.record.family == Family.HOME_SENSOR.value]
        self.pending = sorted(STAGES)
        self.used: set[str] = set()  # residents and homes with a staged alert: each stage picks others
        self.staged: list[tuple[str, str]] = []  # (kind, device id), for the log and tests
        self._handlers: dict[str, Callable[[float, Publish], str | None]] = {
            "inactivity": self._inactivity, "vitals": self._vitals, "sos": self._sos,
            "service_request": self._service, "smoke": self._smoke}  # fmt: skip

    def step(self, elapsed_s: float, now_sim: float, publish: Publish) -> None:
        """Stage everything due by `elapsed_s` (real seconds since the start)."""
        while self.pending and self.pending[0][0] <= elapsed_s:
            at, kind = self.pending.pop(0)
            device_id = self._handlers[kind](now_sim, publish)
            if device_id is not None:
                self.staged.append((kind, device_id))
                logger.info("simulator: staged %s on %s", kind, device_id)
            if kind in REPEATED:
                self.pending.append((at + REPEAT_S, kind))
                self.pending.sort()

    def _free_wearable(self) -> SimDevice | None:
        free = [d for d in self.wearables if not d.script and not d.quiet and d.record.resident_id not in self.used]
        if not free:
            return None
        dev = self.rng.choice(free)
        self.used.add(dev.record.resident_id or "")
        return dev

    def _event(self, now: float, publish: Publish, body: dict[str, Any]) -> str | None:
        dev = self._free_wearable()
        if dev is None:
            return None
        payload = {"ts": round(now, 3), "seq": dev.next_seq(), **body}
        publish(dev.record.device_id, dev.topic("event"), orjson.dumps(payload))
        return dev.record.device_id

    def _sos(self, now: float, publish: Publish) -> str | None:
        return self._event(now, publish, {"event": "sos"})

    def _service(self, now: float, publish: Publish) -> str | None:
        return self._event(now, publish, {"event": "service_request", "service": self.rng.choice(SERVICES)})

    def _vitals(self, now: float, _publish: Publish) -> str | None:
        dev = self._free_wearable()
        if dev is None:
            return None
        dev.overrides, dev.override_until = {"spo2": LOW_SPO2, "steps": 0}, now + 180.0  # at rest, so not an artefact
        return dev.record.device_id

    def _smoke(self, now: float, publish: Publish) -> str | None:
        free = [d for d in self.sensors if d.record.kind == "smoke" and d.record.home_id not in self.used]
        if not free:
            return None
        dev = self.rng.choice(free)
        self.used.add(dev.record.home_id or "")
        dev.overrides, dev.override_until = {"smoke": True}, now + 300.0
        payload = {"ts": round(now, 3), "seq": dev.next_seq(), "battery": round(dev.battery, 1), "smoke": True}
        publish(dev.record.device_id, dev.topic("telemetry"), orjson.dumps(payload))
        return dev.record.device_id

    def _inactivity(self, now: float, publish: Publish) -> str | None:
        """A home where nobody has moved for over four hours: the last motion reported late, then quiet."""
        homes = {d.record.home_id for d in self.sensors if d.record.kind == "motion"} - self.used - {None}
        if not homes:
            return None
        home_id = self.rng.choice(sorted(h for h in homes if h))
        residents = {d.record.resident_id for d in self.wearables} & self._residents_of(home_id)
        self.used |= {home_id, *(r for r in residents if r)}
        for dev in self.sensors + self.wearables:
            if dev.record.home_id == home_id or dev.record.resident_id in residents:
                dev.quiet = True
        motion = next(d for d in self.sensors if d.record.home_id == home_id and d.record.kind == "motion"
                      and d.record.room != "bathroom")
        last = {"ts": round(quiet_since(now), 3), "seq": motion.next_seq(), "battery": round(motion.battery, 1),
                "occupancy": True}
        publish(motion.record.device_id, motion.topic("telemetry"), orjson.dumps(last))
        return motion.record.device_id

    def _residents_of(self, home_id: str) -> set[str | None]:
        """The residents of a home: the simulated devices know their home by position (wearables have none)."""
        sensor = next(d for d in self.sensors if d.record.home_id == home_id)
        return {d.record.resident_id for d in self.wearables
                if (d.home_lat, d.home_lon) == (sensor.home_lat, sensor.home_lon)}
