"""The storm scenario (issue 6): a rainstorm over the valley, the Xiang rising, a landslide, village reports.

The storm runs on its own compressed clock (`STORM_S_PER_SIM_S` storm seconds per simulated second), so at the
demo's default speed the southern river gauges pass the blue and yellow levels within the first minute and the
first CAP alerts follow; devices still stamp simulated time. The flood wave travels north (downstream): each
village's gauges rise `WAVE_LAG_S` later than the village to its south. One landslide sensor creeps, then slips.
Each village's first terminal files an initial report, then a follow-up every `FOLLOW_UP_S`, its counts growing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from simulators.telemetry import SimDevice

BASE_LEVEL_M = 30.0
PEAK_RISE_M = 4.6  # the crest passes the guarantee level (34 m) of the command centre's default ladder
RISE_S = 70.0  # storm seconds from the first rain to the crest at the southernmost gauge
WAVE_LAG_S = 6.0
STORM_S_PER_SIM_S = 1.0
PEAK_RAIN_MM = 5.0  # per 10-s observation at the storm's height
SLIP_AT_S = 70.0
FIRST_REPORT_S = 35.0
FOLLOW_UP_S = 120.0
EVENT_ID = "storm-valley-1"


def smoothstep(x: float) -> float:
    """0 -> 1 with zero slope at both ends."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


@dataclass
class StormScenario:
    """Shapes terminal observations and adds village reports; `order` = village ids from south to north."""

    order: list[str]
    t0: float | None = None
    slide_terminal: str = ""
    reporters: dict[str, SimDevice] = field(default_factory=dict)  # village -> the terminal that files reports
    _reports: dict[str, int] = field(default_factory=dict)  # village -> reports filed

    def storm_s(self, t: float) -> float:
        """Storm seconds since the scenario's first message."""
        if self.t0 is None:
            self.t0 = t
        return (t - self.t0) * STORM_S_PER_SIM_S

    def river_m(self, village: str, s: float) -> float:
        """The river at a village's gauge: the wave reaches northern villages later."""
        lag = WAVE_LAG_S * (self.order.index(village) if village in self.order else 0)
        return BASE_LEVEL_M + PEAK_RISE_M * smoothstep((s - lag) / RISE_S)

    def shape(self, dev: SimDevice, t: float, payload: dict[str, Any]) -> dict[str, Any]:
        """A terminal observation under the storm (other devices pass unchanged)."""
        kind, village = dev.record.kind, dev.record.village_id or ""
        if dev.record.family != "terminal":
            return payload
        s = self.storm_s(t)
        if kind == "river_gauge":
            payload["river_level_m"] = round(self.river_m(village, s) + dev.rng.gauss(0, 0.01), 3)
        elif kind == "rain_gauge":
            burst = math.exp(-(((s - 60.0) / 45.0) ** 2))
            payload["rainfall_mm"] = round(max(0.0, PEAK_RAIN_MM * burst + dev.rng.gauss(0, 0.05)), 2)
        elif kind == "landslide":
            if not self.slide_terminal:
                self.slide_terminal = dev.record.device_id
            if dev.record.device_id == self.slide_terminal:
                payload["displacement_mm"] = round(0.4 * s + (180.0 if s >= SLIP_AT_S else 0.0), 1)
        return payload

    def reports_due(self, t: float) -> list[tuple[SimDevice, dict[str, Any]]]:
        """Reports whose time has come: (terminal, payload) pairs."""
        s = self.storm_s(t)
        out = []
        for i, village in enumerate(self.order):
            dev = self.reporters.get(village)
            n = self._reports.get(village, 0)
            if dev is None or s < FIRST_REPORT_S + 4.0 * i + n * FOLLOW_UP_S:
                continue
            self._reports[village] = n + 1
            out.append((dev, self._report(dev, t, n, len(self.order) - i)))
        return out

    def _report(self, dev: SimDevice, t: float, n: int, exposure: int) -> dict[str, Any]:
        grow = n + 1
        indicators = {
            "affected_population": 40 * exposure * grow, "emergency_relocated": 12 * exposure * grow,
            "trapped": exposure if n == 0 else 0, "houses_damaged_rooms": 3 * exposure * grow,
            "crop_affected_ha": round(2.5 * exposure * grow, 1), "direct_loss_10k_cny": round(8.0 * exposure * grow, 1),
        }  # fmt: skip
        return {"ts": round(t, 3), "seq": dev.next_seq(), "event_id": EVENT_ID,
                "stage": "initial" if n == 0 else "follow_up", "hazard": "flood", "indicators": indicators,
                "officer": f"officer-{dev.record.village_id}"}  # fmt: skip


def storm_for(devices: list[SimDevice], villages: list[tuple[str, float]]) -> StormScenario:
    """The scenario over a simulation's devices; villages as (id, lat), ordered south to north."""
    order = [v for v, _lat in sorted(villages, key=lambda x: x[1])]
    reporters: dict[str, SimDevice] = {}
    for dev in devices:
        village = dev.record.village_id
        if dev.record.family == "terminal" and village and (village not in reporters or dev.record.kind == "reporter"):
            reporters[village] = dev
    return StormScenario(order, reporters=reporters)
