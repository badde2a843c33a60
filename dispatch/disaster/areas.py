"""Terminals as the command centre sees them: sites on the map, thresholds per kind, areas = villages.

River gauges use a site ladder (warning 32 m, guarantee 34 m: the simulated Xiang runs near 30 m in fair
weather); rain gauges the CMA rain ladders; landslide sensors the displacement ladders. These are the defaults of
each kind: a station with its own thresholds in the registry (`dispatch/disaster/stations.py`, issue 14) is judged by
those (`set_thresholds`). Each kind evaluates only
its own metrics, so 10,000 terminals cost two trackers each, not seven.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from alerts.detection import Detection
from alerts.disaster.gauges import GaugeThresholds, river_ladder
from alerts.disaster.warnings import GaugeWarningDetector, WarningLevel
from devices.i18n import t
from devices.models import Reading

RIVER_WARNING_M = 32.0
RIVER_GUARANTEE_M = 34.0
ADVANCE_EVERY_S = 10.0  # device seconds between full re-evaluations on time alone
LOWER_AFTER_S = 1800.0  # a level holds 30 min of device time below its threshold before it is released
_NONE = {
    m: None
    for m in (
        "rain_1h_mm",
        "rain_3h_mm",
        "rain_24h_mm",
        "river_level_m",
        "river_rise_m_per_h",
        "displacement_mm",
        "displacement_rate_mm_per_h",
    )
}
_OWN = {
    "river_gauge": ("river_level_m", "river_rise_m_per_h"),
    "rain_gauge": ("rain_1h_mm", "rain_3h_mm", "rain_24h_mm"),
    "landslide": ("displacement_mm", "displacement_rate_mm_per_h"),
}


@dataclass(frozen=True, slots=True)
class Site:
    """A disaster terminal on the map: where it is and which village (area) it belongs to."""

    terminal_id: str
    kind: str
    village_id: str
    lat: float
    lon: float


def thresholds_for(kind: str, lower_after_s: float = LOWER_AFTER_S) -> GaugeThresholds:
    """The ladders a terminal of this kind is judged by (reporters: none)."""
    base = GaugeThresholds(river_level_m=river_ladder(RIVER_WARNING_M, RIVER_GUARANTEE_M), lower_after_s=lower_after_s)
    keep = _OWN.get(kind, ())
    ladders = {m: (getattr(base, m) if m in keep else None) for m in _NONE}
    return GaugeThresholds(**ladders, lower_after_s=lower_after_s)  # type: ignore[arg-type]  # ladder fields by name


class AreaWarnings(GaugeWarningDetector):
    """The gauge warning detector with terminals added while running, and areas of thousands of gauges.

    The base class rescans every terminal of an area on each reading (quadratic with thousands of gauges in one
    area); here each area keeps a histogram of its terminals' levels, and the full scan (which names the driving
    terminal) runs only when the area's level actually changes.
    """

    def __init__(self, sites: Iterable[Site]) -> None:
        sites = list(sites)
        super().__init__(
            {s.terminal_id: s.village_id for s in sites}, {s.terminal_id: thresholds_for(s.kind) for s in sites}
        )
        self._level_of: dict[str, int] = {}  # terminal -> level counted in its area's histogram
        self._hist: dict[str, list[int]] = {}  # area -> terminals per level 0..4
        self._scan_all = False
        self._advanced = -math.inf

    def add_site(self, site: Site) -> None:
        """Register a terminal seen after start; a terminal already observed keeps its area."""
        self._area_of.setdefault(site.terminal_id, site.village_id)
        self._cfg.setdefault(site.terminal_id, thresholds_for(site.kind))

    def set_thresholds(self, terminal_id: str, cfg: GaugeThresholds) -> None:
        """Judge a terminal by its own station's thresholds (issue 14); a terminal seen already keeps its
        trackers' state (hysteresis, hold times) and changes only the ladders."""
        self._cfg[terminal_id] = cfg
        term = self._terminals.get(terminal_id)
        if term is None:
            return
        term.cfg = cfg
        for metric, tracker in term.trackers.items():
            ladder = getattr(cfg, metric)
            if ladder is not None:
                tracker.ladder = ladder

    def thresholds(self, terminal_id: str) -> GaugeThresholds | None:
        """The thresholds a terminal is judged by (None: not registered)."""
        return self._cfg.get(terminal_id)

    def observe(self, reading: Reading) -> list[Detection]:
        """As the base class; the area is re-evaluated only when this terminal's level changed."""
        if not self._track(reading) or not self._note(reading.device_id):
            return []
        return self._refresh(self.area_of(reading.device_id), reading.ts)

    def advance(self, now: float) -> list[Detection]:
        """As the base class (full scans) at most every ADVANCE_EVERY_S of device time; histograms follow."""
        if now - self._advanced < ADVANCE_EVERY_S:
            return []  # the stage advances after every batch; levels are released after minutes, not seconds
        self._advanced = now
        self._scan_all = True
        try:
            found = super().advance(now)
        finally:
            self._scan_all = False
        for tid in list(self._terminals):
            self._note(tid)
        return found

    def _note(self, terminal_id: str) -> bool:
        """Count the terminal's current level in its area; whether it changed."""
        new, old = self._terminals[terminal_id].level()[0], self._level_of.get(terminal_id)
        if new == old:
            return False
        hist = self._hist.setdefault(self.area_of(terminal_id), [0] * 5)
        if old is not None:
            hist[old] -= 1
        hist[new] += 1
        self._level_of[terminal_id] = new
        return True

    def _refresh(self, area_id: str, ts: float) -> list[Detection]:
        if not self._scan_all:
            hist = self._hist.get(area_id, [0] * 5)
            top = max((lv for lv in range(5) if hist[lv]), default=0)
            top = max([top, *self._external.get(area_id, {}).values()])
            if top == self.area_level(area_id):
                return []
        return super()._refresh(area_id, ts)

    def snapshot(self, terminal_id: str) -> dict[str, Any]:
        """What a restart must keep of a terminal (issue 7): its trackers' hysteresis state and its rain window."""
        term = self._terminals.get(terminal_id)
        if term is None:
            return {}
        trackers = {m: t.state() for m, t in term.trackers.items()}
        return {"trackers": trackers, "rain": [list(s) for s in term.rain.samples if s[1]]}  # dry samples add 0

    def restore_terminal(self, terminal_id: str, snap: Mapping[str, Any]) -> None:
        """Take up a `snapshot` saved by an earlier run (metrics its kind no longer judges are left out)."""
        term = self._terminal(terminal_id)
        for metric, state in snap.get("trackers", {}).items():
            if metric in term.trackers:
                term.trackers[metric].restore(state)
        for ts, mm in snap.get("rain", []):
            term.rain.add(float(ts), float(mm))
        self._note(terminal_id)

    def restore_area(self, area_id: str, level: WarningLevel, external: Mapping[str, WarningLevel]) -> None:
        """An area's level as last announced and the imported warnings on it, saved by an earlier run."""
        if level:
            self._area_level[area_id] = level
        if external:
            self._external.setdefault(area_id, {}).update(external)

    def terminal_level(self, terminal_id: str) -> int:
        """Highest level over the terminal's metrics (0 when unseen)."""
        return max((lv for _, lv in self.terminal_metrics(terminal_id).values()), default=0)


def evacuation_text(level: WarningLevel, language: str | None = None) -> str:
    """CAP instruction per level (what the public and the village officers should do), in the hub's language or
    `language` (devices/i18n/: cap.instruction.<level>)."""
    return t(f"cap.instruction.{int(level)}", language) if level else ""
