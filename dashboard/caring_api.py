"""Caring calls (关爱回访) on the console: the weekly calls to residents living alone, their numbers revealed on
purpose (audited) and their outcomes (dispatch/caring_calls.py: a call that finds trouble or goes unanswered
three times opens an incident, which escalates like an alert)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from dashboard.contacts_api import IncidentId, tel
from dashboard.deps import Access, Ctx, RowId, Staff
from dashboard.place_scope import PlaceScope, Scope, place_in_scope
from dispatch.caring_calls import CaringCallError, CaringCalls
from dispatch.service_catalogue import ServiceCatalogue

router = APIRouter(prefix="/api", tags=["calls"], dependencies=[Depends(place_in_scope)])  # other townships: 404
TaskId = RowId


async def get_caring(request: Request) -> CaringCalls:
    """The hub's caring calls, made by `create_app`."""
    caring: CaringCalls = request.app.state.caring
    return caring


Caring = Annotated[CaringCalls, Depends(get_caring)]


def _task(caring: CaringCalls, task_id: int, scope: PlaceScope) -> dict[str, Any]:
    try:
        task = caring.get(task_id)
    except CaringCallError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    if not scope.allows_resident(str(task["resident_id"])):
        raise HTTPException(404, f"no caring call {task_id}")  # another township's: as if it did not exist
    return task


@router.get("/caring-calls")
def due_calls(caring: Caring, scope: Scope) -> list[dict[str, Any]]:
    """The caring calls due now (planned first: weekly for each resident living alone), no numbers; of the
    account's townships only."""
    caring.plan()
    return caring.due(100, scope.sql)  # a limited account: its own first 100, not the county's filtered


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["well", "needs_help", "no_answer"]
    note: str = Field("", max_length=500)
    satisfaction: int | None = Field(None, ge=1, le=5, description="1-5, for a satisfaction call-back")


@router.post("/caring-calls/{task_id}")
def record_outcome(task_id: TaskId, body: OutcomeIn, caring: Caring, user: Staff, scope: Scope) -> dict[str, Any]:
    """Record how the call went (an incident opens when help is needed or the third call goes unanswered)."""
    _task(caring, task_id, scope)
    try:
        return caring.record(task_id, user.username, body.outcome, body.note, body.satisfaction)
    except CaringCallError as exc:
        raise HTTPException(exc.status, str(exc)) from exc


@router.post("/caring-calls/{task_id}/reveal")
def reveal_number(task_id: TaskId, ctx: Ctx, caring: Caring, access: Access, user: Staff,
                  scope: Scope) -> dict[str, Any]:
    """The resident's number for a due caring call, as a tel: link (written to the access log)."""
    task = _task(caring, task_id, scope)
    if task["state"] != "due":
        raise HTTPException(409, f"caring call {task_id} is {task['state']}")
    resident = ctx.registry.resident(str(task["resident_id"]))
    if resident is None or not resident.phone:
        raise HTTPException(404, "no number on record")
    access.record(user.username, user.role, "caring_call_number", resident.resident_id, {"task": task_id})
    return {"task_id": task_id, "resident_id": resident.resident_id, "phone": resident.phone,
            "tel": tel(resident.phone)}


@router.get("/services")
def services(request: Request, _user: Staff) -> list[dict[str, Any]]:
    """The service catalogue: price, unit and the government's subsidy share per resident category."""
    catalogue: ServiceCatalogue = request.app.state.catalogue
    return catalogue.services()


@router.get("/incidents/{incident_id}/completion")
def completion(incident_id: IncidentId, request: Request, _user: Staff) -> dict[str, Any]:
    """The completion record of a service order (404 until its provider reported it done)."""
    catalogue: ServiceCatalogue = request.app.state.catalogue
    done = catalogue.completed(incident_id)
    if done is None:
        raise HTTPException(404, f"incident {incident_id} has no completed service")
    return done
