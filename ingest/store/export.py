"""Stored readings as a table for people's tools: an Arrow table with a fixed schema, written as CSV, Excel or Parquet.

Shared by `GET /api/export` (dashboard/export_api.py) and `hub export`: one row per stored reading, device_id,
family, ts (epoch s), time (UTC; ISO 8601 in CSV and Excel, a timestamp in Parquet), time_local (China Standard Time,
`YYYY-MM-DD HH:mm:ss`, for the people reading it), seq, and one column per stored metric.

CSV and Excel are for people: their header row is in the reader's language (devices/i18n/*.exports.json: 设备编号,
时间（北京时间）, 心率（次/分）...), and the CSV starts with a BOM so that Excel reads the Chinese. Parquet is for
tools and keeps the column names above.

Issue 16: a text cell that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return)
is written with a leading `'` (`ingest/store/cells.py`), in CSV here and in the command room's CSV and XLSX roll-ups.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from devices.i18n import local_time, t
from devices.registry import Registry
from ingest.store.base import METRICS, StoredReading
from ingest.store.cells import FORMULA_PATTERN, spreadsheet_safe

Format = Literal["csv", "xlsx", "parquet"]
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
        "time_local": pa.array([local_time(r.ts) for r in rows], pa.string()),
        "seq": pa.array([r.seq for r in rows], pa.int64()),
    }
    cols.update({m: pa.array([r.values.get(m) for r in rows], pa.float64()) for m in METRICS})
    return pa.table(cols)


def headers(names: Iterable[str], language: str | None = None) -> list[str]:
    """The people's names of the columns in `language` (the hub's by default)."""
    return [t(f"export.col.{name}", language) for name in names]


def _xlsx(table: pa.Table, language: str | None) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(t("export.sheet.readings", language))
    ws.append(headers(table.column_names, language))
    for row in table.to_pylist():
        ws.append([_cell(v) for v in row.values()])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(value: object) -> object:
    """A value as an Excel cell: UTC times as text (Excel has no time zones), text formula-safe."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return spreadsheet_safe(value)


def serialise(table: pa.Table, fmt: Format, language: str | None = None) -> bytes:
    """CSV (a BOM, a header row in `language`, ISO times), Excel (the same) or Parquet (zstd) bytes of a table."""
    if fmt == "parquet":
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        return sink.getvalue()
    for i, f in enumerate(table.schema):
        if pa.types.is_string(f.type):
            table = table.set_column(i, f, _safe_column(table.column(i)))
    if fmt == "xlsx":
        return _xlsx(table, language)
    sink = io.BytesIO()
    pa_csv.write_csv(table.rename_columns(headers(table.column_names, language)), sink)
    return "\ufeff".encode() + sink.getvalue()
