"""Durable records of what ingest received besides telemetry: dead letters, device events, village reports.

All in the SQLite state database. Events and reports are keyed by (device, seq), so a redelivered message is
stored once (INSERT OR IGNORE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from devices.models import DeviceEvent, DisasterReport, Rejection
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL,
        topic TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, payload BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters(reason)",
    """CREATE TABLE IF NOT EXISTS device_messages (device_id TEXT NOT NULL, seq INTEGER NOT NULL,
        ts REAL NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (device_id, seq))""",
)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected message as kept for inspection."""

    id: int
    received_at: float
    topic: str
    reason: str
    detail: str
    payload: bytes


class Journal:
    """Writes and reads dead letters and device messages (events, reports)."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def write(self, rejections: Sequence[Rejection], messages: Sequence[DeviceEvent | DisasterReport]) -> None:
        """Store a batch of rejections and device messages in one transaction each."""
        if rejections:
            self.db.executemany(
                "INSERT INTO dead_letters (received_at, topic, reason, detail, payload) VALUES (?, ?, ?, ?, ?)",
                [(r.received_at, r.topic, r.reason, r.detail, r.payload) for r in rejections])
        if messages:
            self.db.executemany("INSERT OR IGNORE INTO device_messages VALUES (?, ?, ?, ?, ?, ?)",
                                [_message_row(m) for m in messages])

    def dead_letters(self, reason: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Newest dead letters first, optionally of one reason."""
        where, params = ("WHERE reason = ?", [reason]) if reason else ("", [])
        rows = self.db.execute(f"SELECT * FROM dead_letters {where} ORDER BY id DESC LIMIT ?", [*params, limit])
        return [DeadLetter(**dict(r)) for r in rows]

    def dead_letter_counts(self) -> dict[str, int]:
        """Number of dead letters per reason."""
        return {r["reason"]: r["n"] for r in self.db.execute(
            "SELECT reason, count(*) AS n FROM dead_letters GROUP BY reason")}

    def recent_seqs(self) -> dict[str, list[int]]:
        """Seqs of stored device messages per device (to seed dedup after a restart)."""
        out: dict[str, list[int]] = {}
        for row in self.db.execute("SELECT device_id, seq FROM device_messages ORDER BY ts DESC LIMIT 100000"):
            out.setdefault(row["device_id"], []).append(row["seq"])
        return out


def _message_row(m: DeviceEvent | DisasterReport) -> tuple[object, ...]:
    if isinstance(m, DeviceEvent):
        return (m.device_id, m.seq, m.ts, "event", m.event, orjson.dumps(m.detail).decode())
    body = {"event_id": m.event_id, "stage": m.stage, "hazard": m.hazard, "indicators": m.indicators,
            "officer": m.officer, "note": m.note}
    return (m.device_id, m.seq, m.ts, "report", m.stage, orjson.dumps(body).decode())
