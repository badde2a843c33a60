"""Caring calls (关爱回访): a weekly call to every resident who lives alone, as a task on the console; and the
satisfaction call-back (满意度回访) after each completed service order (kind `satisfaction`, with a 1-5 rating).

The task is due when planned; the operator records its outcome: `well`; `needs_help` (an incident opens for the
resident, kind `caring_call`, and takes its course like any alert); or `no_answer`, tried again after `RETRY_S`
until `MAX_ATTEMPTS`, when the call counts as missed and an incident `caring_call_missed` opens, which the
escalation timers then follow like an alert. Tasks live in the state database (SQLite or PostgreSQL).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from alerts.detection import Detection, Severity
from alerts.incidents.service import IncidentService
from devices.place_sql import EVERYWHERE, PlaceFilter
from devices.registry import Registry
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS caring_calls (id INTEGER PRIMARY KEY AUTOINCREMENT, resident_id TEXT NOT NULL,
        due_at REAL NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, outcome TEXT,
        note TEXT NOT NULL DEFAULT '', done_by TEXT, done_at REAL, incident_id INTEGER,
        kind TEXT NOT NULL DEFAULT 'caring', about_incident INTEGER, satisfaction INTEGER)""",
    "CREATE INDEX IF NOT EXISTS caring_calls_due ON caring_calls (state, due_at)",
)
EVERY_S = 7 * 86_400.0  # weekly
RETRY_S = 3600.0  # no answer: try again in an hour
MAX_ATTEMPTS = 3
OUTCOMES = ("well", "needs_help", "no_answer")


class CaringCallError(ValueError):
    """An unknown task (404) or one already done (409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class CaringCalls:
    """Plans the weekly calls and records their outcomes."""

    def __init__(self, db: StateDB, registry: Registry, incidents: IncidentService | None,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.registry, self.incidents, self.clock = db, registry, incidents, clock
        db.migrate(DDL)

    def plan(self) -> int:
        """A due task for each resident living alone whose last call is a week old (or who never had one)."""
        now = self.clock()
        rows = self.db.execute(
            "SELECT r.resident_id FROM residents r WHERE r.lives_alone = 1 AND NOT EXISTS (SELECT 1 FROM caring_calls "
            "c WHERE c.resident_id = r.resident_id AND c.kind = 'caring' AND (c.state = 'due' OR c.done_at > ?)) "
            "ORDER BY r.resident_id",
            [now - EVERY_S])
        self.db.executemany("INSERT INTO caring_calls (resident_id, due_at, state) VALUES (?, ?, 'due')",
                            [(str(r["resident_id"]), now) for r in rows])
        return len(rows)

    def add_followup(self, resident_id: str, incident_id: int) -> int:
        """A satisfaction call-back about a completed service order, due now; its task id."""
        self.db.execute("INSERT INTO caring_calls (resident_id, due_at, state, kind, about_incident) "
                        "VALUES (?, ?, 'due', 'satisfaction', ?)", [resident_id, self.clock(), incident_id])
        rows = self.db.execute("SELECT max(id) AS id FROM caring_calls WHERE about_incident=?", [incident_id])
        return int(rows[0]["id"])

    def due(self, limit: int = 100, places: PlaceFilter | None = None) -> list[dict[str, Any]]:
        """Tasks to call now, longest waiting first, with the resident's name and village; with `places`, those of
        their residents only."""
        cond, params = places.residents("c.resident_id") if places is not None else EVERYWHERE
        rows = self.db.execute(
            "SELECT c.*, r.name, r.name_pinyin, h.address FROM caring_calls c JOIN residents r ON "
            "r.resident_id = c.resident_id LEFT JOIN homes h ON h.home_id = r.home_id WHERE c.state = 'due' AND "
            f"c.due_at <= ? AND {cond} ORDER BY c.due_at, c.id LIMIT ?", [self.clock(), *params, limit])
        return [dict(r) for r in rows]

    def get(self, task_id: int) -> dict[str, Any]:
        """One task; CaringCallError 404 when unknown."""
        rows = self.db.execute("SELECT * FROM caring_calls WHERE id=?", [task_id])
        if not rows:
            raise CaringCallError(404, f"no caring call {task_id}")
        return dict(rows[0])

    def record(self, task_id: int, actor: str, outcome: str, note: str = "",
               satisfaction: int | None = None) -> dict[str, Any]:
        """The outcome of one call attempt (see the module's docstring); the task as it is now."""
        task = self.get(task_id)
        if task["state"] != "due":
            raise CaringCallError(409, f"caring call {task_id} is {task['state']}")
        now, attempts = self.clock(), int(task["attempts"]) + 1
        state, due_at, kind = "done", float(task["due_at"]), ""
        if outcome == "needs_help":
            kind = "caring_call"
        elif outcome == "no_answer":
            state, due_at = ("missed", due_at) if attempts >= MAX_ATTEMPTS else ("due", now + RETRY_S)
            kind = "caring_call_missed" if state == "missed" else ""
        incident_id = self._open(task, kind, note, now) if kind else None
        self.db.execute("UPDATE caring_calls SET state=?, due_at=?, attempts=?, outcome=?, note=?, done_by=?, "
                        "done_at=?, incident_id=?, satisfaction=? WHERE id=?",
                        [state, due_at, attempts, outcome, note, actor, now, incident_id, satisfaction, task_id])
        if self.incidents is not None:
            about = incident_id or task["about_incident"]
            self.incidents.audit(actor, "caring_call", about, {"task": task_id, "kind": task["kind"],
                                                               "outcome": outcome, "attempt": attempts,
                                                               "satisfaction": satisfaction})
        return self.get(task_id)

    def _open(self, task: dict[str, Any], kind: str, note: str, now: float) -> int | None:
        """Open (or join) the resident's incident for a call that found trouble or went unanswered."""
        if self.incidents is None:
            return None
        resident_id = str(task["resident_id"])
        det = Detection("caring_call", kind, resident_id, "", now, Severity.WARNING, 1.0,
                        {"attempts": float(task["attempts"]) + 1}, note, key=f"caring:{task['id']}")
        self.incidents.on_detections([det])
        incident = self.incidents.store.active_for(f"resident:{resident_id}")
        return incident.id if incident is not None else None
