"""Daily life of a seeded community of elderly residents, as a timeline of activity segments per home.

Each resident has a routine (wake-up and bed times, naps, outings, bathroom visits, night toilet visits) with
day-to-day variation; `plan_home` lays it out as segments `(t0, t1, state, room)` which `scenarios.py` renders into
sensor readings. Routine anomalies are injected here, at the level of what the resident does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from devices.models import Family
from devices.topology import DeviceInfo, Room, SensorKind, Topology

START_TS = 1_709_222_400.0  # 2024-03-01 00:00 local time (UTC+8)
UTC_OFFSET_S = 8 * 3600.0
DAY_S = 86_400.0
H = 3600.0
MOTION_ROOMS = (Room.LIVING, Room.KITCHEN, Room.BATHROOM, Room.HALL, Room.BEDROOM)

Segment = tuple[float, float, str, str]  # t0, t1, state, room


@dataclass(frozen=True, slots=True)
class Resident:
    """One home with its single resident, routine parameters and devices."""

    home_id: str
    resident_id: str
    wake_tod: float
    bed_tod: float
    hr_base: float
    spo2_base: float
    temp_base: float
    drain_pct_h: float
    has_bed: bool
    devices: dict[str, str]  # role ("wearable", "motion:bathroom", "door", "bed", "smoke"...) -> device_id


def build_community(homes: int, seed: int) -> tuple[list[Resident], Topology]:
    """Seeded residents and the topology of their devices."""
    rng = random.Random(seed)
    residents: list[Resident] = []
    infos: list[DeviceInfo] = []
    for i in range(homes):
        home, rid = f"home{i:04d}", f"res{i:04d}"
        roles = ["wearable", *(f"motion:{r}" for r in MOTION_ROOMS), "door", "smoke", "gas", "water_leak"]
        has_bed = i % 10 not in (2, 5, 8)  # three homes in ten have no bed sensor
        if has_bed:
            roles.append("bed")
        devices = {role: f"{home}-{role.replace(':', '-')}" for role in roles}
        residents.append(
            Resident(
                home,
                rid,
                rng.uniform(5.75, 7.75) * H,
                rng.uniform(21.5, 23.0) * H,
                rng.uniform(58, 80),
                rng.uniform(95.5, 98.0),
                rng.uniform(33.3, 34.5),
                rng.uniform(2.3, 2.7),
                has_bed,
                devices,
            )
        )
        infos.extend(_device_info(role, dev, rid, home) for role, dev in devices.items())
    return residents, Topology(infos)


def _device_info(role: str, device_id: str, resident_id: str, home_id: str) -> DeviceInfo:
    kind, _, room = role.partition(":")
    rooms = {
        "door": Room.HALL,
        "bed": Room.BEDROOM,
        "smoke": Room.KITCHEN,
        "gas": Room.KITCHEN,
        "water_leak": Room.BATHROOM,
    }
    family = Family.WEARABLE if kind == "wearable" else Family.HOME_SENSOR
    return DeviceInfo(device_id, family, SensorKind(kind), resident_id, home_id, room or rooms.get(kind, ""))


class DayPlanner:
    """Lays out one resident's days as segments; `routine` maps a day index to an injected routine anomaly."""

    def __init__(self, res: Resident, rng: random.Random, routine: dict[int, tuple[str, float]]) -> None:
        self.res, self.rng, self.routine = res, rng, routine
        self.segs: list[Segment] = []

    def _midnight(self, day: int) -> float:
        return START_TS + day * DAY_S

    def _jitter(self) -> float:
        return max(-3600.0, min(3600.0, self.rng.gauss(0.0, 1200.0)))

    def _add(self, t0: float, t1: float, state: str, room: str = "") -> float:
        if t1 > t0:
            self.segs.append((t0, t1, state, room))
        return max(t0, t1)

    def plan_with_labels(self, days: int) -> tuple[list[Segment], list[tuple[str, float]]]:
        """Segments plus the (type, start) of each routine anomaly injected."""
        self.labels: list[tuple[str, float]] = []
        t = self._night(self._midnight(0), self._midnight(0) + self.res.wake_tod + self._jitter(), 0)
        for d in range(days):
            bed = self._midnight(d) + self.res.bed_tod + self._jitter()
            t = self._day(d, t, bed)
            wake = self._midnight(d + 1) + self.res.wake_tod + self._jitter()
            t = self._night(t, max(wake, t + 4 * H), d + 1)
        return self.segs, self.labels

    def _night(self, t: float, wake: float, day: int) -> float:
        """Sleep with night toilet visits; an injected night exit or a morning spent in bed."""
        rng, mid = self.rng, self._midnight(day)
        stops = sorted(mid + rng.uniform(1.0, 3.5) * H for _ in range(rng.choice((0, 0, 1, 1, 2))))
        if self.routine.get(day - 1, ("",))[0] == "night_exit":
            te = max(t + 1200.0, mid + rng.uniform(-0.5, 2.5) * H)
            stops = [s for s in stops if s < te - 1800.0]
            for s in stops:
                t = self._add(t, s, "sleep", Room.BEDROOM)
                t = self._add(t, t + rng.uniform(240, 600), "bath", Room.BATHROOM)
            t = self._add(t, te, "sleep", Room.BEDROOM)
            self.labels.append(("night_exit", te))
            t = self._add(t, min(te + rng.uniform(3, 5) * H, wake - 600.0), "out_night", Room.HALL)
            return self._add(t, wake, "sleep", Room.BEDROOM)
        for s in stops:
            t = self._add(t, s, "sleep", Room.BEDROOM)
            t = self._add(t, t + rng.uniform(240, 600), "bath", Room.BATHROOM)
        t = self._add(t, wake, "sleep", Room.BEDROOM)
        kind = self.routine.get(day, ("",))[0]
        if kind in ("no_wakeup", "bed_not_left"):
            self.labels.append((kind, mid + self.res.wake_tod))
            t = self._add(t, t + rng.uniform(4.5, 6.0) * H, "sick_bed", Room.BEDROOM)
        return t

    def _day(self, d: int, t: float, bed: float) -> float:
        """Morning routine, then blocks of activity around the day's planned events."""
        rng, mid = self.rng, self._midnight(d)
        events: list[tuple[float, str, float, str]] = []
        if rng.random() < 0.6:
            events.append((mid + rng.uniform(9, 16) * H, "out", rng.uniform(45, 180) * 60, Room.HALL))
        if rng.random() < 0.5:
            nap_room = Room.BEDROOM if self.res.has_bed and rng.random() < 0.4 else Room.LIVING
            events.append((mid + rng.uniform(13, 15) * H, "nap", rng.uniform(30, 110) * 60, nap_room))
        if rng.random() < 0.08:
            events.append((mid + rng.uniform(20.5, 22.2) * H, "out", rng.uniform(3, 8) * 60, Room.HALL))
        kind = self.routine.get(d, ("",))[0]
        if kind == "inactivity":
            events.append((mid + rng.uniform(10, 14.5) * H, "inactive", rng.uniform(5.5, 6.5) * H, Room.LIVING))
        elif kind == "bathroom_long":
            events.append((mid + rng.uniform(9, 18) * H, "bath_stuck", rng.uniform(2, 3) * H, Room.BATHROOM))
        events.sort()
        t = self._add(t, t + rng.uniform(8, 20) * 60, "bath", Room.BATHROOM)
        t = self._add(t, t + rng.uniform(20, 40) * 60, "active", Room.KITCHEN)
        while t < bed or (events and events[0][0] < bed):
            if events and events[0][0] <= t:
                _, state, dur, room = events.pop(0)
                if state in ("inactive", "bath_stuck"):
                    self.labels.append(({"inactive": "inactivity"}.get(state, "bathroom_long"), t))
                t = self._add(t, t + dur, state, room)
                continue
            t = self._block(t, min(bed, events[0][0]) if events else bed)
        return t

    def _block(self, t: float, until: float) -> float:
        """One ordinary block: a bathroom visit, moving about, or sitting quietly."""
        r = self.rng.random()
        if r < 0.18 and self.segs[-1][2] != "bath":
            dur = self.rng.uniform(25, 35) * 60 if self.rng.random() < 0.05 else self.rng.uniform(4, 18) * 60
            return self._add(t, max(t + 60.0, min(t + dur, until)), "bath", Room.BATHROOM)
        room = self.rng.choice((Room.LIVING, Room.KITCHEN, Room.LIVING, Room.HALL, Room.BEDROOM))
        if r < 0.6:
            return self._add(t, max(t + 60.0, min(t + self.rng.uniform(10, 40) * 60, until)), "active", room)
        return self._add(t, max(t + 60.0, min(t + self.rng.uniform(20, 100) * 60, until)), "quiet", Room.LIVING)
