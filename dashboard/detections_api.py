"""REST reads of detections (alerts as the detectors raised them) and of their accelerometer evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from dashboard.context import HubContext

router = APIRouter(prefix="/api", tags=["alerts"])


def _ctx(request: Request) -> HubContext:
    return request.app.state.ctx


@router.get("/detections")
def detections(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Newest detections first (falls after their cancel window, SOS, vitals, home safety...)."""
    return _ctx(request).detections.recent(limit)


@router.get("/evidence/{device_id}")
def evidence(request: Request, device_id: str, impact_ts: float) -> dict[str, Any]:
    """The accelerometer clip stored around one fall (t in s from start_ts; x, y, z in g)."""
    clip = _ctx(request).detections.clip(device_id, impact_ts)
    if clip is None:
        raise HTTPException(status_code=404, detail=f"no evidence for {device_id} at {impact_ts}")
    return clip.to_json()
