"""Service orders (green key, issue 5): the requested service with a scheduled slot, on the incident lifecycle.

A green key opens a `service_request` incident like any alert (open -> acknowledged -> dispatched -> on_scene ->
resolved -> closed). Its order adds the service and a preferred slot: the next full local hour at which a
responder offering that service is open and has room (the best-ranked one is proposed). The slot is fixed when the
incident opens and kept in SQLite, so it does not drift while the order waits in the queue.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from alerts.incidents.record import Incident, Notify
from devices.statedb.sqlite import StateDB
from dispatch.offers import OfferBook
from dispatch.ranking import need_for, rank
from dispatch.responders import Responder, ResponderRegistry

logger = logging.getLogger(__name__)
SEARCH_HOURS = 7 * 24  # a provider open one day a week is still found
DDL = (
    """CREATE TABLE IF NOT EXISTS service_orders (incident_id INTEGER PRIMARY KEY, service TEXT NOT NULL,
        requested_at REAL NOT NULL, scheduled_at REAL, responder_id TEXT)""",
)


def local_minute(ts: float) -> int:
    """Minute of the local day (responders' opening hours are local time)."""
    t = time.localtime(ts)
    return t.tm_hour * 60 + t.tm_min


def next_hour(ts: float) -> float:
    """The next full local hour after `ts`."""
    t = time.localtime(ts)
    return float(int(ts) - t.tm_min * 60 - t.tm_sec + 3600)


def next_slot(
    responders: list[Responder],
    loads: dict[str, int],
    lat: float,
    lon: float,
    service: str,
    resident_id: str | None,
    now: float,
) -> tuple[float, str] | None:
    """(slot, responder) of the first full hour a capable responder is open with room, or None if nobody offers it."""
    slot = next_hour(now)
    for _ in range(SEARCH_HOURS):
        ranked = rank(responders, loads, lat, lon, service, local_minute(slot), resident_id)
        if not ranked:
            return None
        if ranked[0].available:
            return slot, ranked[0].responder_id
        slot += 3600.0
    return None


class ServiceOrders:
    """The service_orders table, filled when a green-key incident opens."""

    def __init__(self, db: StateDB, responders: ResponderRegistry, offers: OfferBook) -> None:
        self.db = db
        self.responders = responders
        self.offers = offers
        db.migrate(DDL)

    def schedule(self, incident: Incident) -> dict[str, Any]:
        """Store the order of a new service_request incident with its preferred slot (if any provider offers it)."""
        service = incident.alerts[0].message if incident.alerts else ""
        slot = None
        if incident.lat is not None and incident.lon is not None:
            need = need_for("service_request", service)
            slot = next_slot(
                self.responders.all(),
                self.offers.loads(),
                incident.lat,
                incident.lon,
                need,
                incident.resident_id,
                incident.opened_at,
            )
        self.db.execute(
            "INSERT OR IGNORE INTO service_orders (incident_id, service, requested_at, scheduled_at, responder_id)"
            " VALUES (?, ?, ?, ?, ?)",
            [incident.id, service, incident.opened_at, *(slot or (None, None))],
        )
        return self.get(incident.id) or {}

    def get(self, incident_id: int) -> dict[str, Any] | None:
        """The order of one incident, or None when it is not a service order."""
        rows = self.db.execute("SELECT * FROM service_orders WHERE incident_id=?", [incident_id])
        return dict(rows[0]) if rows else None

    def annotate(self, incident: Incident) -> Incident:
        """The incident with its `service_order` (None for other incidents), as the console and frames show it."""
        order = self.get(incident.id) if incident.kind == "service_request" else None
        return replace(incident, service_order=order)

    def notifier(self, notify: Notify) -> Notify:
        """Wrap the incident service's `notify`: schedule on "opened", then announce with the order attached."""

        def announce(event: str, incident: Incident) -> None:
            if event == "opened" and incident.kind == "service_request":
                try:
                    self.schedule(incident)
                except Exception:  # the incident itself must still be announced
                    logger.exception("could not schedule the service order of incident %s", incident.id)
            notify(event, self.annotate(incident))

        return announce
