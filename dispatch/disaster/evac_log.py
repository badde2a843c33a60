"""Who did what on the evacuation work list (issue 14, item 5): every status a task was given, by whom, when, with the
note, in the state database (SQLite or PostgreSQL) so that `kill -9` loses none of it and every worker reads the same.

The task row (`command_tasks`, dispatch/disaster/store.py) holds the state now; this table holds how it got there.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS evac_task_history (task_id TEXT NOT NULL, ts REAL NOT NULL, status TEXT NOT NULL,
        actor TEXT NOT NULL, note TEXT NOT NULL, PRIMARY KEY (task_id, ts, status))""",
    "CREATE INDEX IF NOT EXISTS evac_task_history_task ON evac_task_history (task_id)",
)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One status given to one task: contacted, safe, moved or unreachable (the work list's words)."""

    task_id: str
    ts: float
    status: str
    actor: str
    note: str = ""


class EvacuationLog:
    """Reads and writes evac_task_history."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def record(self, change: StatusChange) -> None:
        """A status given (written before the task row changes: a change shown is a change kept)."""
        self.db.execute(
            "INSERT OR REPLACE INTO evac_task_history (task_id, ts, status, actor, note) VALUES (?, ?, ?, ?, ?)",
            [change.task_id, change.ts, change.status, change.actor, change.note],
        )

    def history(self, warning_id: str) -> dict[str, list[StatusChange]]:
        """Changes per task of one warning (task ids are `<warning>:<resident>`), oldest first."""
        prefix = f"{warning_id}:"
        rows = self.db.execute(
            "SELECT task_id, ts, status, actor, note FROM evac_task_history WHERE substr(task_id, 1, ?) = ?"
            " ORDER BY ts, task_id",
            [len(prefix), prefix],
        )
        out: dict[str, list[StatusChange]] = {}
        for r in rows:
            out.setdefault(r["task_id"], []).append(
                StatusChange(r["task_id"], float(r["ts"]), r["status"], r["actor"], r["note"]))
        return out
