"""Escalation policies and text messages over HTTP (issue 15).

- `GET /api/escalation/policies` (supervisors and up) and `PUT`/`DELETE /api/escalation/policies/{severity}`
  (admins; `?kind=fall` for one kind's policy): the policies the escalator uses, typed; each change is written to
  the incident audit log (who, what before, what after) besides the request's attribution (dashboard/guard.py).
- `GET /api/incidents/{incident_id}/messages`: the texts sent about an incident, numbers masked, with their status
  and delivery report; `GET /api/sms`: the gateway's state, the outbox, the newest messages (masked).
- `GET /api/sms/dlr`: Kannel's delivery-report callback (no session: Kannel has none; each message's URL carries a
  random token, checked here).
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts.incidents.policy import POLICIES, SEVERITIES, Policy, PolicyError, PolicyStore, Step, policy_key
from alerts.sms.outbox import mask_number
from alerts.sms.sender import SmsSender, message_json
from dashboard.deps import ROW_ID_MAX, Admin, Auth, Ctx, Incidents, RowId, Staff, Supervisor, require
from dashboard.i18n_api import CATALOGUE, user_language
from dashboard.pages import STATIC
from dashboard.place_scope import Scope, place_in_scope

router = APIRouter(prefix="/api", tags=["escalation"], dependencies=[Depends(require()), Depends(place_in_scope)])
open_router = APIRouter(prefix="/api", tags=["sms"])
pages = APIRouter(tags=["escalation"], include_in_schema=False)
_KIND = r"^[a-z0-9_]{0,40}$"


class StepIn(BaseModel):
    """One step: after how long (seconds, from the start of its phase), which channel, whom."""

    model_config = ConfigDict(extra="forbid")
    phase: Literal["open", "acknowledged"]
    after_s: float = Field(ge=0, le=7 * 86400)
    channel: Literal["console", "sms_oncall", "sms_family", "offer"]
    target: str = Field("", max_length=40)


class PolicyIn(BaseModel):
    """A policy: its steps and how often its console steps repeat."""

    model_config = ConfigDict(extra="forbid")
    repeat_s: float = Field(ge=10, le=86400)
    steps: list[StepIn] = Field(min_length=1, max_length=20)


def _policies(ctx: Ctx) -> PolicyStore:
    if ctx.policies is None:
        raise HTTPException(503, "no escalation policies in this hub")
    return ctx.policies


def _sms(ctx: Ctx) -> SmsSender:
    if ctx.sms is None:
        raise HTTPException(503, "no SMS gateway in this hub")
    return ctx.sms


Policies = Annotated[PolicyStore, Depends(_policies)]
Sms = Annotated[SmsSender, Depends(_sms)]


def _listing(store: PolicyStore) -> list[dict[str, Any]]:
    stored = {policy_key(r["severity"], r["kind"]): r for r in store.stored()}
    out = []
    for key, policy in sorted(store.all().items(), key=lambda kv: (SEVERITIES.index(kv[0].split("/")[0]), kv[0])):
        severity, _, kind = key.partition("/")
        row = stored.get(key, {})
        out.append({"severity": severity, "kind": kind, **policy.to_json(), "default": key not in stored,
                    "updated_at": row.get("updated_at"), "updated_by": row.get("updated_by")})
    return out


@router.get("/escalation/policies")
def policies(store: Policies, _user: Supervisor) -> list[dict[str, Any]]:
    """Every policy in force: the defaults and the stored ones (`default: false`), per severity (and kind)."""
    return _listing(store)


@router.put("/escalation/policies/{severity}")
def put_policy(severity: Literal["critical", "warning", "info"], body: PolicyIn, store: Policies,
               incidents: Incidents, user: Admin, auth: Auth,
               kind: Annotated[str, Query(pattern=_KIND)] = "") -> dict[str, Any]:
    """Replace one policy (admins); a bad step answers 422 in the admin's language."""
    policy = Policy(tuple(Step(**s.model_dump()) for s in body.steps), body.repeat_s)
    before = store.all().get(policy_key(severity, kind))
    try:
        store.put(severity, kind, policy, user.username)
    except PolicyError as exc:
        language = user_language(auth, user)
        value = str(exc).partition(": ")[2]
        raise HTTPException(422, CATALOGUE.text(exc.key, language) + (f": {value}" if value else "")) from exc
    incidents.audit(user.username, "escalation_policy_changed", None,
                    {"severity": severity, "kind": kind, "before": _masked(before), "after": _masked(policy)})
    return {"severity": severity, "kind": kind, **policy.to_json()}


@router.delete("/escalation/policies/{severity}")
def reset_policy(severity: Literal["critical", "warning", "info"], store: Policies, incidents: Incidents,
                 user: Admin, kind: Annotated[str, Query(pattern=_KIND)] = "") -> dict[str, Any]:
    """Back to the default (admins)."""
    before = store.all().get(policy_key(severity, kind))
    removed = store.reset(severity, kind)
    if removed:
        incidents.audit(user.username, "escalation_policy_reset", None,
                        {"severity": severity, "kind": kind, "before": _masked(before)})
    return {"severity": severity, "kind": kind, "reset": removed, **POLICIES[severity].to_json()}


def _masked(policy: Policy | None) -> dict[str, Any] | None:
    """A policy for the audit log: on-call numbers masked."""
    if policy is None:
        return None
    data = policy.to_json()
    for step in data["steps"]:
        if step["channel"] == "sms_oncall":
            step["target"] = mask_number(step["target"])
    return data


@router.get("/incidents/{incident_id}/messages")
def incident_messages(incident_id: RowId, sms: Sms,
                      _user: Staff) -> list[dict[str, Any]]:
    """The texts sent (or queued) about one incident, oldest first: channel, masked number, status, report."""
    return [message_json(m, mask_number) for m in sms.outbox.of_incident(incident_id)]


@router.get("/sms")
def sms_state(sms: Sms, scope: Scope, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """The gateway (up or down, since when), how many wait in the outbox, the newest messages (a limited account:
    those about its townships' incidents only)."""
    stats = sms.stats
    messages = sms.outbox.recent(limit, scope.sql)  # a limited account: its newest, not the county's filtered
    return {"configured": sms.gateway is not None, "gateway_up": stats.gateway_up, "down_since": stats.down_since,
            "pending": sms.outbox.pending(scope.sql),
            "sent": stats.sent, "retries": stats.retries, "failed": stats.failed,
            "messages": [message_json(m, mask_number) for m in messages]}


@open_router.get("/sms/dlr", response_class=PlainTextResponse)
def delivery_report(ctx: Ctx, id: Annotated[int, Query(ge=1, le=ROW_ID_MAX)],
                    token: Annotated[str, Query(max_length=64)],
                    type: Annotated[int, Query(ge=0, le=64)], text: Annotated[str, Query(max_length=500)] = ""
                    ) -> str:
    """Kannel's delivery report of one message (its dlr-url: id, token, %d type, %A text)."""
    sms = _sms(ctx)
    message = sms.outbox.delivery_report(id, token, type, text, time.time())
    if message is None:
        raise HTTPException(404, "no such message")
    if ctx.bus is not None:
        ctx.bus.publish("sms", message_json(message, mask_number))
    return "ok"


@pages.get("/escalation")
def escalation_page() -> FileResponse:
    """The admins' page of escalation policies and the texts sent."""
    return FileResponse(STATIC / "escalation.html", headers={"Cache-Control": "no-cache"})
