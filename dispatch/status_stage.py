"""Responder apps' statuses from MQTT (`responders/<id>/status`) applied to the dispatch desk (issue 5).

Ingest keeps each decoded status in the `responder_statuses` table in the same state-writer step as its journal,
before the broker gets its ack; this stage then applies the pending rows in arrival order, as the REST endpoint
`POST /api/offers/{id}/status` does (same offer state machine, audited as `responder:<id>`), and settles each row.
After a kill -9 the pending rows are applied on start, so an acked status is never lost. A redelivered status finds
its offer already in that state and is settled as a duplicate; a status for an unknown offer, another responder's
offer or a transition the offer cannot take goes to the dead letters with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from dispatch.desk import DispatchDesk
from dispatch.offers import OfferError
from hub.models import Rejection, ResponderStatus
from hub.state import StateDB
from ingest.journal import Journal
from ingest.pipeline import Batch

logger = logging.getLogger(__name__)
DDL = (
    """CREATE TABLE IF NOT EXISTS responder_statuses (id INTEGER PRIMARY KEY AUTOINCREMENT,
        responder_id TEXT NOT NULL, offer_id INTEGER NOT NULL, status TEXT NOT NULL, ts REAL NOT NULL,
        topic TEXT NOT NULL, payload BLOB NOT NULL, received_at REAL NOT NULL, outcome TEXT)""",
    "CREATE INDEX IF NOT EXISTS responder_statuses_pending ON responder_statuses (outcome, id)",
)
_COLUMNS = ("responder_id", "offer_id", "status", "ts", "topic", "payload", "received_at")


class StatusInbox:
    """The durable queue of received statuses: kept before the ack, settled once applied (or rejected)."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def keep(self, batch: Batch) -> None:
        """Ingest's keeper: store a batch's statuses (runs on the state writer, before the ack)."""
        if batch.statuses:
            self.db.executemany(
                f"INSERT INTO responder_statuses ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})",
                [tuple(getattr(s, c) for c in _COLUMNS) for s in batch.statuses],
            )

    def pending(self) -> list[tuple[int, ResponderStatus]]:
        """Statuses not yet applied, oldest first."""
        rows = self.db.execute("SELECT * FROM responder_statuses WHERE outcome IS NULL ORDER BY id")
        return [(r["id"], ResponderStatus(*(r[c] for c in _COLUMNS))) for r in rows]

    def settle(self, row_id: int, outcome: str) -> None:
        """Mark one status as handled: applied, duplicate, or the reason it was rejected."""
        self.db.execute("UPDATE responder_statuses SET outcome=? WHERE id=?", [outcome, row_id])

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
        """Apply what a previous run left pending, then every batch that brings statuses."""
        self.apply_pending()
        while True:
            batch = await self.queue.get()
            if batch.statuses:
                self.apply_pending()

    def apply_pending(self) -> None:
        """Apply every pending status in arrival order; a failure is logged and the row left for the next pass."""
        for row_id, status in self.inbox.pending():
            try:
                outcome = self.apply(status)
            except Exception:
                logger.exception("could not apply %s of offer %s", status.status, status.offer_id)
                return
            self.inbox.settle(row_id, outcome)

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
