"""Durable records of what ingest received besides telemetry: dead letters, device events, village reports.

All in the SQLite state database. Events and reports are keyed by (device, seq), so a redelivered message is
stored once (INSERT OR IGNORE).

Issue 16: dead letters are capped per source (`per_source_hour` an hour per device, and all ids not in the registry
count as one source, so rotating ids cannot fill the disk; the rest are only counted by the pipeline's stats), and
rows older than `keep_days` are deleted at most hourly, on write (and by the hub's retention stage).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from devices.models import DeviceEvent, DisasterReport, Rejection
from devices.statedb.sqlite import StateDB

PER_SOURCE_HOUR = 100
KEEP_DAYS = 30.0
WINDOW_S = 3600.0
MAX_SOURCES = 100_000  # past this many distinct sources in one hour, the rest share one cap
OVERFLOW = "\x00other"

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

    def __init__(self, db: StateDB, per_source_hour: int = PER_SOURCE_HOUR, keep_days: float = KEEP_DAYS,
                 clock: Callable[[], float] = time.time, source_of: Callable[[str], str] | None = None) -> None:
        self.db = db
        self.per_source_hour = per_source_hour
        self.keep_days = keep_days
        self.clock = clock
        self.source_of: Callable[[str], str] = source_of or _topic_source  # the pipeline's flood-guard key
        self.capped = 0  # dead letters not kept (over their source's cap)
        self._kept: dict[str, int] = {}
        self._window_ends = 0.0
        self._next_prune = 0.0
        db.migrate(DDL)

    def _keep(self, rejections: Sequence[Rejection], now: float) -> list[Rejection]:
        """The rejections within their source's cap for this hour."""
        if now >= self._window_ends:
            self._kept, self._window_ends = {}, now + WINDOW_S
        kept = []
        for r in rejections:
            source = self.source_of(r.topic)
            if source not in self._kept and len(self._kept) >= MAX_SOURCES:
                source = OVERFLOW
            n = self._kept.get(source, 0)
            if n >= self.per_source_hour:
                self.capped += 1
                continue
            self._kept[source] = n + 1
            kept.append(r)
        return kept

    def prune(self, before: float) -> int:
        """Delete dead letters received before `before`; how many went."""
        return len(self.db.execute("DELETE FROM dead_letters WHERE received_at < ? RETURNING id", [before]))

    def write(self, rejections: Sequence[Rejection], messages: Sequence[DeviceEvent | DisasterReport]) -> None:
        """Store a batch of rejections (within their caps) and device messages in one transaction each."""
        now = self.clock()
        if now >= self._next_prune:
            self._next_prune = now + WINDOW_S
            self.prune(now - self.keep_days * 86_400.0)
        rejections = self._keep(rejections, now) if rejections else rejections
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


def _topic_source(topic: str) -> str:
    """The id segment of a contract topic (`<domain>/<id>/...`), else the topic."""
    parts = topic.split("/", 2)
    return parts[1] if len(parts) == 3 else topic


def _message_row(m: DeviceEvent | DisasterReport) -> tuple[object, ...]:
    if isinstance(m, DeviceEvent):
        return (m.device_id, m.seq, m.ts, "event", m.event, orjson.dumps(m.detail).decode())
    body = {"event_id": m.event_id, "stage": m.stage, "hazard": m.hazard, "indicators": m.indicators,
            "officer": m.officer, "note": m.note}
    return (m.device_id, m.seq, m.ts, "report", m.stage, orjson.dumps(body).decode())
