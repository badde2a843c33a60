"""Readings of a device, or of everything a resident wears and has at home, over [start, end) as CSV or Parquet.

GET /api/export?device_id=...|resident_id=...&start=...&end=...&format=csv|parquet (epoch s). One row per stored
reading: device_id, family, ts (epoch s), time (UTC; ISO 8601 in CSV, a timestamp in Parquet), seq, and one column
per metric of the store (empty where the message did not carry it). The same table backs `hub export`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Annotated, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from dashboard.deps import Ctx
from devices.registry import Registry
from ingest.store.base import METRICS, StoredReading

router = APIRouter(prefix="/api", tags=["export"])
Format = Literal["csv", "parquet"]
MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
MAX_ROWS_PER_DEVICE = 1_000_000


def devices_of(registry: Registry, device_id: str | None, resident_id: str | None) -> list[str]:
    """The device asked for, or a resident's wearables and the sensors of their home; ValueError if unknown."""
    if (device_id is None) == (resident_id is None):
        raise ValueError("give exactly one of device_id or resident_id")
    registered = registry.list_devices()
    if device_id is not None:
        if device_id not in {d.device_id for d in registered}:
            raise ValueError(f"device {device_id!r} is not registered")
        return [device_id]
    resident = registry.resident(resident_id or "")
    if resident is None:
        raise ValueError(f"resident {resident_id!r} is not registered")
    return [d.device_id for d in registered if d.resident_id == resident.resident_id or d.home_id == resident.home_id]


def to_table(readings: Iterable[StoredReading]) -> pa.Table:
    """Readings as an Arrow table with a fixed schema."""
    rows = list(readings)
    cols: dict[str, pa.Array] = {
        "device_id": pa.array([r.device_id for r in rows], pa.string()),
        "family": pa.array([r.family for r in rows], pa.string()),
        "ts": pa.array([r.ts for r in rows], pa.float64()),
        "time": pa.array([int(r.ts * 1000) for r in rows], pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        "seq": pa.array([r.seq for r in rows], pa.int64()),
    }
    cols.update({m: pa.array([r.values.get(m) for r in rows], pa.float64()) for m in METRICS})
    return pa.table(cols)


def serialise(table: pa.Table, fmt: Format) -> bytes:
    """CSV (header row, ISO times) or Parquet (zstd) bytes of a table."""
    sink = io.BytesIO()
    if fmt == "csv":
        pa_csv.write_csv(table, sink)
    else:
        pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


@router.get("/export")
def export(
    ctx: Ctx,
    start: float,
    end: float,
    device_id: str | None = None,
    resident_id: str | None = None,
    format: Annotated[Format, Query()] = "csv",
) -> Response:
    """Download readings over [start, end) as CSV or Parquet."""
    if start >= end:
        raise HTTPException(status_code=422, detail="start must be before end")
    try:
        devices = devices_of(ctx.registry, device_id, resident_id)
    except ValueError as exc:
        raise HTTPException(status_code=404 if "registered" in str(exc) else 422, detail=str(exc)) from exc
    rows = [r for d in devices for r in ctx.store.range(d, start, end, MAX_ROWS_PER_DEVICE)]
    rows.sort(key=lambda r: (r.ts, r.device_id, r.seq))
    name = f"{device_id or resident_id}_{int(start)}_{int(end)}.{format}"
    return Response(
        serialise(to_table(rows), format),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
