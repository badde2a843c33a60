"""The command centre's state in the state database (issue 7: no CAP alert lost or doubled by a restart).

Each change is written when it happens, and they are rare: a CAP message issued or imported, a gauge whose level
changed (the map's colour and its trackers' hysteresis state), an evacuation task created or moved, an imported
warning applied to or withdrawn from an area. An area's level is not a row of its own: it is the level of the newest
message issued for it (none after a Cancel), reached at that message's `sent`, so one insert records both.
`CommandCentre.restore` reads everything back into a new centre.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from alerts.disaster.cap import CapWarning, Circle, Polygon, Shape
from alerts.disaster.warnings import WarningLevel
from devices.statedb.sqlite import StateDB
from dispatch.disaster.evacuation import Task

ISSUED, RECEIVED = "issued", "received"
DDL = (
    """CREATE TABLE IF NOT EXISTS command_messages (origin TEXT NOT NULL, identifier TEXT NOT NULL,
        pos INTEGER NOT NULL, area TEXT NOT NULL, sent REAL NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (origin, identifier))""",
    """CREATE TABLE IF NOT EXISTS command_gauges (terminal_id TEXT PRIMARY KEY, level INTEGER NOT NULL,
        ts REAL NOT NULL, state TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS command_tasks (task_id TEXT PRIMARY KEY, warning_id TEXT NOT NULL,
        resident_id TEXT NOT NULL, village_id TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
        updated_at REAL NOT NULL, note TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS command_external (area TEXT NOT NULL, source TEXT NOT NULL,
        level INTEGER NOT NULL, PRIMARY KEY (area, source))""",
)


@dataclass
class SavedCommand:
    """Everything an earlier run saved, as `CommandStore.load` reads it."""

    messages: list[tuple[str, str, CapWarning]] = field(default_factory=list)  # (origin, area, message), in order
    gauges: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # terminal -> (level, snapshot)
    tasks: list[Task] = field(default_factory=list)
    external: dict[str, dict[str, WarningLevel]] = field(default_factory=dict)  # area -> imported key -> level


class CommandStore:
    """Reads and writes the command_* tables."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def load(self) -> SavedCommand:
        """Every saved row; messages in the order they were recorded."""
        saved = SavedCommand()
        for r in self.db.execute("SELECT origin, area, body FROM command_messages ORDER BY pos, sent"):
            saved.messages.append((r["origin"], r["area"], message_of(r["body"])))
        for r in self.db.execute("SELECT terminal_id, level, state FROM command_gauges"):
            saved.gauges[r["terminal_id"]] = (int(r["level"]), orjson.loads(r["state"]))
        for r in self.db.execute("SELECT * FROM command_tasks ORDER BY updated_at, task_id"):
            saved.tasks.append(Task(r["task_id"], r["warning_id"], r["resident_id"], r["village_id"], r["kind"],
                                    r["state"], float(r["updated_at"]), r["note"]))  # fmt: skip
        for r in self.db.execute("SELECT area, source, level FROM command_external"):
            saved.external.setdefault(r["area"], {})[r["source"]] = WarningLevel(int(r["level"]))
        return saved

    def save_message(self, origin: str, area: str, w: CapWarning) -> int:
        """A CAP message issued here for `area` (ISSUED) or imported from outside (RECEIVED, area ""); its
        position in the shared order (issue 14: every worker sharing the database numbers from the same rows)."""
        rows = self.db.execute("SELECT MAX(pos) AS pos FROM command_messages")
        pos = (int(rows[0]["pos"] or 0) if rows else 0) + 1
        self.db.execute(
            "INSERT OR REPLACE INTO command_messages (origin, identifier, pos, area, sent, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [origin, w.identifier, pos, area, w.sent, message_json(w)],
        )
        return pos

    def messages_since(self, pos: int) -> list[tuple[int, str, str, CapWarning]]:
        """(pos, origin, area, message) of the rows at `pos` or later, in order: what other workers recorded
        since this one last looked (the caller skips the ones it knows; two workers may share a position)."""
        rows = self.db.execute(
            "SELECT pos, origin, area, body FROM command_messages WHERE pos >= ? ORDER BY pos, sent", [pos]
        )
        return [(int(r["pos"]), r["origin"], r["area"], message_of(r["body"])) for r in rows]

    def tasks_since(self, ts: float) -> list[Task]:
        """Evacuation tasks created or moved at `ts` or later (by any worker)."""
        rows = self.db.execute("SELECT * FROM command_tasks WHERE updated_at >= ? ORDER BY updated_at, task_id", [ts])
        return [Task(r["task_id"], r["warning_id"], r["resident_id"], r["village_id"], r["kind"], r["state"],
                     float(r["updated_at"]), r["note"]) for r in rows]  # fmt: skip

    def save_gauge(self, terminal_id: str, level: int, ts: float, snapshot: dict[str, Any]) -> None:
        """A terminal's level as the map shows it, with its detector state (`AreaWarnings.snapshot`)."""
        self.db.execute(
            "INSERT OR REPLACE INTO command_gauges (terminal_id, level, ts, state) VALUES (?, ?, ?, ?)",
            [terminal_id, level, ts, orjson.dumps(snapshot).decode()],
        )

    def save_tasks(self, tasks: list[Task]) -> None:
        """Evacuation tasks created or changed (TaskBoard.on_change)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO command_tasks (task_id, warning_id, resident_id, village_id, kind, state,"
            " updated_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(t.task_id, t.warning_id, t.resident_id, t.village_id, t.kind, t.state, t.updated_at, t.note)
             for t in tasks],
        )  # fmt: skip

    def save_external(self, changes: list[tuple[str, str, WarningLevel]]) -> None:
        """Imported warnings per (area, key); level NONE withdraws one."""
        gone = [(area, key) for area, key, level in changes if not level]
        kept = [(area, key, int(level)) for area, key, level in changes if level]
        if gone:
            self.db.executemany("DELETE FROM command_external WHERE area = ? AND source = ?", gone)
        if kept:
            self.db.executemany("INSERT OR REPLACE INTO command_external (area, source, level) VALUES (?, ?, ?)", kept)


def message_json(w: CapWarning) -> str:
    """A CAP message as exact JSON (floats and all fields kept, unlike the CAP XML's whole seconds)."""
    body = asdict(w) | {"level": int(w.level), "shapes": [_shape_json(s) for s in w.shapes]}
    return orjson.dumps(body).decode()


def message_of(text: str) -> CapWarning:
    """The message `message_json` wrote."""
    d = orjson.loads(text)
    d["level"] = WarningLevel(d["level"])
    d["shapes"] = tuple(_shape_of(s) for s in d["shapes"])
    d["references"] = tuple((s, i, float(t)) for s, i, t in d["references"])
    return CapWarning(**d)


def _shape_json(s: Shape) -> dict[str, Any]:
    if isinstance(s, Circle):
        return {"circle": [s.lat, s.lon, s.radius_km]}
    return {"polygon": [list(p) for p in s.points]}


def _shape_of(d: dict[str, Any]) -> Shape:
    if "circle" in d:
        return Circle(*d["circle"])
    return Polygon(tuple((float(a), float(b)) for a, b in d["polygon"]))
