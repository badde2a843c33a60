"""The command centre's state shaped for the map: gauges with colours, villages with their reports."""

from __future__ import annotations

import time
from typing import Any

from alerts.disaster.warnings import WarningLevel
from dashboard.markers import Point
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.field_ops import FieldOps

REPORT_KEYS = ("affected_population", "deaths", "missing", "injured_ill", "emergency_relocated", "trapped")


def points(cc: CommandCentre) -> list[Point]:
    """Every gauge as a marker point with its current level."""
    levels = cc.gauge_levels
    return [Point(s.terminal_id, s.kind, s.lat, s.lon, levels.get(s.terminal_id, 0), s.village_id)
            for s in list(cc.sites.values())]  # fmt: skip


def gauges(cc: CommandCentre) -> list[dict[str, Any]]:
    """Gauges with their latest metric values and levels (for popups)."""
    out = []
    for s in list(cc.sites.values()):
        metrics = cc.warnings.terminal_metrics(s.terminal_id)
        level = cc.gauge_levels.get(s.terminal_id, 0)
        out.append({"id": s.terminal_id, "kind": s.kind, "village": s.village_id, "lat": s.lat, "lon": s.lon,
                    "level": level, "colour": WarningLevel(level).colour,
                    "metrics": {m: round(v, 3) for m, (v, _lv) in metrics.items()}})  # fmt: skip
    return out


def villages(ops: FieldOps) -> list[dict[str, Any]]:
    """Villages with their level, latest report of the newest event, and evacuation counts."""
    cc = ops.centre
    current = cc.book.current()  # issue 14: the newest event a commander declared
    latest = cc.book.latest(current.event_id) if current else {}
    late = cc.book.late_now(current.event_id, time.time()) if current else {}  # shown in red
    relocated = ops.relocated()
    out = []
    for v in list(cc.villages.values()):
        level = cc.warnings.area_level(v.village_id)
        rep = latest.get(v.village_id)
        report = None
        if rep is not None:
            report = {"stage": rep.stage, "version": rep.version, "ts": rep.ts,
                      **{k: getattr(rep.indicators, k) for k in REPORT_KEYS}}  # fmt: skip
        evacuation = cc.evacuation_status(v.village_id)
        out.append({"id": v.village_id, "name": v.name, "township": v.township, "lat": v.lat, "lon": v.lon,
                    "level": int(level), "colour": level.colour, "report": report,
                    "relocated": relocated.get(v.village_id, 0), "evacuation": evacuation,
                    "late": late.get(v.village_id, "")})  # fmt: skip
    return out
