"""Render one home's activity segments and anomaly overlays into time-ordered Reading / Availability records.

A wearable reports every `WEARABLE_PERIOD_S` (vitals, steps, battery; vitals absent while it charges), motion sensors
report occupancy on change (zigbee2mqtt style), door and bed on change, every home sensor sends an hourly heartbeat
with its battery (hazard sensors with their state). Output is produced one local day at a time.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from devices.models import Availability, Family, Reading
from simulators.community_model import DAY_S, START_TS, Resident, Segment

WEARABLE_PERIOD_S = 120.0
STATES = ("sleep", "sick_bed", "bath", "bath_stuck", "active", "quiet", "nap", "inactive", "out", "out_night")
STEPS = {"bath": (0, 12), "active": (20, 80), "out": (80, 200), "out_night": (30, 120)}
HR_ADD = np.array([-7.0, -3.0, 4.0, 0.0, 12.0, 0.0, -2.0, 0.0, 18.0, 15.0])
ASLEEP = np.array([s in ("sleep", "sick_bed", "nap") for s in STATES])
Item = Reading | Availability


@dataclass
class Overlays:
    """Anomalies of one home that act on rendering rather than on the routine."""

    vitals: list[tuple[float, float, str]] = field(default_factory=list)
    hazards: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # role -> alarm intervals
    silences: list[tuple[str, float, float, bool]] = field(default_factory=list)  # device, t0, t1, last will
    forget_charge_days: set[int] = field(default_factory=set)
    low_battery: dict[str, float] = field(default_factory=dict)  # home-sensor role -> decline start


class HomeRenderer:
    """Turns a resident's segments into records, one local day at a time."""

    def __init__(self, res: Resident, segs: list[Segment], ov: Overlays, seed: int, labels: list) -> None:
        self.res, self.segs, self.ov, self.labels = res, segs, ov, labels
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.starts = np.array([s[0] for s in segs])
        self.codes = np.array([STATES.index(s[2]) for s in segs])
        self.seq: dict[str, int] = {}
        self.battery = 100.0
        self.low_told: set[str] = set()
        self.carry: list[tuple[float, int, Item]] = []
        self.n = 0
        self.base_batt = {r: self.rng.uniform(40, 100) for r in res.devices}
        self.phase = {r: self.rng.uniform(0, 3600) for r in res.devices}
        self.silences: dict[str, list[tuple[float, float]]] = {}
        for device_id, t0, t1, _ in ov.silences:
            self.silences.setdefault(device_id, []).append((t0, t1))
        for device_id, t0, t1, will in ov.silences:
            if will:
                self._push(Availability(device_id, False, t0 + 90.0 + self.rng.uniform(0, 60)))
            self._push(Availability(device_id, True, t1))

    def days(self, days: int) -> Iterator[Item]:
        """All records of the home in time order."""
        i = 0
        for d in range(days):
            t0, t1 = START_TS + d * DAY_S, START_TS + (d + 1) * DAY_S
            raw: list[tuple[float, str, dict[str, float]]] = []
            while i < len(self.segs) and self.segs[i][0] < t1:
                self._segment(i, raw)
                i += 1
            self._heartbeats(t0, t1, raw)
            for ts, role, values in raw:
                self._reading(role, ts, values)
            self._wearable(d, t0)
            while self.carry and self.carry[0][0] < t1:
                yield heapq.heappop(self.carry)[2]
        while self.carry:
            yield heapq.heappop(self.carry)[2]

    def _push(self, item: Item) -> None:
        self.n += 1
        heapq.heappush(self.carry, (item.ts, self.n, item))

    def _silent(self, device_id: str, ts: float) -> bool:
        return any(a <= ts < b for a, b in self.silences.get(device_id, ()))

    def _reading(self, role: str, ts: float, values: dict[str, float]) -> None:
        device_id = self.res.devices.get(role)
        if device_id is None or self._silent(device_id, ts):
            return
        seq = self.seq[device_id] = self.seq.get(device_id, -1) + 1
        family = Family.WEARABLE if role == "wearable" else Family.HOME_SENSOR
        self._push(Reading(device_id, family, ts, seq, values))

    def _motion(self, raw: list, room: str, ts: float, hold_s: float = 90.0) -> None:
        raw.append((ts, f"motion:{room}", {"occupancy": 1.0}))
        raw.append((ts + hold_s, f"motion:{room}", {"occupancy": 0.0}))

    def _triggers(self, raw: list, room: str, t0: float, t1: float, mean_s: float, cap_s: float) -> None:
        t = t0 + min(cap_s, self.rng.expovariate(1.0 / mean_s))
        while t < t1 - 90.0:
            self._motion(raw, room, t)
            t += min(cap_s, self.rng.expovariate(1.0 / mean_s))

    def _segment(self, i: int, raw: list) -> None:
        """Sensor events of one segment (they may run past the day; the carry heap keeps order)."""
        t0, t1, state, room = self.segs[i]
        nxt = self.segs[i + 1][2] if i + 1 < len(self.segs) else ""
        bed = self.res.has_bed
        if state in ("sleep", "nap") and (state == "sleep" or room == "bedroom"):
            self._motion(raw, "bedroom", t0)
            if bed:
                raw.append((t0 + 60.0, "bed", {"bed_occupied": 1.0}))
                if nxt != "sick_bed":
                    raw.append((t1, "bed", {"bed_occupied": 0.0}))
            self._triggers(raw, "bedroom", t0 + 600.0, t1, 7200.0, 1e9)
        elif state == "sick_bed":
            if bed:
                raw.append((t1, "bed", {"bed_occupied": 0.0}))
            self._triggers(raw, "bedroom", t0, t1, 5400.0, 1e9)
        elif state in ("bath", "active"):
            self._hops(raw, state, room, t0, t1)
        elif state in ("quiet", "nap", "inactive", "bath_stuck"):
            self._motion(raw, room, t0)
            if state in ("quiet", "bath_stuck"):
                self._triggers(raw, room, t0, t1, 1500.0 if state == "quiet" else 1800.0, 3600.0)
        else:  # out, out_night: hall, door open/closed; back through the door, then the hall
            raw.append((t0 - 20.0, "motion:hall", {"occupancy": 1.0}))
            raw.append((t0, "door", {"contact": 0.0}))
            raw.append((t0 + 8.0, "door", {"contact": 1.0}))
            raw.append((t1, "door", {"contact": 0.0}))
            raw.append((t1 + 8.0, "door", {"contact": 1.0}))
            self._motion(raw, "hall", t1 + 30.0)

    def _hops(self, raw: list, state: str, room: str, t0: float, t1: float) -> None:
        """Moving between rooms: occupancy on entering each, off 90 s after leaving."""
        if state == "bath":
            raw.append((t0, "motion:bathroom", {"occupancy": 1.0}))
            raw.append((t1 + 90.0, "motion:bathroom", {"occupancy": 0.0}))
            return
        t = t0
        while t < t1:
            end = min(t1, t + self.rng.uniform(3, 15) * 60)
            raw.append((t, f"motion:{room}", {"occupancy": 1.0}))
            raw.append((end + 90.0, f"motion:{room}", {"occupancy": 0.0}))
            room, t = self.rng.choice(("living", "kitchen", "hall", "living", "bedroom")), end

    def _heartbeats(self, t0: float, t1: float, raw: list) -> None:
        """Hourly battery heartbeat of every home sensor; hazard sensors repeat their state."""
        for role in self.res.devices:
            if role == "wearable":
                continue
            ts = t0 + self.phase[role]
            while ts < t1:
                values = {"battery": self._sensor_battery(role, ts)}
                if role in ("smoke", "gas", "water_leak"):
                    values[role] = self._hazard(role, ts)
                raw.append((ts, role, values))
                ts += 3600.0
            for a, b in self.ov.hazards.get(role, ()):
                raw.extend((ts, role, {role: v}) for ts, v in ((a, 1.0), (b, 0.0)) if t0 <= ts < t1)

    def _hazard(self, role: str, ts: float) -> float:
        return float(any(a <= ts < b for a, b in self.ov.hazards.get(role, ())))

    def _sensor_battery(self, role: str, ts: float) -> float:
        start = self.ov.low_battery.get(role)
        if start is None:
            return float(round(min(100.0, self.base_batt[role] + self.rng.gauss(0, 0.5))))
        level = 16.0 - max(0.0, ts - start) / 3600.0 * 0.5
        if level < 15.0 and role not in self.low_told and not self._silent(self.res.devices[role], ts):
            self.low_told.add(role)
            self.labels.append(("low_battery", self.res.devices[role], ts))
        return max(5.0, level)

    def _wearable(self, day: int, t0: float) -> None:
        """One day of wearable readings, vectorised, then emitted one by one."""
        n, g = int(DAY_S / WEARABLE_PERIOD_S), self.np
        ts = t0 + self.phase["wearable"] % WEARABLE_PERIOD_S + np.arange(n) * WEARABLE_PERIOD_S
        code = self.codes[np.clip(np.searchsorted(self.starts, ts, side="right") - 1, 0, None)]
        steps = np.zeros(n)
        for state, (lo, hi) in STEPS.items():
            m = code == STATES.index(state)
            steps[m] = g.integers(lo, hi + 1, m.sum())
        fidget = (code == STATES.index("quiet")) & (g.random(n) < 0.1)
        steps[fidget] = g.integers(1, 5, fidget.sum())
        hr = self.res.hr_base + HR_ADD[code] + g.normal(0, 3, n)
        spo2 = self.res.spo2_base - 0.8 * ASLEEP[code] + g.normal(0, 0.7, n)
        temp = self.res.temp_base + 0.8 * ASLEEP[code] + g.normal(0, 0.25, n)
        unwell = [((ts >= a) & (ts < b), mode) for a, b, mode in self.ov.vitals]
        for m, _ in unwell:
            steps[m] = 0  # the resident sits down
        for m, mode in unwell:
            self._vital_mode(mode, m, hr, spo2, temp)
        moving = steps > 10
        art = moving & (g.random(n) < 0.05)  # motion artefacts: wild HR and SpO2 while walking
        hr[art], spo2[art] = g.uniform(140, 175, art.sum()), g.uniform(80, 89, art.sum())
        spike = ~moving & (g.random(n) < 1 / 1500)  # lone bad readings at rest
        hr[spike], spo2[spike] = g.uniform(132, 150, spike.sum()), g.uniform(85, 89, spike.sum())
        spo2 = np.clip(spo2, 70, 100)
        tod = (ts - START_TS) % DAY_S
        forget = day in self.ov.forget_charge_days
        charge_at = 20.5 * 3600 if forget else self.res.wake_tod + 1800
        charging = (tod >= charge_at) & (tod < charge_at + 3600)
        for k in range(n):
            self._wearable_reading(float(ts[k]), bool(charging[k]), forget, steps[k], hr[k], spo2[k], temp[k])

    def _vital_mode(self, mode: str, m: np.ndarray, hr: np.ndarray, spo2: np.ndarray, temp: np.ndarray) -> None:
        k, g = int(m.sum()), self.np
        if mode == "spo2_low":
            spo2[m] = np.minimum(89.0, 86 + g.normal(0, 1, k))
        elif mode == "hr_high":
            hr[m] = np.maximum(132.0, 140 + g.normal(0, 3, k))
        elif mode == "hr_low":
            hr[m] = np.minimum(39.0, 36 + g.normal(0, 1.5, k))
        elif mode == "temp_high":
            temp[m] = np.maximum(37.7, 38.3 + g.normal(0, 0.2, k))
        elif mode == "base_hr":
            hr[m] = np.minimum(hr[m] + 35.0, 126.0)  # well above the own baseline, below the clinical limit
        elif mode == "base_spo2":
            spo2[m] = np.maximum(spo2[m] - 5.0, 91.0)  # clearly below the own baseline, above the limit

    def _wearable_reading(self, ts: float, charging: bool, forget: bool, *vals: float) -> None:
        self.battery = min(100.0, self.battery + 2.5) if charging else self.battery - self.res.drain_pct_h / 30
        if forget and self.battery < 15.0 and "wearable" not in self.low_told:
            self.low_told.add("wearable")
            self.labels.append(("low_battery", self.res.devices["wearable"], ts))
        if charging:  # on the charger, off the wrist: no vital signs
            self._reading("wearable", ts, {"steps": 0.0, "battery": round(self.battery, 1)})
            return
        steps, hr, spo2, temp = vals
        values = {"heart_rate": float(round(hr)), "spo2": round(float(spo2), 1), "skin_temp": round(float(temp), 2)}
        values["steps"] = float(steps)
        values["battery"] = round(self.battery, 1)
        self._reading("wearable", ts, values)
