"""Offers to responders: offered -> accepted / declined / timeout (-> the next ranked candidate); accepted ->
en_route -> on_scene -> done. Offers go out on `responders/<id>/offer`; answers come back over REST or on
`responders/<id>/status`. Every change is reported to `on_change(offer, event)`, which the composition root points
at the incident service (audit, incident state).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from devices.statedb.sqlite import StateDB

OFFER_TIMEOUT_S = 90.0
NEXT: dict[str, frozenset[str]] = {
    "offered": frozenset({"accepted", "declined", "timeout", "cancelled"}),
    "accepted": frozenset({"en_route", "on_scene", "done", "cancelled"}),
    "en_route": frozenset({"on_scene", "done", "cancelled"}),
    "on_scene": frozenset({"done"}),
}
BUSY = ("accepted", "en_route", "on_scene")
DDL = (
    """CREATE TABLE IF NOT EXISTS offers (id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id INTEGER NOT NULL,
        responder_id TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
        deadline REAL NOT NULL, queue TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS offers_by_incident ON offers (incident_id)",
)
Publish = Callable[[str, dict[str, Any]], None]
OnChange = Callable[[dict[str, Any], str], None]


class OfferError(ValueError):
    """An unknown offer (404) or a status change it cannot take now (409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class OfferBook:
    """Offers in SQLite (restart-safe), moved on by answers and by `tick(now)` timeouts."""

    def __init__(
        self,
        db: StateDB,
        publish: Publish | None = None,
        on_change: OnChange | None = None,
        clock: Callable[[], float] = time.time,
        timeout_s: float = OFFER_TIMEOUT_S,
    ) -> None:
        self.db = db
        self.publish: Publish = publish or (lambda _t, _b: None)
        self.on_change: OnChange = on_change or (lambda _o, _e: None)
        self.clock = clock
        self.timeout_s = timeout_s
        db.migrate(DDL)

    def offer(self, incident_id: int, ranked: list[str], detail: dict[str, Any] | None = None) -> dict[str, Any]:
        """Offer the incident to the first responder; the rest wait in line."""
        if not ranked:
            raise OfferError(409, "no candidate to offer to")
        now = self.clock()
        rows = self.db.execute(
            "INSERT INTO offers (incident_id, responder_id, state, created_at, updated_at,"
            " deadline, queue) VALUES (?, ?, 'offered', ?, ?, ?, ?) RETURNING id",
            [incident_id, ranked[0], now, now, now + self.timeout_s, orjson.dumps(ranked[1:])],
        )
        made = self.get(int(rows[0][0]))
        self.publish(
            f"responders/{ranked[0]}/offer",
            {"offer_id": made["id"], "incident_id": incident_id, "deadline": made["deadline"], **(detail or {})},
        )
        self.on_change(made, "offered")
        return made

    def get(self, offer_id: int) -> dict[str, Any]:
        """One offer; OfferError 404 when unknown."""
        rows = self.db.execute("SELECT * FROM offers WHERE id=?", [offer_id])
        if not rows:
            raise OfferError(404, f"no offer {offer_id}")
        return {**dict(rows[0]), "queue": orjson.loads(rows[0]["queue"])}

    def of_incident(self, incident_id: int) -> list[dict[str, Any]]:
        """Offers made for an incident, oldest first."""
        rows = self.db.execute("SELECT id FROM offers WHERE incident_id=? ORDER BY id", [incident_id])
        return [self.get(r["id"]) for r in rows]

    def update(self, offer_id: int, status: str, responder_id: str | None = None) -> dict[str, Any]:
        """An answer or progress report; declined and timeout move the offer to the next candidate."""
        offer = self.get(offer_id)
        if responder_id is not None and responder_id != offer["responder_id"]:
            raise OfferError(409, f"offer {offer_id} is not for {responder_id}")
        if status not in NEXT.get(offer["state"], frozenset()):
            raise OfferError(409, f"offer {offer_id} is {offer['state']}; cannot become {status}")
        self.db.execute("UPDATE offers SET state=?, updated_at=? WHERE id=?", [status, self.clock(), offer_id])
        changed = self.get(offer_id)
        self.on_change(changed, status)
        if status in ("declined", "timeout") and changed["queue"]:
            return self.offer(changed["incident_id"], changed["queue"])
        return changed

    def tick(self, now: float) -> list[dict[str, Any]]:
        """Time out offers past their deadline; returns the offers that replaced them."""
        rows = self.db.execute("SELECT id FROM offers WHERE state='offered' AND deadline<=?", [now])
        return [self.update(r["id"], "timeout") for r in rows]

    def loads(self) -> dict[str, int]:
        """Jobs in hand per responder (accepted, en route, on scene)."""
        rows = self.db.execute(
            "SELECT responder_id, count(*) AS n FROM offers WHERE state IN (?, ?, ?) GROUP BY responder_id", BUSY
        )
        return {r["responder_id"]: r["n"] for r in rows}
