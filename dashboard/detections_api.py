"""REST reads of detections (alerts as the detectors raised them) and of their accelerometer evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from dashboard.deps import Ctx
from dashboard.place_scope import Scope, place_in_scope

router = APIRouter(prefix="/api", tags=["alerts"], dependencies=[Depends(place_in_scope)])  # others' devices: 404


@router.get("/detections")
def detections(ctx: Ctx, scope: Scope, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Newest detections first (falls after their cancel window, SOS, vitals, home safety...), of the account's
    townships' devices."""
    return ctx.detections.recent(limit, scope.sql)  # a limited account: its newest, not the county's filtered


@router.get("/evidence/{device_id}")
def evidence(ctx: Ctx, device_id: str, impact_ts: float) -> dict[str, Any]:
    """The accelerometer clip stored around one fall (t in s from start_ts; x, y, z in g)."""
    clip = ctx.detections.clip(device_id, impact_ts)
    if clip is None:
        raise HTTPException(status_code=404, detail=f"no evidence for {device_id} at {impact_ts}")
    return clip.to_json()
