"""Disaster warning levels from gauge observations (issue 6): rain, river level and landslide displacement.

Each terminal's metrics go through a hysteresis ladder (`alerts/disaster/gauges.py`); an area's level is the maximum
over its terminals and over imported warnings (CAP). A Detection is emitted whenever an area's level changes.
Colours and grades follow the Emergency Response Law, art. 42: red I (highest), orange II, yellow III, blue
IV.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

from alerts.detection import Detection, Severity
from alerts.detector import Detector
from alerts.disaster.gauges import HOUR_S, GaugeThresholds, Ladder, TerminalState, river_ladder
from devices.i18n import t
from devices.models import DeviceEvent, Family, Reading

__all__ = ["GaugeThresholds", "GaugeWarningDetector", "Ladder", "WarningLevel", "river_ladder"]


class WarningLevel(IntEnum):
    """Area warning level; comparison follows urgency (RED is the highest)."""

    NONE = 0
    BLUE = 1
    YELLOW = 2
    ORANGE = 3
    RED = 4

    @property
    def colour(self) -> str:
        """Colour name ("none", "blue", ... "red")."""
        return self.name.lower()

    @property
    def grade(self) -> str:
        """Chinese grade: IV (blue) .. I (red), "" for NONE."""
        return ("", "IV", "III", "II", "I")[self]

    @property
    def label_zh(self) -> str:
        """Chinese name of the warning colour."""
        return ("无", "蓝色预警", "黄色预警", "橙色预警", "红色预警")[self]


def _severity(level: WarningLevel) -> Severity:
    """Detection severity of a warning level."""
    if level >= WarningLevel.ORANGE:
        return Severity.CRITICAL
    return Severity.WARNING if level else Severity.INFO


class GaugeWarningDetector(Detector):
    """Streaming detector: terminal observations in, area warning-level changes out."""

    name = "disaster_warning"

    def __init__(
        self,
        terminal_area: Mapping[str, str],
        thresholds: Mapping[str, GaugeThresholds] | None = None,
        default: GaugeThresholds | None = None,
    ) -> None:
        self._area_of = dict(terminal_area)  # unknown terminals form an area of their own id
        self._cfg = dict(thresholds or {})
        self._default = default or GaugeThresholds()
        self._terminals: dict[str, TerminalState] = {}
        self._members: dict[str, list[str]] = {}  # area -> terminals seen, so a refresh touches one area only
        self._external: dict[str, dict[str, WarningLevel]] = {}  # area -> source id -> level
        self._area_level: dict[str, WarningLevel] = {}

    def observe(self, reading: Reading) -> list[Detection]:
        """Feed one terminal observation; return area level changes."""
        if not self._track(reading):
            return []
        return self._refresh(self.area_of(reading.device_id), reading.ts)

    def _track(self, reading: Reading) -> bool:
        """Update the terminal's level trackers with one observation; False when it is not a terminal's."""
        if reading.family is not Family.TERMINAL:
            return False
        term = self._terminal(reading.device_id)
        for metric, value in term.metrics(reading.values, reading.ts).items():
            if metric in term.trackers:
                term.trackers[metric].update(value, reading.ts)
        return True

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """Terminals send no discrete events that matter here."""
        return []

    def advance(self, now: float) -> list[Detection]:
        """Let time pass: rain leaves its windows and held levels may be released."""
        for term in self._terminals.values():
            if term.rain.samples and now > term.rain.samples[-1][0]:
                for hours in (1, 3, 24):
                    tracker = term.trackers.get(f"rain_{hours}h_mm")
                    if tracker:
                        tracker.update(term.rain.total(now, hours * HOUR_S), now)
            for metric, tracker in term.trackers.items():
                if not metric.startswith("rain_"):
                    tracker.update(tracker.value, now)  # hold the last value: no data never clears a level
        areas = set(self._area_level) | {self.area_of(t) for t in self._terminals}
        return [d for area in sorted(areas) for d in self._refresh(area, now)]

    def set_external(self, area_id: str, source_id: str, level: WarningLevel, ts: float) -> list[Detection]:
        """Apply an imported warning (e.g. a CAP alert) to an area; NONE withdraws that source."""
        sources = self._external.setdefault(area_id, {})
        if level is WarningLevel.NONE:
            sources.pop(source_id, None)
        else:
            sources[source_id] = level
        return self._refresh(area_id, ts)

    def area_of(self, terminal_id: str) -> str:
        """Area id of a terminal."""
        return self._area_of.get(terminal_id, terminal_id)

    def area_level(self, area_id: str) -> WarningLevel:
        """Current level of an area."""
        return self._area_level.get(area_id, WarningLevel.NONE)

    def levels(self) -> dict[str, WarningLevel]:
        """Current level of every area seen (for the map)."""
        return dict(self._area_level)

    def terminal_metrics(self, terminal_id: str) -> dict[str, tuple[float, int]]:
        """Latest value and level per metric of one terminal (for the map's gauge popup)."""
        term = self._terminals.get(terminal_id)
        return {m: (t.value, t.level) for m, t in term.trackers.items()} if term else {}

    def _terminal(self, terminal_id: str) -> TerminalState:
        if terminal_id not in self._terminals:
            cfg = self._cfg.get(terminal_id, self._default)
            self._terminals[terminal_id] = TerminalState.build(cfg)
            self._members.setdefault(self.area_of(terminal_id), []).append(terminal_id)
        return self._terminals[terminal_id]

    def _refresh(self, area_id: str, ts: float) -> list[Detection]:
        """Recompute an area's level; a Detection if it changed."""
        level, terminal, metric, value = 0, "", "", 0.0
        for tid in self._members.get(area_id, []):
            term = self._terminals[tid]
            t_level, t_metric = term.level()
            if t_level > level:
                level, terminal, metric = t_level, tid, t_metric
                value = term.trackers[t_metric].value
        for source, ext in self._external.get(area_id, {}).items():
            if ext > level:
                level, terminal, metric, value = ext, source, "external", float(ext)
        new, old = WarningLevel(level), self.area_level(area_id)
        if new == old:
            return []
        self._area_level[area_id] = new
        features = {"level": float(new), "previous_level": float(old), "value": value}
        if metric and metric != "external":
            features[metric] = value
        text = t("det.warning", area=area_id, level=t(f"level.{int(new)}"), grade=t(f"grade.{int(new)}"),
                 previous=t(f"level.{int(old)}"))
        if metric:
            reason = t(f"cap.reason.{metric}", value=f"{value:.3g}", terminal=terminal)
            text = t("det.warning.reason", text=text, reason=reason)
        sev = _severity(new)
        return [Detection(self.name, "warning_level", area_id, terminal, ts, sev, 1.0, features, text)]
