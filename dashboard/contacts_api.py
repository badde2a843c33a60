"""Numbers an operator can call: an open incident's resident(s) and their contacts, masked until revealed.

`people(...)` is what the incident view shows (masked, like every list); `POST /api/incidents/{id}/contacts/reveal`
hands the full numbers as `tel:` links to a member of staff handling an active incident, and writes the reveal to
the incident's audit log (who, when, which residents, how many numbers; never the numbers) and to the access log.
Admins edit the structured contacts with `PUT /api/residents/{id}/contacts`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from alerts.incidents.record import Incident
from alerts.incidents.service import IncidentError
from alerts.incidents.store import ACTIVE_STATES
from dashboard.context import HubContext
from dashboard.deps import Access, Admin, Auth, Ctx, Incidents, RowId, Staff
from dashboard.i18n_api import user_language
from dashboard.place_scope import place_in_scope
from dashboard.privacy import mask_phone
from devices.contacts import Contact, ContactError, contacts_of, set_contacts
from devices.i18n import t
from devices.records import Resident

router = APIRouter(prefix="/api", tags=["console"], dependencies=[Depends(place_in_scope)])  # other townships: 404
REVEALED = "contacts_revealed"  # the audit action
IncidentId = RowId


def _residents(ctx: HubContext, incident: Incident) -> list[Resident]:
    """The incident's resident, or everyone living in its home (a smoke alarm is about a household)."""
    if incident.resident_id:
        found = ctx.registry.resident(incident.resident_id)
        return [found] if found else []
    if incident.home_id:
        rows = ctx.registry.db.execute("SELECT resident_id FROM residents WHERE home_id=? ORDER BY resident_id",
                                       [incident.home_id])
        return [r for r in (ctx.registry.resident(str(row["resident_id"])) for row in rows) if r is not None]
    return []


def tel(phone: str) -> str:
    """A `tel:` URI (RFC 3966) for a number as stored: digits and a leading + kept."""
    return "tel:" + re.sub(r"[^\d+]", "", phone)


def _person(resident: Resident, contact: Contact | None, reveal: bool) -> dict[str, Any]:
    phone = contact.phone if contact else resident.phone
    out: dict[str, Any] = {
        "resident_id": resident.resident_id,
        "who": "contact" if contact else "resident",
        "name": contact.name if contact else resident.name,
        "relation": contact.relation if contact else "",
        "priority": contact.priority if contact else 0,
        "may_sms": contact.may_sms if contact else False,
        "phone": phone if reveal else mask_phone(phone),
    }
    if reveal and phone:
        out["tel"] = tel(phone)
    return out


def people(ctx: HubContext, incident: Incident, reveal: bool = False) -> list[dict[str, Any]]:
    """Residents of the incident and their contacts by priority, numbers masked unless `reveal`."""
    out = []
    for resident in _residents(ctx, incident):
        if resident.phone:
            out.append(_person(resident, None, reveal))
        out += [_person(resident, c, reveal) for c in contacts_of(ctx.registry.db, resident.resident_id)]
    return out


@router.post("/incidents/{incident_id}/contacts/reveal")
def reveal(incident_id: IncidentId, ctx: Ctx, incidents: Incidents, access: Access, auth: Auth,
           user: Staff) -> dict[str, Any]:
    """The full numbers of an active incident's resident(s) and contacts, as tel: links; audited with the incident."""
    try:
        incident = incidents.get(incident_id)
    except IncidentError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    if incident.state not in ACTIVE_STATES:
        raise HTTPException(409, t("calls.reveal_closed", user_language(auth, user), state=incident.state))
    found = people(ctx, incident, reveal=True)
    residents = sorted({p["resident_id"] for p in found})
    detail = {"residents": residents, "numbers": len(found), "role": user.role}
    incidents.audit(user.username, REVEALED, incident_id, detail)
    access.record(user.username, user.role, "contacts_reveal", f"incident:{incident_id}", detail)
    return {"incident_id": incident_id, "revealed_at": time.time(), "revealed_by": user.username, "people": found}


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=40)
    relation: str = Field(min_length=1, max_length=20)
    phone: str = Field(min_length=3, max_length=32)
    priority: int = Field(ge=1, le=99)
    may_sms: bool = True


class ContactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contacts: list[ContactIn] = Field(max_length=10)


@router.get("/residents/{resident_id}/contacts")
def resident_contacts(resident_id: str, ctx: Ctx) -> list[dict[str, Any]]:
    """A resident's contacts by priority, numbers masked."""
    return [{"name": c.name, "relation": c.relation, "phone": mask_phone(c.phone), "priority": c.priority,
             "may_sms": c.may_sms} for c in contacts_of(ctx.registry.db, resident_id)]


@router.put("/residents/{resident_id}/contacts")
def put_contacts(resident_id: str, body: ContactsIn, ctx: Ctx, incidents: Incidents, auth: Auth,
                 user: Admin) -> list[dict[str, Any]]:
    """Replace a resident's contacts (admins); 422 with the reason in the reader's language."""
    wanted = [Contact(c.name, c.relation, c.phone, c.priority, c.may_sms) for c in body.contacts]
    try:
        saved = set_contacts(ctx.registry.db, resident_id, wanted, user.username)
    except ContactError as exc:
        status = 404 if exc.code == "contacts.unknown_resident" else 422
        raise HTTPException(status, t(exc.code, user_language(auth, user), **exc.params)) from exc
    incidents.audit(user.username, "contacts_changed", None, {"resident_id": resident_id, "contacts": len(saved)})
    return resident_contacts(resident_id, ctx)
