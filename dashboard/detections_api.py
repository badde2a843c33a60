"""REST reads of detections (alerts as the detectors raised them) and of their accelerometer evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from dashboard.deps import Ctx

router = APIRouter(prefix="/api", tags=["alerts"])


@router.get("/detections")
def detections(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Newest detections first (falls after their cancel window, SOS, vitals, home safety...)."""
    return ctx.detections.recent(limit)


@router.get("/evidence/{device_id}")
def evidence(ctx: Ctx, device_id: str, impact_ts: float) -> dict[str, Any]:
    """The accelerometer clip stored around one fall (t in s from start_ts; x, y, z in g)."""
    clip = ctx.detections.clip(device_id, impact_ts)
    if clip is None:
        raise HTTPException(status_code=404, detail=f"no evidence for {device_id} at {impact_ts}")
    return clip.to_json()
