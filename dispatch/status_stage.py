"""Responder apps' statuses from MQTT (`responders/<id>/status`) applied to the dispatch desk (issue 5).

Ingest keeps each decoded status in the `responder_statuses` table in the same state-writer step as its journal,
before the broker gets its ack; this stage then applies the pending rows in arrival order, as the REST endpoint
`POST /api/offers/{id}/status` does (same offer state machine, audited as `responder:<id>`), and settles each row.
After a kill -9 the pending rows are applied on start, so an acked status is never lost. A repeated status is kept
once; one the offer already reached (recorded over REST first) is settled as a duplicate; a status for an unknown
offer, another responder's offer or a transition the offer cannot take goes to the dead letters with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from devices.models import Rejection, ResponderStatus
from devices.statedb.sqlite import StateDB
from dispatch.desk import DispatchDesk
from dispatch.offers import OfferError
from ingest.aio import get_within
from ingest.journal import Journal
from ingest.pipeline import Batch

logger = logging.getLogger(__name__)
DDL = (
    """CREATE TABLE IF NOT EXISTS responder_statuses (id INTEGER PRIMARY KEY AUTOINCREMENT,
        responder_id TEXT NOT NULL, offer_id INTEGER NOT NULL, status TEXT NOT NULL, ts REAL NOT NULL,
        topic TEXT NOT NULL, payload BLOB NOT NULL, received_at REAL NOT NULL, outcome TEXT)""",
    "CREATE INDEX IF NOT EXISTS responder_statuses_pending ON responder_statuses (outcome, id)",
    # An offer passes through each status at most once, so a repeat (a redelivery, an app re-sending after a lost
    # PUBACK) is the same message: kept once, applied once. Rejected rows are dropped (see settle).
    "CREATE UNIQUE INDEX IF NOT EXISTS responder_statuses_once ON responder_statuses (offer_id, responder_id, status)",
)
SETTLED = frozenset({"applied", "duplicate"})
RETRY_S = 5.0  # a pass that failed (the state database busy or down) is retried after this
_COLUMNS = ("responder_id", "offer_id", "status", "ts", "topic", "payload", "received_at")


class StatusInbox:
    """The durable queue of received statuses: kept before the ack, settled once applied, dropped if rejected."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def keep(self, batch: Batch) -> None:
        """Ingest's keeper: store a batch's statuses (runs on the state writer, before the ack)."""
        if batch.statuses:
            marks = ", ".join("?" for _ in _COLUMNS)
            self.db.executemany(
                f"INSERT OR IGNORE INTO responder_statuses ({', '.join(_COLUMNS)}) VALUES ({marks})",
                [tuple(getattr(s, c) for c in _COLUMNS) for s in batch.statuses],
            )

    def pending(self) -> list[tuple[int, ResponderStatus]]:
        """Statuses not yet applied, oldest first."""
        rows = self.db.execute("SELECT * FROM responder_statuses WHERE outcome IS NULL ORDER BY id")
        return [(r["id"], ResponderStatus(*(r[c] for c in _COLUMNS))) for r in rows]

    def settle(self, row_id: int, outcome: str) -> None:
        """Mark one status as applied or duplicate; drop a rejected one, so the same status sent later can count."""
        if outcome in SETTLED:
            self.db.execute("UPDATE responder_statuses SET outcome=? WHERE id=?", [outcome, row_id])
        else:
            self.db.execute("DELETE FROM responder_statuses WHERE id=?", [row_id])

    def outcomes(self) -> dict[str, int]:
        """Statuses per outcome (pending ones under "pending")."""
        rows = self.db.execute(
            "SELECT coalesce(outcome, 'pending') AS o, count(*) AS n FROM responder_statuses GROUP BY o"
        )
        return {r["o"]: r["n"] for r in rows}


class StatusStage:
    """Takes ingest batches; applies the pending responder statuses to the desk."""

    def __init__(
        self,
        queue: asyncio.Queue[Batch],
        inbox: StatusInbox,
        desk: DispatchDesk,
        journal: Journal,
        rejected: Counter[str] | None = None,
    ) -> None:
        self.queue = queue
        self.inbox = inbox
        self.desk = desk
        self.journal = journal
        self.rejected: Counter[str] = rejected if rejected is not None else Counter()

    async def run(self) -> None:
        """Apply what a previous run left pending, then every batch that brings statuses (retrying a failed pass)."""
        stuck = not self.apply_pending()
        while True:
            if stuck:  # not one conditional expression: mypy would infer get_within's type from the other branch
                batch = await get_within(self.queue, RETRY_S)
            else:
                batch = await self.queue.get()
            if stuck or (batch is not None and batch.statuses):
                stuck = not self.apply_pending()

    def apply_pending(self) -> bool:
        """Apply every pending status in arrival order; False when one failed (logged, left for the next pass)."""
        try:
            for row_id, status in self.inbox.pending():
                self.inbox.settle(row_id, self.apply(status))  # a rejected row is dropped: its dead letter keeps it
        except Exception:
            logger.exception("could not apply the pending responder statuses; retrying in %.0f s", RETRY_S)
            return False
        return True

    def apply(self, status: ResponderStatus) -> str:
        """One status through the offer state machine; returns the outcome settled on its row."""
        try:
            offer = self.desk.offers.get(status.offer_id)
        except OfferError as exc:
            return self._reject(status, "unknown_offer", str(exc))
        if offer["responder_id"] != status.responder_id:
            why = f"offer {status.offer_id} is for {offer['responder_id']!r}, not {status.responder_id!r}"
            return self._reject(status, "responder_mismatch", why)
        if offer["state"] == status.status:
            return "duplicate"  # a redelivery after a crash between keep and ack, or a re-sent status
        try:
            self.desk.offers.update(status.offer_id, status.status, status.responder_id)
        except OfferError as exc:
            return self._reject(status, "offer_conflict", str(exc))
        detail: dict[str, Any] = {"offer_id": status.offer_id, "status": status.status, "via": "mqtt", "ts": status.ts}
        self.desk.incidents.audit(
            f"responder:{status.responder_id}", "offer_status_recorded", offer["incident_id"], detail
        )
        return "applied"

    def _reject(self, status: ResponderStatus, reason: str, detail: str) -> str:
        self.journal.write([Rejection(status.topic, reason, detail, status.payload, status.received_at)], [])
        self.rejected[reason] += 1
        logger.info("rejected %s on %r: %s", reason, status.topic[:120], detail[:200])
        return reason
