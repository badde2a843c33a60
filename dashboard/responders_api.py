"""REST of the responder registry and of offer answers (a responder's reply taken by phone, or a responder app)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from dashboard.deps import Desk, Incidents, RowId, Staff, Supervisor, require
from dashboard.place_scope import Scope
from dispatch.offers import OfferError
from dispatch.responders import Responder

router = APIRouter(prefix="/api", tags=["dispatch"], dependencies=[Depends(require())])


class ResponderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    responder_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(provider|family|neighbour|emergency)$")
    services: str = Field("", max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    area: str = Field("", max_length=64)
    hours: str = Field("", max_length=11)
    capacity: int = Field(1, ge=1, le=1000)
    phone: str = Field("", max_length=32)
    resident_id: str | None = None
    priority: int = Field(5, ge=1, le=9)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(pattern="^(accepted|declined|en_route|on_scene|done|cancelled)$")


@router.get("/responders")
def list_responders(desk: Desk) -> list[dict[str, Any]]:
    """Active responders."""
    return [asdict(r) for r in desk.responders.all()]


@router.post("/responders", status_code=201)
def add_responder(body: ResponderIn, desk: Desk, incidents: Incidents, user: Supervisor) -> dict[str, Any]:
    """Register or update a responder (supervisors and admins)."""
    responder = Responder(**body.model_dump())
    try:
        desk.responders.add(responder, replace=True)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    incidents.audit(user.username, "responder_saved", None, {"responder_id": body.responder_id})
    return asdict(responder)


@router.post("/offers/{offer_id}/status")
def offer_status(
    offer_id: RowId, body: StatusIn, desk: Desk, incidents: Incidents, user: Staff,
    scope: Scope,
) -> dict[str, Any]:
    """Record a responder's answer or progress (accepted, declined, en_route, on_scene, done); an offer of another
    township's incident answers 404, as if it did not exist."""
    try:
        if scope.limited:
            incident = incidents.store.get(int(desk.offers.get(offer_id)["incident_id"]))
            if incident is None or not scope.allows(incident):
                raise OfferError(404, f"no offer {offer_id}")
        offer = desk.offers.update(offer_id, body.status)
    except OfferError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
    incidents.audit(
        user.username, "offer_status_recorded", offer["incident_id"], {"offer_id": offer_id, "status": body.status}
    )
    return offer
