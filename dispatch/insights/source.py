"""The state database's tables the statistics need, pulled column-wise as Arrow and handed to DuckDB.

DuckDB's own SQLite and PostgreSQL scanners are extensions it downloads on first use, which an offline hub cannot
do; the ADBC drivers (adbc-driver-sqlite, adbc-driver-postgresql, from PyPI with their C libraries inside the wheel)
answer a query as an Arrow table straight from the database's C client, so no row becomes a Python object and one
code path serves both databases. Only the period's incidents (and their alerts and lifecycle entries), service
orders (their completions and call-backs), disaster reports, evacuation tasks and relief plans, and the small
registry tables are read; the fleet's last readings come from the telemetry store as one Arrow table
(`TimeSeriesStore.device_status`); every figure is then DuckDB SQL over these tables (`dispatch/insights/figures.py`).
"""

from __future__ import annotations

import re
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
from ingest.store.base import TimeSeriesStore

# The lifecycle entries of the audit log that carry a stage's time (dispatch/desk.py and IncidentService.move)
STAGE_ACTIONS = ("on_scene", "resolved")


# How far back the fleet figures look for a device's last reading: a day, the longest silence they tell apart (a device
# not heard from in it is silent for more than a day; its battery is then not judged); the bound keeps the telemetry
# scan to one day of readings however long the store keeps them
FLEET_LOOKBACK_S = 86400.0


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
        "devices": "SELECT device_id, kind, worn_at, resident_id, home_id, village_id, active FROM devices",
    }


def _optional_queries(window: Window) -> dict[str, tuple[str, str]]:
    """Name -> (the table it needs, SQL) of the tables of the services and disaster figures: a hub creates them as
    its parts start, so a database without one (a test's, a registry-only one) reads as that table empty."""
    start, end = float(window.start), float(window.end)
    ordered = f"requested_at >= {start!r} AND requested_at < {end!r}"
    orders = f"SELECT incident_id FROM service_orders WHERE {ordered}"
    reported = f"SELECT event_id FROM report_versions WHERE ts >= {start!r} AND ts < {end!r}"
    touched = f"SELECT warning_id FROM command_tasks WHERE updated_at >= {start!r} AND updated_at < {end!r}"
    return {
        "orders": ("service_orders", "SELECT o.incident_id, o.service, o.requested_at, o.responder_id, i.resident_id,"
                   f" i.home_id FROM service_orders o LEFT JOIN incidents i ON i.id = o.incident_id WHERE {ordered}"),
        "completions": ("service_completions", "SELECT c.incident_id, c.service, c.responder_id, c.resident_id,"
                        " i.home_id, c.category, c.price_cny, c.subsidy_cny, c.copay_cny, c.done_at"
                        " FROM service_completions c LEFT JOIN incidents i ON i.id = c.incident_id"
                        f" WHERE (c.done_at >= {start!r} AND c.done_at < {end!r}) OR c.incident_id IN ({orders})"),
        "callbacks": ("caring_calls", "SELECT about_incident, satisfaction, done_at FROM caring_calls"
                      f" WHERE kind = 'satisfaction' AND satisfaction IS NOT NULL AND about_incident IN ({orders})"),
        "responders": ("responders", "SELECT responder_id, name FROM responders"),
        "report_events": ("report_events", "SELECT event_id, hazard, started_at FROM report_events"
                          f" WHERE event_id IN ({reported})"),
        "report_versions": ("report_versions", "SELECT event_id, village_id, version, stage, ts, indicators"
                            f" FROM report_versions WHERE ts < {end!r} AND event_id IN ({reported})"),
        "evac_tasks": ("command_tasks", "SELECT task_id, warning_id, village_id, kind, state, updated_at"
                       f" FROM command_tasks WHERE warning_id IN ({touched})"),
        "relief_plans": ("relief_plans", "SELECT plan_id, body, approved_at FROM relief_plans WHERE status = 'approved'"
                         f" AND approved_at >= {start!r} AND approved_at < {end!r}"),
        "relief_receipts": ("relief_receipts", "SELECT plan_id, village_id, ts FROM relief_receipts WHERE plan_id IN"
                            " (SELECT plan_id FROM relief_plans WHERE status = 'approved'"
                            f" AND approved_at >= {start!r} AND approved_at < {end!r})"),
    }


# The ADBC SQLite driver types each column from the values of its first batch (1,024 rows by default): a column NULL
# in all of them (the demo's first 1,600 devices have no village) becomes INT64, and the first village id then fails
# the read ("Type mismatch ... expected INT64 but got STRING"). One batch of the whole result types it from every row.
SQLITE_BATCH_ROWS = "adbc.sqlite.query.batch_rows"
SQLITE_ONE_BATCH = 100_000_000

TABLE_NAMES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()",
}


def _connect(db: StateDB) -> Callable[[], Any]:
    if isinstance(db, PgStateDB):
        return lambda: adbc_driver_postgresql.dbapi.connect(db.url)
    uri = f"file:{quote(str(db.path))}?mode=ro"  # read-only; WAL lets it read beside the hub's writer
    return lambda: adbc_driver_sqlite.dbapi.connect(uri)


def _empty(name: str) -> pa.Table:
    """A table of the view's columns and no rows (its types come from the view's casts)."""
    columns = re.findall(r" AS (\w+)(?:,|$)", VIEWS[name])
    return pa.table({c: pa.array([], pa.null()) for c in columns})


def fetch(db: StateDB, window: Window, store: TimeSeriesStore | None = None, as_of: float | None = None
          ) -> dict[str, pa.Table]:  # fmt: skip
    """The tables of the figures for incidents opened in `window`, as Arrow tables; with a telemetry store, each
    device's last reading and battery in the day up to `as_of` (default: the window's end) as the table `fleet`."""
    tables: dict[str, pa.Table] = {}
    with _connect(db)() as conn, conn.cursor() as cur:
        if not isinstance(db, PgStateDB):  # SQLite has no column types: the driver infers them from the first batch,
            cur.adbc_statement.set_options(**{SQLITE_BATCH_ROWS: str(SQLITE_ONE_BATCH)})  # so read all in one
        cur.execute(TABLE_NAMES["postgresql" if isinstance(db, PgStateDB) else "sqlite"])
        present = set(cur.fetch_arrow_table().column("name").to_pylist())
        for name, sql in _queries(window).items():
            cur.execute(sql)
            tables[name] = cur.fetch_arrow_table()
        for name, (needs, sql) in _optional_queries(window).items():
            if needs in present and (name != "orders" or "incidents" in present):
                cur.execute(sql)
                tables[name] = cur.fetch_arrow_table()
            else:
                tables[name] = _empty(name)
    until = window.end if as_of is None else as_of
    tables["fleet"] = store.device_status(until - FLEET_LOOKBACK_S, until) if store is not None else _empty("fleet")
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
    " CAST(worn_at AS VARCHAR) AS worn_at, CAST(resident_id AS VARCHAR) AS resident_id,"
    " CAST(home_id AS VARCHAR) AS home_id, CAST(village_id AS VARCHAR) AS village_id, CAST(active AS BIGINT) AS active",
    "orders": "CAST(incident_id AS BIGINT) AS incident_id, CAST(service AS VARCHAR) AS service,"
    " CAST(requested_at AS DOUBLE) AS requested_at, CAST(responder_id AS VARCHAR) AS responder_id,"
    " CAST(resident_id AS VARCHAR) AS resident_id, CAST(home_id AS VARCHAR) AS home_id",
    "completions": "CAST(incident_id AS BIGINT) AS incident_id, CAST(service AS VARCHAR) AS service,"
    " CAST(responder_id AS VARCHAR) AS responder_id, CAST(resident_id AS VARCHAR) AS resident_id,"
    " CAST(home_id AS VARCHAR) AS home_id, CAST(category AS VARCHAR) AS category,"
    " CAST(price_cny AS DOUBLE) AS price_cny, CAST(subsidy_cny AS DOUBLE) AS subsidy_cny,"
    " CAST(copay_cny AS DOUBLE) AS copay_cny, CAST(done_at AS DOUBLE) AS done_at",
    "callbacks": "CAST(about_incident AS BIGINT) AS about_incident, CAST(satisfaction AS DOUBLE) AS satisfaction,"
    " CAST(done_at AS DOUBLE) AS done_at",
    "responders": "CAST(responder_id AS VARCHAR) AS responder_id, CAST(name AS VARCHAR) AS name",
    "report_events": "CAST(event_id AS VARCHAR) AS event_id, CAST(hazard AS VARCHAR) AS hazard,"
    " CAST(started_at AS DOUBLE) AS started_at",
    "report_versions": "CAST(event_id AS VARCHAR) AS event_id, CAST(village_id AS VARCHAR) AS village_id,"
    " CAST(version AS BIGINT) AS version, CAST(stage AS VARCHAR) AS stage, CAST(ts AS DOUBLE) AS ts,"
    " CAST(indicators AS VARCHAR) AS indicators",
    "evac_tasks": "CAST(task_id AS VARCHAR) AS task_id, CAST(warning_id AS VARCHAR) AS warning_id,"
    " CAST(village_id AS VARCHAR) AS village_id, CAST(kind AS VARCHAR) AS kind, CAST(state AS VARCHAR) AS state,"
    " CAST(updated_at AS DOUBLE) AS updated_at",
    "relief_plans": "CAST(plan_id AS VARCHAR) AS plan_id, CAST(body AS VARCHAR) AS body,"
    " CAST(approved_at AS DOUBLE) AS approved_at",
    "relief_receipts": "CAST(plan_id AS VARCHAR) AS plan_id, CAST(village_id AS VARCHAR) AS village_id,"
    " CAST(ts AS DOUBLE) AS ts",
    "fleet": "CAST(device_id AS VARCHAR) AS device_id, CAST(last_seen AS DOUBLE) AS last_seen,"
    " CAST(battery AS DOUBLE) AS battery",
}


def load(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> None:
    """Register the Arrow tables in DuckDB as typed views named `raw_<table>` → `<table>`."""
    for name, columns in VIEWS.items():
        con.register(f"raw_{name}", tables[name])
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {columns} FROM raw_{name}")
