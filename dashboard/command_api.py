"""The command map's REST (issue 6): state, clustered markers, GeoJSON layers, and the page itself.

Read-only map data is open to any signed-in staff; command actions live in `dashboard/command_actions.py`. An
account limited to some townships (dashboard/place_scope.py) gets the warning areas, gauges, villages and CAP alerts
of their villages only; teams, stock, relief, field incidents and events stay the county's (the command room's own
resources), and the GeoJSON layers (geography, no people) stay whole.
Handlers are `async def` on purpose: the command centre is only touched from the event loop thread.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse

from alerts.disaster.reports import DisasterEvent
from alerts.disaster.warnings import WarningLevel
from dashboard.command_view import gauges, points, villages
from dashboard.deps import Ops, require
from dashboard.geo_layers import layers
from dashboard.markers import BBox, aggregate
from dashboard.pages import STATIC
from dashboard.place_scope import Scope
from dispatch.disaster.field_ops import FieldOps

MAX_GAUGES_IN_STATE = 1000
router = APIRouter(prefix="/api/command", tags=["command"], dependencies=[Depends(require())])
pages = APIRouter(tags=["command"], include_in_schema=False)


@router.get("/state")
async def state(ops: Ops, scope: Scope) -> dict[str, Any]:
    """Areas with levels, gauges (up to 1,000), villages with reports, teams, incidents, relief, active CAP."""
    cc = ops.centre
    cc.sync()  # issue 14: warnings and evacuation tasks recorded by another worker
    ops.refresh()  # ... and teams, stock and relief plans
    levels = cc.warnings.levels()
    areas = [
        {"area": a, "level": int(lv), "colour": lv.colour, **cc.evacuation_status(a)}
        for a, lv in sorted(levels.items())
        if lv is not WarningLevel.NONE and scope.allows_village(a)
    ]
    declared = [e for e in cc.book.events.values() if e.declared and e.closed_at is None]  # closed: on /command
    current = cc.book.current()
    sites = sum(1 for s in cc.sites.values() if scope.allows_village(s.village_id))
    gauge_list = [g for g in gauges(cc) if scope.allows_village(g["village"])] if sites <= MAX_GAUGES_IN_STATE else []
    return {
        "areas": areas,
        "gauges": gauge_list,
        "gauges_total": sites,
        "villages": [v for v in villages(ops) if scope.allows_village(v["id"])],
        "teams": [asdict(t) | {"capabilities": sorted(t.capabilities), "incident": ops.assigned.get(t.team_id)}
                  for t in ops.teams.values()],
        "incidents": [asdict(i) | {"requires": sorted(i.requires)} for i in ops.incidents()],
        "relief": _relief(ops),
        "cap": [{"identifier": w.identifier, "area": w.geocodes.get("village", ""), "level": int(w.level),
                 "msg_type": w.msg_type, "sent": w.sent} for w in cc.alerts.active(time.time())
                if scope.allows_village(w.geocodes.get("village"))],
        # issue 14: the events commanders declared (the last is the map's current one); those only a village's
        # initial report named wait for a commander to declare them
        "events": [e.event_id for e in sorted(declared, key=lambda e: e.started_at)],
        "event": _event(current) if current else None,
        "reported_events": [_event(e) for e in cc.book.events.values() if not e.declared],
        "tile_url": ops.tile_url,
    }  # fmt: skip


def _event(e: DisasterEvent) -> dict[str, Any]:
    return {"event_id": e.event_id, "hazard": e.hazard, "started_at": e.started_at, "villages": e.villages,
            "declared_by": e.declared_by, "stabilised_at": e.stabilised_at, "stabilised_by": e.stabilised_by}


def _relief(ops: FieldOps) -> dict[str, Any] | None:
    plan = ops.relief
    if plan is None:
        return None
    return {"status": plan.status, "approved_by": plan.approved_by, "fill": plan.fill,
            "shipments": [asdict(s) for s in plan.shipments]}  # fmt: skip


@router.get("/markers")
async def markers(
    ops: Ops,
    scope: Scope,
    bbox: Annotated[str, Query(description="west,south,east,north")],
    zoom: Annotated[int, Query(ge=0, le=22)],
) -> dict[str, Any]:
    """Gauges in view: individual markers when zoomed in, grid clusters otherwise."""
    try:
        view = BBox.parse(bbox)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return aggregate([p for p in points(ops.centre) if scope.allows_village(p.village_id)], view, zoom)


@router.get("/geojson")
async def geojson(ops: Ops) -> dict[str, Any]:
    """The scenario's own layers: county boundary, village areas, villages, river."""
    cc = ops.centre
    return layers(list(cc.villages.values()), list(cc.sites.values()), cc.radius_km)


@pages.get("/map")
def map_page() -> FileResponse:
    """The command map page (it signs in through /api/login when needed)."""
    return FileResponse(STATIC / "map.html", headers={"Cache-Control": "no-cache"})


@pages.get("/map/{name}")
def map_asset(name: str) -> FileResponse:
    """The map's script and style."""
    if name not in ("map.js", "map.css"):
        raise HTTPException(404, "not found")
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})
