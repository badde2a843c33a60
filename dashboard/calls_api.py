"""The hotline's own work: screen pop of incoming calls, operators' lines, requests taken by phone.

`POST /api/calls` comes from the PBX/CTI system (caller number, called line, call id) with the CTI token
(`Authorization: Bearer ...`, HUB_HTTP__CTI_TOKEN), or from a signed-in member of staff (session and CSRF header,
e.g. a softphone in the browser). The caller is looked up among residents' and contacts' numbers and a `call`
frame goes on the live bus for the operator on the called line (every console when no one took that line): their
console pops the resident's card, or a blank record for an unknown number. Numbers in the frame are masked.
An operator opens an incident or a service order for a resident with `POST /api/incidents` (a request by phone).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from alerts.detection import Detection, Severity
from dashboard.auth import ROLES, SESSION_COOKIE
from dashboard.call_log import Call, CallLog
from dashboard.context import HubContext
from dashboard.deps import Ctx, Incidents, Staff
from dashboard.guard import CSRF_HEADER, csrf_token
from dashboard.place_scope import Scope
from dashboard.privacy import mask_phone, masked
from devices.contacts import callers
from devices.models import Family
from devices.schemas import Service

router = APIRouter(prefix="/api", tags=["calls"])
PHONE_KINDS: dict[str, Severity] = {  # what an operator can open for a request taken by phone
    "sos": Severity.CRITICAL,  # the caller needs help now (fell, cannot get up, chest pain...)
    "phone_request": Severity.WARNING,  # help needed, not an emergency
    "service_request": Severity.INFO,  # a service (meals, cleaning...) with a slot, like the green key
}


async def get_call_log(request: Request) -> CallLog:
    """The hub's call log, made by `create_app`."""
    log: CallLog = request.app.state.calls
    return log


Calls = Annotated[CallLog, Depends(get_call_log)]


def _cti_user(request: Request, ctx: Ctx) -> str:
    """'cti' for the PBX's bearer token, the user name for a signed-in member of staff (with CSRF); else 401."""
    sha: str = request.app.state.cti_token_sha
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and sha:
        sent = hashlib.sha256(header[7:].strip().encode()).hexdigest()
        if hmac.compare_digest(sent, sha):
            return "cti"
        raise HTTPException(401, "wrong CTI token")
    token = request.cookies.get(SESSION_COOKIE, "")
    user = ctx.auth.session(token) if ctx.auth is not None and token else None
    if user is None or user.role not in ROLES:
        raise HTTPException(401, "send the CTI token (Authorization: Bearer ...) or sign in")
    if not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(), csrf_token(token).encode()):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return user.username


CtiActor = Annotated[str, Depends(_cti_user)]  # a dependency: checked before the body is read (401 before 422)


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caller: str = Field(min_length=1, max_length=32, description="The calling number (ANI / caller ID)")
    line: str = Field(min_length=1, max_length=32, description="The called line or extension (DNIS / 分机)")
    call_id: str = Field(min_length=1, max_length=128, description="The PBX's id of the call (retries are kept once)")


def _card(ctx: HubContext, resident_id: str) -> dict[str, Any] | None:
    resident = ctx.registry.resident(resident_id)
    if resident is None:
        return None
    rows = ctx.registry.db.execute("SELECT address FROM homes WHERE home_id=?", [resident.home_id])
    active = [i.to_json() for i in ctx.incidents.store.active() if i.resident_id == resident_id] \
        if ctx.incidents is not None else []
    return {**masked(resident), "address": rows[0]["address"] if rows else "", "incidents": active}


def _screen_pop(ctx: HubContext, calls: CallLog, body: CallIn, actor: str) -> dict[str, Any] | None:
    """Match, record and describe the call (None: this call id was reported already)."""
    found = callers(ctx.registry.db, body.caller)
    operator = calls.operator_on(body.line)
    first = found[0] if found else None
    call = Call(body.call_id, body.caller, body.line, first.resident_id if first else None, operator, time.time(),
                actor)
    if not calls.record(call):
        return None
    if ctx.incidents is not None:
        ctx.incidents.audit(actor, "call_received", None, {"call_id": body.call_id, "line": body.line,
                                                            "caller": mask_phone(body.caller),
                                                            "resident_id": call.resident_id})
    contact = first.contact if first else None
    return {"call_id": body.call_id, "line": body.line, "operator": operator, "received_at": call.received_at,
            "caller": mask_phone(body.caller), "known": first is not None,
            "caller_relation": contact.relation if contact else ("self" if first else ""),
            "caller_name": contact.name if contact else "",
            "resident": _card(ctx, first.resident_id) if first else None,
            "others": sorted({c.resident_id for c in found[1:]} - {call.resident_id})}


@router.post("/calls", status_code=202)
async def incoming_call(body: CallIn, actor: CtiActor, ctx: Ctx, calls: Calls) -> dict[str, Any]:
    """A call from the PBX/CTI: pops the caller's resident card (or a blank record) on the line's console."""
    pop = await asyncio.to_thread(_screen_pop, ctx, calls, body, actor)
    if pop is None:
        return {"call_id": body.call_id, "duplicate": True}
    ctx.bus.publish("call", pop)  # on the event loop: the bus is not thread-safe
    return {"call_id": body.call_id, "operator": pop["operator"], "known": pop["known"],
            "resident_id": pop["resident"]["resident_id"] if pop["resident"] else None}


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: str = Field("", max_length=32, pattern=r"^[0-9A-Za-z*#+-]*$")


@router.get("/calls/line")
def my_line(user: Staff, calls: Calls) -> dict[str, str]:
    """The line (extension) the signed-in operator answers."""
    return {"username": user.username, "line": calls.line_of(user.username)}


@router.put("/calls/line")
def take_line(body: LineIn, user: Staff, calls: Calls) -> dict[str, str]:
    """Answer calls on this line from now on (empty: none); screen pops for it come to this operator."""
    calls.take_line(user.username, body.line)
    return {"username": user.username, "line": body.line}


@router.get("/calls")
def recent_calls(calls: Calls, scope: Scope, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    """The latest calls, newest first, numbers masked; a limited account's: those of its townships' residents only
    (a caller who is no known resident is nobody's township, so not theirs)."""
    return [{**c, "caller": mask_phone(str(c["caller"]))} for c in calls.recent(limit, scope.sql)]


class PhoneRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: str = Field(min_length=1, max_length=64)
    kind: Literal["sos", "phone_request", "service_request"]
    service: Service | Literal["unspecified"] = "unspecified"
    note: str = Field("", max_length=500)
    call_id: str = Field("", max_length=128)


def _wearable(ctx: HubContext, resident_id: str) -> str:
    """The resident's wearable (its vitals and its 'help is coming' downlink), or '' when they have none."""
    for device in ctx.registry.list_devices(Family.WEARABLE):
        if device.resident_id == resident_id and device.active:
            return device.device_id
    return ""


def _open_by_phone(ctx: HubContext, body: PhoneRequestIn, actor: str) -> dict[str, Any]:
    incidents = ctx.incidents
    assert incidents is not None  # the route's dependency answered 503 otherwise
    if ctx.registry.resident(body.resident_id) is None:
        raise HTTPException(404, f"no resident {body.resident_id!r}")
    now = time.time()
    message = body.service if body.kind == "service_request" else body.note
    det = Detection("phone", body.kind, body.resident_id, _wearable(ctx, body.resident_id), now,
                    PHONE_KINDS[body.kind], 1.0, {}, message, key=body.call_id or f"{actor}:{now}")
    ctx.detections([det])
    incidents.on_detections([det])
    prefix = "service" if body.kind == "service_request" else "resident"
    incident = incidents.store.active_for(f"{prefix}:{body.resident_id}")
    if incident is None:
        raise HTTPException(500, "the incident could not be opened (see the hub's log)")
    incidents.audit(actor, "phoned_in", incident.id, {"kind": body.kind, "call_id": body.call_id,
                                                      "note": body.note, "service": body.service})
    return incident.to_json()


@router.post("/incidents", status_code=201)
def open_incident(body: PhoneRequestIn, ctx: Ctx, _incidents: Incidents, user: Staff, scope: Scope) -> dict[str, Any]:
    """Open an incident (sos, phone_request) or a service order (service_request) for a request taken by phone."""
    if not scope.allows_resident(body.resident_id):
        raise HTTPException(404, f"no resident {body.resident_id!r}")  # another township's: as if unknown
    return _open_by_phone(ctx, body, user.username)
