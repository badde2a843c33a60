"""Rescue teams' progress from MQTT (`teams/<id>/status`) applied to their assignments (issue 14, item 6).

Ingest keeps each decoded status in the `team_statuses` table in the same state-writer step as its journal, before
the broker gets its ack; this stage then applies the pending rows in arrival order to the team's current assignment
(the same moves the `/resources` page makes, recorded with the actor `team:<id>` and audited), tells the page, and
settles each row. After a kill -9 the pending rows are applied on start, so an acked status is never lost.

A status the team reported already on this assignment (a redelivery, a device re-sending after a lost PUBACK), or
one behind what the team reached, is settled as a duplicate; the team's own word for the status it has (en route,
which the commander recorded when sending it) is logged and audited as its confirmation that the mission arrived.
A status naming an unknown team, an assignment the team never had (`unknown_assignment`), a finished earlier one
(`stale_assignment`) or a move the team cannot make (`team_conflict`) goes to the dead letters with its reason and
changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from devices.models import Rejection, TeamStatus
from devices.statedb.sqlite import StateDB
from dispatch.disaster.field_ops import FieldOps
from dispatch.disaster.resource_store import AVAILABLE, DONE, EN_ROUTE, ON_SCENE, ResourceError
from ingest.aio import get_within
from ingest.journal import Journal
from ingest.pipeline import Batch

logger = logging.getLogger(__name__)
DDL = (
    """CREATE TABLE IF NOT EXISTS team_statuses (id INTEGER PRIMARY KEY AUTOINCREMENT, team_id TEXT NOT NULL,
        assignment_id TEXT NOT NULL, status TEXT NOT NULL, ts REAL NOT NULL, seq INTEGER NOT NULL,
        topic TEXT NOT NULL, payload BLOB NOT NULL, received_at REAL NOT NULL, outcome TEXT)""",
    "CREATE INDEX IF NOT EXISTS team_statuses_pending ON team_statuses (outcome, id)",
    # an assignment passes through each status at most once: a repeat is the same message, kept once
    "CREATE UNIQUE INDEX IF NOT EXISTS team_statuses_once ON team_statuses (team_id, assignment_id, status)",
)
SETTLED = frozenset({"applied", "duplicate"})
RETRY_S = 5.0  # a pass that failed (the state database busy or down) is retried after this
ORDER = {EN_ROUTE: 1, ON_SCENE: 2, DONE: 3, AVAILABLE: 4}  # how far along a mission a status is
_COLUMNS = ("team_id", "assignment_id", "status", "ts", "seq", "topic", "payload", "received_at")
Audit = Callable[[str, str, dict[str, Any]], None]  # actor, action, detail


class TeamStatusInbox:
    """The durable queue of received team statuses: kept before the ack, settled once applied, dropped if
    rejected."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def keep(self, batch: Batch) -> None:
        """Ingest's keeper: store a batch's team statuses (runs on the state writer, before the ack)."""
        if batch.team_statuses:
            marks = ", ".join("?" for _ in _COLUMNS)
            self.db.executemany(
                f"INSERT OR IGNORE INTO team_statuses ({', '.join(_COLUMNS)}) VALUES ({marks})",
                [tuple(getattr(s, c) for c in _COLUMNS) for s in batch.team_statuses],
            )

    def pending(self) -> list[tuple[int, TeamStatus]]:
        """Statuses not yet applied, oldest first."""
        rows = self.db.execute("SELECT * FROM team_statuses WHERE outcome IS NULL ORDER BY id")
        return [(r["id"], TeamStatus(*(r[c] for c in _COLUMNS))) for r in rows]

    def settle(self, row_id: int, outcome: str) -> None:
        """Mark one status as applied or duplicate; drop a rejected one, so the same status sent later can count."""
        if outcome in SETTLED:
            self.db.execute("UPDATE team_statuses SET outcome=? WHERE id=?", [outcome, row_id])
        else:
            self.db.execute("DELETE FROM team_statuses WHERE id=?", [row_id])


class TeamStatusStage:
    """Takes ingest batches; applies the pending team statuses to the teams' assignments."""

    def __init__(self, queue: asyncio.Queue[Batch], inbox: TeamStatusInbox, ops: FieldOps, journal: Journal,
                 audit: Audit, rejected: Counter[str] | None = None) -> None:  # fmt: skip
        self.queue = queue
        self.inbox = inbox
        self.ops = ops
        self.journal = journal
        self.audit = audit
        self.rejected: Counter[str] = rejected if rejected is not None else Counter()

    async def run(self) -> None:
        """Apply what a previous run left pending, then every batch that brings team statuses."""
        stuck = not self.apply_pending()
        while True:
            if stuck:
                batch = await get_within(self.queue, RETRY_S)
            else:
                batch = await self.queue.get()
            if stuck or (batch is not None and batch.team_statuses):
                stuck = not self.apply_pending()

    def apply_pending(self) -> bool:
        """Apply every pending status in arrival order; False when one failed (logged, left for the next pass)."""
        try:
            for row_id, status in self.inbox.pending():
                self.inbox.settle(row_id, self.apply(status))
        except Exception:
            logger.exception("could not apply the pending team statuses; retrying in %.0f s", RETRY_S)
            return False
        return True

    def apply(self, status: TeamStatus) -> str:
        """One status onto the team's current assignment; returns the outcome settled on its row."""
        store = self.ops.store
        if store is None:
            return self._reject(status, "unknown_team", "no state database for teams")
        try:
            record = store.team(status.team_id)
        except KeyError:
            return self._reject(status, "unknown_team", f"no team {status.team_id!r}")
        actor = f"team:{status.team_id}"
        log = store.assignment_log(status.team_id, status.assignment_id)
        if (status.status, actor) in log:
            return "duplicate"  # a redelivery, or a device that sent it twice
        if status.assignment_id != record.assignment:
            if any(done == status.status for done, _by in log):
                return "duplicate"  # what a finished mission went through (say, the page said back at base first)
            reason = "stale_assignment" if log else "unknown_assignment"
            now = f"now {record.assignment!r}" if record.assignment else "now none (the team is available)"
            return self._reject(status, reason, f"team {status.team_id} has no assignment {status.assignment_id!r}: "
                                f"{now}")  # fmt: skip
        if ORDER[status.status] < ORDER.get(record.team.status, 0):
            return "duplicate"  # behind what the team reached already (e.g. on scene after the page said done)
        try:  # timed by the hub's clock on arrival, as the reports are; the device's own time goes to the audit
            if status.status == record.team.status:  # the team confirms what a person recorded (en route, sent)
                moved = store.confirm_team(status.team_id, actor, status.received_at)
            else:
                moved = self.ops.move_team(status.team_id, status.status, actor, status.received_at)
        except ResourceError as exc:
            return self._reject(status, "team_conflict", str(exc))
        detail: dict[str, Any] = {"team_id": status.team_id, "assignment_id": status.assignment_id,
                                  "status": status.status, "incident": moved.incident or record.incident,
                                  "via": "mqtt", "ts": status.ts, "seq": status.seq}  # fmt: skip
        self.audit(actor, "team_status_recorded", detail)
        self.ops.centre.publish("teams", {"team_id": status.team_id, "status": status.status,
                                          "assignment_id": status.assignment_id, "by": actor})  # fmt: skip
        return "applied"

    def _reject(self, status: TeamStatus, reason: str, detail: str) -> str:
        self.journal.write([Rejection(status.topic, reason, detail, status.payload, status.received_at)], [])
        self.rejected[reason] += 1
        logger.info("rejected %s on %r: %s", reason, status.topic[:120], detail[:200])
        return reason
