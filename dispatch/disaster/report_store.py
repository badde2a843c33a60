"""Village disaster reports in the state database (issue 14, item 4): events and every accepted version.

The `ReportBook` (alerts/disaster/reports.py) writes through this store as each change happens: an event declared
by a commander (or named by a village's initial report, undeclared), widened to a village, marked stable, or
checked past a deadline; each report version (初报, 续报, 核报) before it counts. `load_into` gives a new book
everything an earlier run saved, so `kill -9` loses no report and no deadline is raised twice. SQLite and
PostgreSQL alike (the `?` dialect of `devices/statedb`).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from alerts.disaster.reports import DisasterEvent, ReportBook, VillageReport
from devices.schemas import ReportIndicators
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS report_events (event_id TEXT PRIMARY KEY, hazard TEXT NOT NULL,
        started_at REAL NOT NULL, villages TEXT NOT NULL, stabilised_at REAL, checked_until REAL NOT NULL,
        declared INTEGER NOT NULL, declared_by TEXT NOT NULL, stabilised_by TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS report_versions (event_id TEXT NOT NULL, village_id TEXT NOT NULL,
        version INTEGER NOT NULL, stage TEXT NOT NULL, hazard TEXT NOT NULL, ts REAL NOT NULL,
        indicators TEXT NOT NULL, zero INTEGER NOT NULL, corrected INTEGER NOT NULL, officer TEXT,
        note TEXT, seq INTEGER NOT NULL, PRIMARY KEY (event_id, village_id, version))""",
    # issue 14: each overdue report (event, village, stage, deadline) is raised by one worker only
    """CREATE TABLE IF NOT EXISTS report_overdue (event_id TEXT NOT NULL, village_id TEXT NOT NULL,
        stage TEXT NOT NULL, due REAL NOT NULL, raised_at REAL NOT NULL,
        PRIMARY KEY (event_id, village_id, stage, due))""",
)
# issue 14: events a commander named and closed (columns added to a table made by an earlier version)
EVENT_COLUMNS = (("name", "TEXT NOT NULL DEFAULT ''"), ("closed_at", "REAL"),
                 ("closed_by", "TEXT NOT NULL DEFAULT ''"), ("close_note", "TEXT NOT NULL DEFAULT ''"))  # fmt: skip
_json = msgspec.json.Encoder()
_indicators = msgspec.json.Decoder(ReportIndicators)
_villages = msgspec.json.Decoder(list[str])


class ReportStore:
    """Reads and writes the report_* tables; a `ReportSink` for the book."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)
        for column, decl in EVENT_COLUMNS:
            db.add_column("report_events", column, decl)
        db.add_column("report_versions", "device_ts", "REAL")  # issue 14: a terminal's own time, for the record

    def save_event(self, e: DisasterEvent) -> None:
        """The event as it stands now."""
        self.db.execute(
            "INSERT OR REPLACE INTO report_events (event_id, hazard, started_at, villages, stabilised_at,"
            " checked_until, declared, declared_by, stabilised_by, name, closed_at, closed_by, close_note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [e.event_id, e.hazard, e.started_at, _json.encode(e.villages).decode(), e.stabilised_at,
             e.checked_until, int(e.declared), e.declared_by, e.stabilised_by, e.name, e.closed_at, e.closed_by,
             e.close_note],
        )  # fmt: skip

    def save_report(self, r: VillageReport) -> None:
        """One accepted version (a version number is never written twice: the key refuses it), at the next
        position of the shared order that other workers read with `reports_since`."""
        rows = self.db.execute("SELECT MAX(seq) AS seq FROM report_versions")
        seq = (int(rows[0]["seq"] or 0) if rows else 0) + 1
        self.db.execute(
            "INSERT INTO report_versions (event_id, village_id, version, stage, hazard, ts, indicators, zero,"
            " corrected, officer, note, seq, device_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [r.event_id, r.village_id, r.version, r.stage, r.hazard, r.ts, _json.encode(r.indicators).decode(),
             int(r.zero), int(r.corrected), r.officer, r.note, seq, r.device_ts],
        )  # fmt: skip

    def claim_overdue(self, event_id: str, village_id: str, stage: str, due: float) -> bool:
        """The overdue report's row, written once: True for the worker whose insert made it (it raises the
        detection), False for any other (a second worker, or a run after a restart)."""
        rows = self.db.execute(
            "INSERT OR IGNORE INTO report_overdue (event_id, village_id, stage, due, raised_at) VALUES (?, ?, ?, ?, ?)"
            " RETURNING event_id", [event_id, village_id, stage, due, time.time()])  # fmt: skip
        return bool(rows)

    def reports_since(self, seq: int) -> list[tuple[int, VillageReport]]:
        """(position, version) of the versions at `seq` or later (two workers may share a position)."""
        rows = self.db.execute("SELECT * FROM report_versions WHERE seq >= ? ORDER BY seq", [seq])
        return [(int(r["seq"]), _report(r)) for r in rows]

    def max_seq(self) -> int:
        """The newest position in report_versions (0 when empty)."""
        rows = self.db.execute("SELECT MAX(seq) AS seq FROM report_versions")
        return int(rows[0]["seq"] or 0) if rows else 0

    def events(self) -> list[DisasterEvent]:
        """Every saved event, oldest first."""
        rows = self.db.execute("SELECT * FROM report_events ORDER BY started_at, event_id")
        return [_event(r) for r in rows]

    def reports(self) -> list[VillageReport]:
        """Every saved version, in order per (event, village)."""
        rows = self.db.execute("SELECT * FROM report_versions ORDER BY event_id, village_id, version")
        return [_report(r) for r in rows]

    def load_into(self, book: ReportBook) -> ReportBook:
        """Give `book` what was saved, then save its every change here."""
        book.restore(self.events(), self.reports())
        book.sink = self
        return book


def _event(r: Any) -> DisasterEvent:
    return DisasterEvent(
        r["event_id"], r["hazard"], float(r["started_at"]), _villages.decode(r["villages"]),
        None if r["stabilised_at"] is None else float(r["stabilised_at"]), float(r["checked_until"]),
        bool(r["declared"]), r["declared_by"], r["stabilised_by"], r["name"] or "",
        None if r["closed_at"] is None else float(r["closed_at"]), r["closed_by"] or "", r["close_note"] or "",
    )  # fmt: skip


def _report(r: Any) -> VillageReport:
    return VillageReport(
        r["event_id"], r["village_id"], r["stage"], r["hazard"], float(r["ts"]), int(r["version"]),
        _indicators.decode(r["indicators"]), bool(r["zero"]), bool(r["corrected"]), r["officer"], r["note"],
        None if r["device_ts"] is None else float(r["device_ts"]),
    )  # fmt: skip


SCOPE_DDL = (
    """CREATE TABLE IF NOT EXISTS reporter_villages (username TEXT NOT NULL, village_id TEXT NOT NULL,
        granted_by TEXT NOT NULL, granted_at REAL NOT NULL, PRIMARY KEY (username, village_id))""",
)


class ReporterScopes:
    """The villages each `reporter` account files reports for (issue 14), set by an admin."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(SCOPE_DDL)

    def grant(self, username: str, villages: list[str], actor: str, ts: float) -> None:
        """The account's villages from now on (replacing the earlier list)."""
        self.db.execute("DELETE FROM reporter_villages WHERE username = ?", [username])
        self.db.executemany(
            "INSERT INTO reporter_villages (username, village_id, granted_by, granted_at) VALUES (?, ?, ?, ?)",
            [(username, v, actor, ts) for v in sorted(set(villages))],
        )

    def villages(self, username: str) -> list[str]:
        """The account's villages (none: it may file nothing)."""
        rows = self.db.execute("SELECT village_id FROM reporter_villages WHERE username = ? ORDER BY 1", [username])
        return [r["village_id"] for r in rows]
