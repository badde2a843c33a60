"""REST of the operator console: the incident queue, one incident with its evidence, the operators' actions.

Every route needs a signed-in member of staff; the acting user is recorded in the audit log with each action.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from alerts.incidents.record import Incident
from alerts.incidents.service import SEVERITY_RANK, IncidentError
from dashboard.contacts_api import people
from dashboard.context import HubContext
from dashboard.deps import Ctx, Desk, Incidents, RowId, Staff, Supervisor, require
from dashboard.place_scope import Scope, incident_in_scope, scope_of
from dashboard.privacy import masked

# an incident of a township outside the account's place scope answers 404 on every /incidents/{incident_id} route
router = APIRouter(prefix="/api", tags=["console"], dependencies=[Depends(require()), Depends(incident_in_scope)])
VITALS_S = 3600.0
IncidentId = RowId


def _call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except IncidentError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from exc


def _act(fn: Callable[..., Incident], *args: Any) -> dict[str, Any]:
    """An action on an incident; the incident it leaves, as JSON."""
    incident: Incident = _call(fn, *args)
    return incident.to_json()


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AckIn(Body):
    comment: str = Field("", max_length=2000)


class CallbackIn(Body):
    reached: bool
    note: str = Field("", max_length=2000)


class DispatchIn(Body):
    responder_id: str = Field(min_length=1, max_length=64)


class ResolveIn(Body):
    outcome: str = Field(min_length=1, max_length=40)
    comment: str = Field("", max_length=2000)


def queue_order(incident: Incident) -> tuple[int, float]:
    """Most severe first, then the longest waiting."""
    return -SEVERITY_RANK[incident.severity], incident.opened_at


@router.get("/incidents")
def list_incidents(
    ctx: Ctx, incidents: Incidents, desk: Desk, user: Staff, active: bool = True, limit: int = 200
) -> list[dict[str, Any]]:
    """The queue (active incidents, by severity then waiting time), or the latest incidents of any state, of the
    townships the account is limited to."""
    store, scope = incidents.store, scope_of(ctx.registry, user)
    listed = store.active() if active else store.listing(limit=limit, places=scope.sql)  # a full page of its own
    rows = [desk.orders.annotate(r) for r in listed if scope.allows(r)]
    ordered = sorted(rows, key=queue_order) if active else rows  # service orders carry their slot (issue 5)
    return [r.to_json() for r in ordered]


def _profile(ctx: HubContext, incident: Incident) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if incident.resident_id:
        resident = ctx.registry.resident(incident.resident_id)
        out["resident"] = masked(resident) if resident else None
    if incident.home_id:
        rows = ctx.registry.db.execute("SELECT * FROM homes WHERE home_id=?", [incident.home_id])
        out["home"] = dict(rows[0]) if rows else None
    return out


def _vitals(ctx: HubContext, device_id: str) -> list[dict[str, Any]]:
    now = time.time()
    return [{"ts": r.ts, **r.values} for r in ctx.store.range(device_id, now - VITALS_S, now + 60, 5000)]


@router.get("/incidents/{incident_id}")
def get_incident(incident_id: IncidentId, ctx: Ctx, incidents: Incidents, desk: Desk) -> dict[str, Any]:
    """An incident with the resident's profile (masked), home, last vitals, accelerometer clips and offers."""
    incident: Incident = _call(incidents.get, incident_id)
    clips = [ctx.detections.clip(a.device_id, a.ts) for a in incident.alerts or () if a.kind == "fall"]
    return {
        **incident.to_json(),
        **_profile(ctx, incident),
        "people": people(ctx, incident),  # numbers to call, masked until revealed (contacts_api)
        "vitals": _vitals(ctx, incident.device_id),
        "clips": [c.to_json() for c in clips if c is not None],
        "offers": desk.offers.of_incident(incident_id),
        "service_order": desk.orders.get(incident_id),
        "audit": incidents.store.audit_log(incident_id),
    }


@router.post("/incidents/{incident_id}/acknowledge")
def acknowledge(incident_id: IncidentId, body: AckIn, incidents: Incidents, user: Staff) -> dict[str, Any]:
    """Take the incident, with a comment."""
    return _act(incidents.acknowledge, incident_id, user.username, body.comment)


@router.post("/incidents/{incident_id}/callback")
def callback(incident_id: IncidentId, body: CallbackIn, incidents: Incidents, user: Staff) -> dict[str, Any]:
    """Record a call-back (reached or not, and what was said)."""
    return _act(incidents.callback, incident_id, user.username, body.reached, body.note)


@router.get("/incidents/{incident_id}/candidates")
def candidates(incident_id: IncidentId, desk: Desk) -> list[dict[str, Any]]:
    """Responders ranked by arrival time, capability, availability and load."""
    return [asdict(c) for c in _call(desk.candidates, incident_id)]


@router.post("/incidents/{incident_id}/dispatch")
def dispatch(incident_id: IncidentId, body: DispatchIn, desk: Desk, user: Staff) -> dict[str, Any]:
    """Send the chosen responder (an offer; the next candidates follow on decline or timeout)."""
    return _act(desk.dispatch, incident_id, user.username, body.responder_id)


@router.post("/incidents/{incident_id}/resolve")
def resolve(incident_id: IncidentId, body: ResolveIn, incidents: Incidents, user: Staff) -> dict[str, Any]:
    """Settle the incident with an outcome (helped, false_alarm, taken_to_hospital, ...)."""
    return _act(incidents.resolve, incident_id, user.username, body.outcome, body.comment)


@router.post("/incidents/{incident_id}/close")
def close(incident_id: IncidentId, incidents: Incidents, user: Supervisor) -> dict[str, Any]:
    """Close a resolved incident after review (supervisors)."""
    return _act(incidents.move, incident_id, "closed", user.username)


@router.get("/incidents/{incident_id}/audit")
def incident_audit(incident_id: IncidentId, incidents: Incidents) -> list[dict[str, Any]]:
    """Every step of one incident, oldest first."""
    return incidents.store.audit_log(incident_id)


@router.get("/audit")
def audit(incidents: Incidents, _user: Supervisor, scope: Scope, limit: int = 500) -> list[dict[str, Any]]:
    """The whole audit log (supervisors and up). An account limited to townships gets the entries about its
    townships' incidents only (the newest `limit` of them); the county's own entries (sign-ins, accounts, policies,
    the command room) are not about a township, so they stay with the county's accounts."""
    return incidents.store.audit_log(None, limit, scope.sql)
