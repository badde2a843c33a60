"""REST reads of telemetry and of the dead-letter table."""

from __future__ import annotations

import base64
import time
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from dashboard.deps import Ctx
from dashboard.place_scope import COUNTY_ONLY, Scope, place_in_scope, registered

router = APIRouter(prefix="/api", tags=["readings"], dependencies=[Depends(place_in_scope)])  # others' devices: 404


@router.get("/readings/latest")
def latest(ctx: Ctx, scope: Scope, device_id: Annotated[list[str] | None, Query()] = None) -> list[dict[str, Any]]:
    """The newest reading of each device (or of the listed devices) of the account's townships."""
    found = ctx.store.latest(device_id)
    if scope.limited:
        known = registered(ctx.registry)
        found = [r for r in found if r.device_id in known and scope.allows_device(known[r.device_id])]
    return [asdict(r) for r in found]


@router.get("/devices/{device_id}/readings")
def device_range(ctx: Ctx, device_id: str, start: float | None = None, end: float | None = None,
                 limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> list[dict[str, Any]]:
    """A device's readings in [start, end) (epoch s; default the last hour), oldest first."""
    if device_id not in {d.device_id for d in ctx.registry.list_devices()}:
        raise HTTPException(status_code=404, detail=f"device {device_id!r} is not registered")
    end = time.time() + 60 if end is None else end
    start = end - 3600 if start is None else start
    if start >= end:
        raise HTTPException(status_code=422, detail="start must be before end")
    return [asdict(r) for r in ctx.store.range(device_id, start, end, limit)]


@router.get("/stats")
def stats(ctx: Ctx) -> dict[str, Any]:
    """Ingest counters, dead letters per reason, and the hub's security warnings (issue 16: an anonymous broker)."""
    return {"ingest": ctx.stats_dict(), "dead_letters": ctx.journal.dead_letter_counts(),
            "stored_total": ctx.store.count(), "warnings": list(ctx.warnings)}


@router.get("/dead-letters")
def dead_letters(ctx: Ctx, scope: Scope, reason: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Rejected messages with their reasons, newest first (payload base64, first 4 KiB). The county's: a rejected
    message belongs to no township (unknown devices, malformed topics), so 403 for an account limited to some."""
    if scope.limited:
        raise HTTPException(status_code=403, detail=COUNTY_ONLY)
    rows = ctx.journal.dead_letters(reason, limit)
    return [{**asdict(r), "payload": base64.b64encode(r.payload).decode()} for r in rows]
