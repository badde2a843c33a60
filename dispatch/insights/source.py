"""The state database's tables the statistics need, pulled column-wise as Arrow and handed to DuckDB.

DuckDB's own SQLite and PostgreSQL scanners are extensions it downloads on first use, which an offline hub cannot
do; the ADBC drivers (adbc-driver-sqlite, adbc-driver-postgresql, from PyPI with their C libraries inside the wheel)
answer a query as an Arrow table straight from the database's C client, so no row becomes a Python object and one
code path serves both databases. Only the period's incidents (and their alerts and lifecycle entries) and the small
registry tables are read; every figure is then DuckDB SQL over these tables (`dispatch/insights/figures.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import adbc_driver_postgresql.dbapi
import adbc_driver_sqlite.dbapi
import duckdb
import pyarrow as pa

from devices.statedb.postgres import PgStateDB
from devices.statedb.sqlite import StateDB

# The lifecycle entries of the audit log that carry a stage's time (dispatch/desk.py and IncidentService.move)
STAGE_ACTIONS = ("on_scene", "resolved")


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open span of UTC epoch seconds: [start, end)."""

    start: float
    end: float


def _queries(window: Window) -> dict[str, str]:
    """Name -> SQL (both dialects) of every table the figures read; the bounds are floats, written literally."""
    start, end = float(window.start), float(window.end)
    period = f"opened_at >= {start!r} AND opened_at < {end!r}"
    actions = ", ".join(f"'{a}'" for a in STAGE_ACTIONS)
    return {
        "incidents": "SELECT id, kind, severity, resident_id, home_id, device_id, opened_at, acked_at, dispatched_at,"
        f" outcome FROM incidents WHERE {period}",
        "alerts": "SELECT a.id, a.incident_id, a.received_at, a.detector FROM incident_alerts a"
        f" WHERE a.incident_id IN (SELECT id FROM incidents WHERE {period})",
        "stages": f"SELECT incident_id, action, ts FROM audit_log WHERE action IN ({actions}) AND ts >= {start!r}"
        " AND incident_id IS NOT NULL",
        "villages": "SELECT village_id, name, township, code FROM villages",
        "homes": "SELECT home_id, village_id FROM homes",
        "residents": "SELECT resident_id, home_id FROM residents",
        "devices": "SELECT device_id, kind, worn_at FROM devices",
    }


def _connect(db: StateDB) -> Callable[[], Any]:
    if isinstance(db, PgStateDB):
        return lambda: adbc_driver_postgresql.dbapi.connect(db.url)
    uri = f"file:{quote(str(db.path))}?mode=ro"  # read-only; WAL lets it read beside the hub's writer
    return lambda: adbc_driver_sqlite.dbapi.connect(uri)


def fetch(db: StateDB, window: Window) -> dict[str, pa.Table]:
    """The tables of the figures for incidents opened in `window`, as Arrow tables."""
    tables: dict[str, pa.Table] = {}
    with _connect(db)() as conn, conn.cursor() as cur:
        for name, sql in _queries(window).items():
            cur.execute(sql)
            tables[name] = cur.fetch_arrow_table()
    return tables


# Typed views over the pulled tables: an empty answer may come back without column types
VIEWS = {
    "incidents": "CAST(id AS BIGINT) AS id, CAST(kind AS VARCHAR) AS kind, CAST(severity AS VARCHAR) AS severity,"
    " CAST(resident_id AS VARCHAR) AS resident_id, CAST(home_id AS VARCHAR) AS home_id,"
    " CAST(device_id AS VARCHAR) AS device_id, CAST(opened_at AS DOUBLE) AS opened_at,"
    " CAST(acked_at AS DOUBLE) AS acked_at, CAST(dispatched_at AS DOUBLE) AS dispatched_at,"
    " CAST(outcome AS VARCHAR) AS outcome",
    "alerts": "CAST(id AS BIGINT) AS id, CAST(incident_id AS BIGINT) AS incident_id,"
    " CAST(received_at AS DOUBLE) AS received_at, CAST(detector AS VARCHAR) AS detector",
    "stages": "CAST(incident_id AS BIGINT) AS incident_id, CAST(action AS VARCHAR) AS action, CAST(ts AS DOUBLE) AS ts",
    "villages": "CAST(village_id AS VARCHAR) AS village_id, CAST(name AS VARCHAR) AS name,"
    " CAST(township AS VARCHAR) AS township, CAST(code AS VARCHAR) AS code",
    "homes": "CAST(home_id AS VARCHAR) AS home_id, CAST(village_id AS VARCHAR) AS village_id",
    "residents": "CAST(resident_id AS VARCHAR) AS resident_id, CAST(home_id AS VARCHAR) AS home_id",
    "devices": "CAST(device_id AS VARCHAR) AS device_id, CAST(kind AS VARCHAR) AS kind,"
    " CAST(worn_at AS VARCHAR) AS worn_at",
}


def load(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> None:
    """Register the Arrow tables in DuckDB as typed views named `raw_<table>` → `<table>`."""
    for name, columns in VIEWS.items():
        con.register(f"raw_{name}", tables[name])
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {columns} FROM raw_{name}")
