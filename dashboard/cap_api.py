"""CAP 1.2 over HTTP (issue 6): the Atom feed of active alerts, each alert's XML, and import from outside.

The feed and the alerts are open (other agencies and sirens poll them without a staff account, as with any
public CAP feed); importing an alert needs the commander (or an admin).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from alerts.disaster.cap import atom_feed, build_alert
from dashboard.deps import Commander, Ops
from devices.i18n import t

MAX_CAP_BYTES = 256 * 1024
feed = APIRouter(tags=["cap"])
router = APIRouter(prefix="/api/cap", tags=["cap"])


@feed.get("/cap/alerts.xml")
async def alerts_feed(ops: Ops, request: Request) -> Response:
    """Atom feed of the alerts in force, each entry linking to its CAP XML."""
    ops.centre.sync()  # issue 14: what another worker sharing the state database issued is in force here too
    now = time.time()
    county = next((v.county for v in ops.centre.villages.values()), "")  # issue 18: 岳麓区生效中的预警
    title = t("cap.feed_title.county", county=county) if county else ""
    body = atom_feed(ops.centre.alerts.active(now), str(request.base_url), now, title)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@feed.get("/cap/alerts/{identifier}.xml")
async def alert_xml(ops: Ops, identifier: str) -> Response:
    """One CAP message issued here (in force or not)."""
    w = ops.centre.alerts.get(identifier)
    if w is None and ops.centre.sync(force=True):  # issued by another worker a moment ago
        w = ops.centre.alerts.get(identifier)
    if w is None:
        raise HTTPException(404, f"no CAP alert {identifier}")
    return Response(build_alert(w), media_type="application/cap+xml; charset=utf-8")


@router.post("/import")
async def import_alert(ops: Ops, _user: Commander, request: Request) -> dict[str, Any]:
    """A CAP 1.2 alert from outside (XML body) raises the warning of the villages it covers."""
    xml = await request.body()
    if len(xml) > MAX_CAP_BYTES:
        raise HTTPException(413, "CAP alert too large")
    try:
        w, areas = ops.centre.import_cap(xml, time.time())
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    levels = {a: int(ops.centre.warnings.area_level(a)) for a in areas}
    return {"identifier": w.identifier, "sender": w.sender, "msg_type": w.msg_type, "areas": areas, "levels": levels}
