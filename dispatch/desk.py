"""The dispatch desk: ranked candidates for an incident, the operator's choice turned into an offer chain, and
offer progress reflected on the incident (audit, on_scene). Green-key service orders go through the same path,
ranked for the requested service instead of an emergency visit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from alerts.incidents.record import Incident
from alerts.incidents.service import IncidentError, IncidentService
from dispatch.offers import OfferBook
from dispatch.ranking import Candidate, need_for, rank
from dispatch.responders import ResponderRegistry
from dispatch.service_orders import ServiceOrders, local_minute

logger = logging.getLogger(__name__)


class DispatchDesk:
    """Joins incidents, responders and offers."""

    def __init__(
        self,
        incidents: IncidentService,
        responders: ResponderRegistry,
        offers: OfferBook,
        clock: Callable[[], float] = time.time,
        orders: ServiceOrders | None = None,
    ) -> None:
        """`orders`: the green-key service orders; pass the same book whose `notifier` wraps the incidents' notify."""
        self.incidents = incidents
        self.responders = responders
        self.offers = offers
        self.clock = clock
        self.orders = orders if orders is not None else ServiceOrders(incidents.store.db, responders, offers)
        offers.on_change = self.on_offer
        # called when a responder reports an order done (incident, service; '' for an emergency): the catalogue's
        # completion record and satisfaction call-back (dispatch/service_catalogue.py)
        self.on_done: list[Callable[[dict[str, Any], Incident, str], None]] = []

    def candidates(self, incident_id: int) -> list[Candidate]:
        """Responders for this incident, best first."""
        incident = self.incidents.get(incident_id)
        if incident.lat is None or incident.lon is None:
            raise IncidentError(409, f"incident {incident_id} has no position to rank responders by")
        service = (incident.alerts or ())[0].message if incident.kind == "service_request" else ""
        order = self.orders.get(incident_id) if service else None
        when = order["scheduled_at"] if order and order["scheduled_at"] else self.clock()  # ranked for the slot
        return rank(
            self.responders.all(),
            self.offers.loads(),
            incident.lat,
            incident.lon,
            need_for(incident.kind, service),
            local_minute(when),
            incident.resident_id,
        )

    def dispatch(self, incident_id: int, actor: str, responder_id: str) -> Incident:
        """Offer to the chosen responder, the other capable ones in rank order after it."""
        ranked = [c.responder_id for c in self.candidates(incident_id)]
        if responder_id not in ranked:
            raise IncidentError(422, f"{responder_id!r} is not a capable responder for incident {incident_id}")
        incident = self.incidents.get(incident_id)
        order = [responder_id] + [r for r in ranked if r != responder_id]
        updated = self.incidents.dispatch(incident_id, actor, responder_id)
        detail = {"kind": incident.kind, "lat": incident.lat, "lon": incident.lon, "title": incident.title}
        service = self.orders.get(incident_id)
        if service is not None:  # a service order: the provider learns what and when
            detail.update(service=service["service"], scheduled_at=service["scheduled_at"])
        self.offers.offer(incident_id, order, detail)
        return updated

    def on_offer(self, offer: dict[str, Any], event: str) -> None:
        """Offer progress -> incident audit and state."""
        incident_id, responder_id = offer["incident_id"], offer["responder_id"]
        detail = {"offer_id": offer["id"], "responder_id": responder_id}
        self.incidents.audit(
            f"responder:{responder_id}" if event != "offered" else "system", f"offer_{event}", incident_id, detail
        )
        incident = self.incidents.store.get(incident_id)
        if incident is None:
            return
        if event == "offered" and incident.responder_id != responder_id:
            self.incidents.store.update(incident_id, responder_id=responder_id, updated_at=self.clock())
        if event == "on_scene" and incident.state == "dispatched":
            self.incidents.move(incident_id, "on_scene", f"responder:{responder_id}", detail)
        if event == "done":
            order = self.orders.get(incident_id)
            for listener in self.on_done:
                try:
                    listener(offer, incident, str(order["service"]) if order else "")
                except Exception:  # a completion record must not undo the offer's progress
                    logger.exception("could not record the completion of incident %s", incident_id)

    def view(self, incident_id: int) -> dict[str, Any]:
        """Candidates and offers of an incident for the console."""
        return {
            "candidates": [asdict(c) for c in self.candidates(incident_id)],
            "offers": self.offers.of_incident(incident_id),
        }

    async def run(self, interval_s: float = 1.0) -> None:
        """Forever: time out unanswered offers."""
        while True:
            try:
                self.offers.tick(self.clock())
            except Exception:
                logger.exception("offer tick failed")
            await asyncio.sleep(interval_s)
