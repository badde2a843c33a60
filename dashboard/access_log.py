"""The access log (issue 8): who read health data or a resident's full identifiers, when, and what.

Append-only (triggers refuse UPDATE and DELETE, on SQLite and, through devices.statedb.pg_dialect, on
PostgreSQL) and hash-chained like the audit log (issue 16, `devices/statedb/chain.py`, `hub audit verify`).
Separate from the incident audit log: that one records what staff did, this one what they saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from devices.statedb import chain
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS access_log (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,
        actor TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL)""",
    """CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON access_log
        BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON access_log
        BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END""",
)
MAX_ROWS = 10_000
ACCESS_CHAINED = ("ts", "actor", "role", "action", "subject", "detail")  # the row's content under its hash


class AccessLog:
    """Appends and lists access records."""

    def __init__(self, db: StateDB, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        db.migrate(DDL)
        chain.migrate(db, "access_log")

    def record(self, actor: str, role: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """Append one access (`action` e.g. 'health_read' or 'identity_view', `subject` the path or resident)."""
        chain.append(self.db, "access_log", ACCESS_CHAINED,
                     [self.clock(), actor, role, action, subject, orjson.dumps(detail).decode()])

    def entries(self, actor: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Newest first, optionally of one member of staff."""
        where, params = ("WHERE actor = ?", [actor]) if actor else ("", [])
        rows = self.db.execute(
            f"SELECT id, ts, actor, role, action, subject, detail FROM access_log {where} ORDER BY id DESC LIMIT ?",
            [*params, min(limit, MAX_ROWS)],
        )
        return [{**dict(r), "detail": orjson.loads(r["detail"])} for r in rows]
