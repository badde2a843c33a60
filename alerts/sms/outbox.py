"""The durable SMS outbox: one row per message, in the state database (SQLite or PostgreSQL), so a queued message
survives a restart or `kill -9` and every message sent about an incident stays on record with it (channel, recipient,
status, delivery report).

Status: queued -> sent (the gateway accepted it) -> delivered | undelivered (its delivery report); `retry` while the
gateway is unreachable or busy (attempts, next_attempt_at); `failed` when the gateway refused it or it expired.
Writers are single statements, so enqueuing never waits on the gateway (ingest and escalation are not blocked).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from devices.place_sql import EVERYWHERE, PlaceFilter
from devices.statedb.sqlite import StateDB

SmsStatus = Literal["queued", "retry", "sent", "delivered", "undelivered", "failed"]
PENDING: tuple[SmsStatus, ...] = ("queued", "retry")
DDL = (
    """CREATE TABLE IF NOT EXISTS sms_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL,
        incident_id INTEGER, kind TEXT NOT NULL, channel TEXT NOT NULL, recipient TEXT NOT NULL,
        recipient_name TEXT NOT NULL DEFAULT '', text TEXT NOT NULL, status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, sent_at REAL, dlr_code INTEGER,
        dlr_at REAL, dlr_text TEXT NOT NULL DEFAULT '', last_error TEXT NOT NULL DEFAULT '',
        token TEXT NOT NULL, actor TEXT NOT NULL DEFAULT 'system')""",
    "CREATE INDEX IF NOT EXISTS sms_outbox_due ON sms_outbox (status, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS sms_outbox_incident ON sms_outbox (incident_id)",
    "CREATE INDEX IF NOT EXISTS sms_outbox_recipient ON sms_outbox (recipient, sent_at)",
)
# Kannel's delivery report types (dlr-mask bits): 1 delivered, 2 undelivered, 4 buffered, 8 SMSC accepted, 16 rejected
DLR_STATUS: dict[int, SmsStatus] = {1: "delivered", 2: "undelivered", 16: "undelivered"}


def mask_number(value: str) -> str:
    """A phone number as logs and pages show it: the first 3 and last 4 digits (138****5678)."""
    return "*" * len(value) if len(value) <= 7 else value[:3] + "*" * (len(value) - 7) + value[-4:]


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsMessage:
    """One row of the outbox."""

    id: int
    created_at: float
    incident_id: int | None
    kind: str  # the template's kind, e.g. escalation_family
    channel: str  # sms_family | sms_oncall | sms_test
    recipient: str  # the full number (needed to send; masked wherever it is shown)
    recipient_name: str
    text: str
    status: SmsStatus
    attempts: int
    next_attempt_at: float
    sent_at: float | None
    dlr_code: int | None
    dlr_at: float | None
    dlr_text: str
    last_error: str
    token: str
    actor: str

    @classmethod
    def from_row(cls, row: Any) -> SmsMessage:
        """From a database row."""
        return cls(**dict(zip(row.keys(), row, strict=True)))


class Outbox:
    """Reads and writes of `sms_outbox`."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def enqueue(self, recipient: str, text: str, *, kind: str, channel: str, incident_id: int | None = None,
                recipient_name: str = "", actor: str = "system", now: float | None = None) -> int:
        """Queue one message (sent by the sender task); returns its id."""
        ts = time.time() if now is None else now
        rows = self.db.execute(
            "INSERT INTO sms_outbox (created_at, incident_id, kind, channel, recipient, recipient_name, text, status,"
            " next_attempt_at, token, actor) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) RETURNING id",
            [ts, incident_id, kind, channel, recipient, recipient_name, text, ts, secrets.token_hex(8), actor])
        return int(rows[0][0])

    def get(self, message_id: int) -> SmsMessage | None:
        """One message, or None."""
        rows = self.db.execute("SELECT * FROM sms_outbox WHERE id = ?", [message_id])
        return SmsMessage.from_row(rows[0]) if rows else None

    def due(self, now: float, limit: int = 50) -> list[SmsMessage]:
        """Pending messages whose time has come, oldest first."""
        rows = self.db.execute(
            "SELECT * FROM sms_outbox WHERE status IN (?, ?) AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            [*PENDING, now, limit])
        return [SmsMessage.from_row(r) for r in rows]

    def pending(self, places: PlaceFilter | None = None) -> int:
        """How many messages wait to be sent (with `places`: about their incidents)."""
        cond, params = places.incidents("incident_id") if places is not None else EVERYWHERE
        rows = self.db.execute(f"SELECT COUNT(*) FROM sms_outbox WHERE status IN (?, ?) AND {cond}",
                               [*PENDING, *params])
        return int(rows[0][0])

    def sent_to(self, recipient: str, since: float) -> int:
        """Messages handed to the gateway for this number since `since` (the rate limit's count)."""
        rows = self.db.execute("SELECT COUNT(*) FROM sms_outbox WHERE recipient = ? AND sent_at >= ?",
                               [recipient, since])
        return int(rows[0][0])

    def of_incident(self, incident_id: int) -> list[SmsMessage]:
        """The messages sent (or queued) about one incident, oldest first."""
        rows = self.db.execute("SELECT * FROM sms_outbox WHERE incident_id = ? ORDER BY id", [incident_id])
        return [SmsMessage.from_row(r) for r in rows]

    def recent(self, limit: int = 50, places: PlaceFilter | None = None) -> list[SmsMessage]:
        """The newest messages, newest first; with `places`, those about their incidents only."""
        cond, params = places.incidents("incident_id") if places is not None else EVERYWHERE
        rows = self.db.execute(f"SELECT * FROM sms_outbox WHERE {cond} ORDER BY id DESC LIMIT ?", [*params, limit])
        return [SmsMessage.from_row(r) for r in rows]

    def mark_sent(self, message_id: int, now: float) -> None:
        """The gateway accepted it (a delivery report that came back first is kept)."""
        self.db.execute("UPDATE sms_outbox SET status = CASE WHEN status IN ('queued', 'retry') THEN 'sent'"
                        " ELSE status END, sent_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?",
                        [now, message_id])

    def mark_retry(self, message_id: int, next_at: float, error: str) -> None:
        """Not sent this time; try again at `next_at`."""
        self.db.execute("UPDATE sms_outbox SET status = 'retry', attempts = attempts + 1, next_attempt_at = ?,"
                        " last_error = ? WHERE id = ?", [next_at, error[:300], message_id])

    def postpone(self, message_id: int, next_at: float) -> None:
        """Held back by the rate limit (not an attempt)."""
        self.db.execute("UPDATE sms_outbox SET next_attempt_at = ? WHERE id = ?", [next_at, message_id])

    def mark_failed(self, message_id: int, error: str) -> None:
        """Given up: the gateway refused it, or it expired."""
        self.db.execute("UPDATE sms_outbox SET status = 'failed', attempts = attempts + 1, last_error = ?"
                        " WHERE id = ?", [error[:300], message_id])

    def delivery_report(self, message_id: int, token: str, code: int, text: str, now: float) -> SmsMessage | None:
        """Apply a delivery report (Kannel's %d type and %A text); None when the id and token do not match.

        Reports may arrive in any order and at once (8 "accepted" and 1 "delivered" within milliseconds, even before
        the sendsms answer), so each is one statement: a final report (delivered, undelivered) always wins, a
        passing one (accepted, buffered) never replaces a final one."""
        message = self.get(message_id)
        if message is None or not secrets.compare_digest(message.token, token):
            return None
        final = DLR_STATUS.get(code)
        if final is not None:
            self.db.execute("UPDATE sms_outbox SET status = ?, dlr_code = ?, dlr_at = ?, dlr_text = ? WHERE id = ?",
                            [final, code, now, text[:200], message_id])
        else:
            self.db.execute(
                "UPDATE sms_outbox SET status = CASE WHEN status IN ('queued', 'retry') THEN 'sent' ELSE status END,"
                " dlr_code = CASE WHEN status IN ('delivered', 'undelivered') THEN dlr_code ELSE ? END,"
                " dlr_at = CASE WHEN status IN ('delivered', 'undelivered') THEN dlr_at ELSE ? END,"
                " dlr_text = CASE WHEN status IN ('delivered', 'undelivered') THEN dlr_text ELSE ? END WHERE id = ?",
                [code, now, text[:200], message_id])
        return self.get(message_id)
