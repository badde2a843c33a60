"""The hotline's phone side: which operator sits on which line, and every call the PBX/CTI reported.

Both are tables in the state database (SQLite or PostgreSQL), so a screen pop finds its operator after a restart
and the calls stay on record for call-backs (回访). An operator takes one line (分机) at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from devices.place_sql import EVERYWHERE, PlaceFilter
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS operator_lines (line TEXT PRIMARY KEY, username TEXT NOT NULL,
        updated_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS hotline_calls (call_id TEXT PRIMARY KEY, caller TEXT NOT NULL, line TEXT NOT NULL,
        resident_id TEXT, operator TEXT, received_at REAL NOT NULL, reported_by TEXT NOT NULL)""",
)


@dataclass(frozen=True, slots=True)
class Call:
    """One incoming call as the PBX reported it, with the resident it was matched to and the operator it went to."""

    call_id: str
    caller: str
    line: str
    resident_id: str | None
    operator: str | None
    received_at: float
    reported_by: str


class CallLog:
    """Operators' lines and the calls of the hotline."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def take_line(self, username: str, line: str) -> None:
        """`username` now answers `line` (and no other); an empty line frees the operator's line."""
        self.db.execute("DELETE FROM operator_lines WHERE username=? OR line=?", [username, line])
        if line:
            self.db.execute("INSERT INTO operator_lines (line, username, updated_at) VALUES (?, ?, ?)",
                            [line, username, time.time()])

    def line_of(self, username: str) -> str:
        """The line an operator answers ('' when none)."""
        rows = self.db.execute("SELECT line FROM operator_lines WHERE username=?", [username])
        return str(rows[0]["line"]) if rows else ""

    def operator_on(self, line: str) -> str | None:
        """The operator who answers `line`, if any."""
        rows = self.db.execute("SELECT username FROM operator_lines WHERE line=?", [line])
        return str(rows[0]["username"]) if rows else None

    def record(self, call: Call) -> bool:
        """Keep a call once (False when the PBX reported this call id already: a retry pops nothing twice)."""
        if self.db.execute("SELECT 1 FROM hotline_calls WHERE call_id=?", [call.call_id]):
            return False
        self.db.execute(
            "INSERT INTO hotline_calls (call_id, caller, line, resident_id, operator, received_at, reported_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [call.call_id, call.caller, call.line, call.resident_id, call.operator, call.received_at,
             call.reported_by])
        return True

    def recent(self, limit: int = 50, places: PlaceFilter | None = None) -> list[dict[str, Any]]:
        """The latest calls, newest first (unmasked: callers mask); with `places`, those of their residents only."""
        cond, params = places.residents("resident_id") if places is not None else EVERYWHERE
        rows = self.db.execute(f"SELECT * FROM hotline_calls WHERE {cond} ORDER BY received_at DESC LIMIT ?",
                               [*params, limit])
        return [dict(r) for r in rows]
