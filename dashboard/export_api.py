"""Readings of a device, or of everything a resident wears and has at home, over [start, end) as CSV, Excel or Parquet.

GET /api/export?device_id=...|resident_id=...&start=...&end=...&format=csv|xlsx|parquet (epoch s). One row per stored
reading: device_id, family, ts (epoch s), time (UTC; ISO 8601 in CSV and Excel, a timestamp in Parquet), time_local
(China Standard Time), seq, and one column per metric of the store (empty where the message did not carry it). CSV
and Excel are headed in the requester's language (their saved choice, else the hub's); Parquet keeps the column
names for tools. The same table backs `hub export`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from dashboard.deps import Auth, Ctx, Staff
from dashboard.i18n_api import user_language
from dashboard.place_scope import Scope, registered
from ingest.store.export import MAX_ROWS_PER_DEVICE, Format, devices_of, serialise, to_table

router = APIRouter(prefix="/api", tags=["export"])
MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/export")
def export(
    ctx: Ctx,
    user: Staff,
    auth: Auth,
    scope: Scope,
    start: float,
    end: float,
    device_id: str | None = None,
    resident_id: str | None = None,
    format: Annotated[Format, Query()] = "csv",
) -> Response:
    """Download readings over [start, end) as CSV, Excel or Parquet."""
    if start >= end:
        raise HTTPException(status_code=422, detail="start must be before end")
    try:
        devices = devices_of(ctx.registry, device_id, resident_id)
    except ValueError as exc:
        raise HTTPException(status_code=404 if "registered" in str(exc) else 422, detail=str(exc)) from exc
    known = registered(ctx.registry)
    if resident_id is not None and not scope.allows_resident(resident_id):
        raise HTTPException(status_code=404, detail=f"resident {resident_id!r} is not registered")  # another township's
    if device_id is not None and not scope.allows_device(known[device_id]):
        raise HTTPException(status_code=404, detail=f"device {device_id!r} is not registered")
    rows = [r for d in devices for r in ctx.store.range(d, start, end, MAX_ROWS_PER_DEVICE)]
    rows.sort(key=lambda r: (r.ts, r.device_id, r.seq))
    name = f"{device_id or resident_id}_{int(start)}_{int(end)}.{format}"
    return Response(
        serialise(to_table(rows), format, user_language(auth, user)),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
