"""Stored readings as a table for people's tools: an Arrow table with a fixed schema, written as CSV or Parquet.

Shared by `GET /api/export` (dashboard/export_api.py) and `hub export`: one row per stored reading, device_id,
family, ts (epoch s), time (UTC; ISO 8601 in CSV, a timestamp in Parquet), seq, and one column per stored metric.

Issue 16: a text cell that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return)
is written with a leading `'` (`ingest/store/cells.py`), in CSV here and in the command room's CSV and XLSX roll-ups.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from devices.registry import Registry
from ingest.store.base import METRICS, StoredReading
from ingest.store.cells import FORMULA_PATTERN

Format = Literal["csv", "parquet"]
MAX_ROWS_PER_DEVICE = 1_000_000


def _safe_column(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """spreadsheet_safe over a string column, vectorised."""
    risky = pc.match_substring_regex(col, FORMULA_PATTERN)
    return pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)


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
        for i, f in enumerate(table.schema):
            if pa.types.is_string(f.type):
                table = table.set_column(i, f, _safe_column(table.column(i)))
        pa_csv.write_csv(table, sink)
    else:
        pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()
