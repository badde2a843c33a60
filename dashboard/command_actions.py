"""Command actions over REST (issue 6): report form, roll-up export, evacuation tasks, teams and relief.

Any staff may file a report phoned in by a village officer and move an evacuation task (operators make those
calls); sending teams and planning or approving relief needs the commander (or an admin).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from alerts.disaster.reports import ReportError, rollup, rollup_csv, rollup_xlsx
from dashboard.auth import REPORTER
from dashboard.deps import Auth, Commander, Ops, Reporting, Staff
from dashboard.events_api import limited, villages_of
from dashboard.i18n_api import user_language
from dashboard.place_scope import COUNTY_ONLY, OUTSIDE, Scope
from dispatch.disaster.assignment import Team
from dispatch.disaster.evacuation import STATE_STATUS, TransitionError
from dispatch.disaster.relief import Warehouse
from dispatch.disaster.resource_store import ResourceError

router = APIRouter(prefix="/api/command", tags=["command"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TaskMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str = Field(pattern="^(contacted|confirmed_safe|relocated|unreachable)$")
    note: str = Field("", max_length=500)


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team_id: str = Field(min_length=1, max_length=64)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    capabilities: list[str] = Field(default_factory=list)


class WarehouseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warehouse_id: str = Field(min_length=1, max_length=64)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    stock: dict[str, float]


class ReportIn(BaseModel):
    """A village officer's report as the form sends it (issue 16): typed, bounded, the time set by the hub."""

    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    village_id: str = Field(min_length=1, max_length=64)
    stage: Literal["initial", "follow_up", "verified"]
    hazard: str = Field("", max_length=32, pattern=r"^[a-z_]*$")
    indicators: dict[str, float] | None = Field(None, max_length=32)
    zero: bool = False
    corrected: bool = False
    officer: str = Field("", max_length=64)
    note: str = Field("", max_length=2000)


@router.post("/reports")
async def submit_report(ops: Ops, user: Reporting, form: ReportIn) -> dict[str, Any]:
    """The web form: event_id, village_id (registered), stage, indicators{...}, zero, corrected, officer, note,
    hazard. The report's time is the hub's clock when it arrives, never a time the client sends. A reporter
    (issue 14) files only for the villages granted to the account, and signs as itself."""
    if form.village_id not in ops.centre.villages:
        raise HTTPException(422, f"village {form.village_id!r} is not registered")
    fields = form.model_dump(exclude_unset=True)
    if limited(user) and form.village_id not in await asyncio.to_thread(villages_of, ops, user):
        raise HTTPException(403, f"village {form.village_id!r} is not one of yours")  # a reporter's, or a township's
    if user.role == REPORTER:
        fields["officer"] = user.username
    ops.centre.sync(force=True)  # issue 14: the versions another worker accepted come first
    try:
        kept = ops.centre.book.submit_form(fields, time.time())
    except (ReportError, ValueError, TypeError) as exc:
        raise HTTPException(422, str(exc)) from exc
    ops.centre.draft_report(kept)  # issue 14: an initial report drafts a warning for the commander
    ops.centre.publish("report", {"village_id": kept.village_id, "event_id": kept.event_id, "stage": kept.stage,
                                  "version": kept.version, "ts": kept.ts})  # fmt: skip
    return {"event_id": kept.event_id, "village_id": kept.village_id, "stage": kept.stage, "version": kept.version}


@router.get("/reports/draft")
async def report_draft(ops: Ops, user: Reporting, event_id: str, village_id: str) -> dict[str, Any]:
    """The next follow-up's indicators, prefilled with the people relocated by the evacuation."""
    if village_id not in ops.centre.villages:
        raise HTTPException(422, f"village {village_id!r} is not registered")
    if limited(user) and village_id not in await asyncio.to_thread(villages_of, ops, user):
        raise HTTPException(403, f"village {village_id!r} is not one of yours")
    relocated = ops.relocated().get(village_id, 0)
    indicators = ops.centre.book.draft_follow_up(event_id, village_id, relocated)
    return {"event_id": event_id, "village_id": village_id, "stage": "follow_up",
            "indicators": {k: getattr(indicators, k) for k in indicators.__struct_fields__}}  # fmt: skip


@router.get("/reports/{event_id}/rollup.{fmt}")
async def report_rollup(ops: Ops, user: Staff, auth: Auth, scope: Scope, event_id: str, fmt: str) -> Response:
    """The roll-up (county, townships, villages) as CSV or Excel; a limited account's: its townships and their
    villages only, without the county's total."""
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(404, "rollup.csv or rollup.xlsx")
    if event_id not in ops.centre.book.events:
        raise HTTPException(404, f"no event {event_id}")
    places = {v.village_id: (v.township, v.county) for v in ops.centre.villages.values()}
    rows = rollup(ops.centre.book, event_id, places)
    if scope.limited:
        mine = {v for v in places if scope.allows_village(v)}
        towns = {places[v][0] for v in mine}
        rows = [r for r in rows if (r.level == "village" and r.village in mine)
                or (r.level == "township" and r.township in towns)]  # fmt: skip
    lang = user_language(auth, user)  # issue 18: headed in the reader's language
    body, media = ((rollup_csv(rows, lang), "text/csv; charset=utf-8") if fmt == "csv"
                   else (rollup_xlsx(rows, language=lang), XLSX))  # fmt: skip
    disposition = f'attachment; filename="{event_id}-rollup.{fmt}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


@router.get("/evacuation/{area}")
async def evacuation_list(ops: Ops, scope: Scope, area: str) -> dict[str, Any]:
    """The area's tasks in priority order (as created), with their states (another township's area: 404)."""
    if not scope.allows_village(area):
        raise HTTPException(404, f"no area {area}")
    key = ops.centre.warning_key(area)
    tasks = [asdict(t) for t in ops.centre.tasks.tasks.values() if key and t.warning_id == key]
    return ops.centre.evacuation_status(area) | {"list": tasks}


@router.post("/tasks/{task_id}")
async def move_task(ops: Ops, user: Staff, scope: Scope, task_id: str, body: TaskMove) -> dict[str, Any]:
    """contacted, confirmed_safe, relocated or unreachable; relocations count into the village's next report. Who
    and when go to the task's history with the note (issue 14: the work list's `/api/evacuation` does the same)."""
    known = ops.centre.tasks.tasks.get(task_id)
    if known is not None and not scope.allows_village(known.village_id):
        raise HTTPException(404, f"no task {task_id}")  # another township's
    try:
        status = STATE_STATUS[body.state]
        task = ops.centre.set_status(task_id, status, user.username, body.note, time.time())
    except KeyError as exc:
        raise HTTPException(404, f"no task {task_id}") from exc
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from exc
    return asdict(task)


@router.post("/teams")
async def add_team(ops: Ops, user: Commander, scope: Scope, body: TeamIn) -> dict[str, str]:
    """Register a rescue team at its base (in the account's townships)."""
    if not scope.allows_point(ops.centre.villages.values(), body.lat, body.lon):
        raise HTTPException(403, OUTSIDE)
    try:
        ops.add_team(Team(body.team_id, body.lat, body.lon, frozenset(body.capabilities)), user.username, time.time())
    except ResourceError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"team_id": body.team_id}


@router.post("/assign")
async def assign(ops: Ops, user: Commander) -> dict[str, Any]:
    """Send the available teams to the incidents (optimal assignment): every team to every incident of the county,
    so a county account's decision (403 for one limited to townships, who confirms pairs on /resources)."""
    if user.townships:
        raise HTTPException(403, COUNTY_ONLY)
    plan = ops.assign(user.username, time.time())
    ops.centre.publish("teams", {"pairs": plan.pairs, "unassigned": plan.unassigned})
    return {"pairs": plan.pairs, "unassigned": plan.unassigned, "cost": plan.cost}


@router.post("/warehouses")
async def add_warehouse(ops: Ops, user: Commander, scope: Scope, body: WarehouseIn) -> dict[str, str]:
    """Register a warehouse and its stock (in the account's townships)."""
    if not scope.allows_point(ops.centre.villages.values(), body.lat, body.lon):
        raise HTTPException(403, OUTSIDE)
    try:
        ops.add_warehouse(Warehouse(body.warehouse_id, body.lat, body.lon, body.stock), user.username, time.time())
    except ResourceError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"warehouse_id": body.warehouse_id}


@router.post("/relief/plan")
async def relief_plan(ops: Ops, user: Commander, days: float = 3.0) -> dict[str, Any]:
    """A draft relief plan for the relocated (recorded, issue 14, when the hub has a state database): the county's
    stock for the county's villages, a county account's decision."""
    if user.townships:
        raise HTTPException(403, COUNTY_ONLY)
    plan = ops.record_relief(user.username, time.time(), days).plan if ops.store else ops.propose_relief(days)
    return {"status": plan.status, "fill": plan.fill, "shipments": [asdict(s) for s in plan.shipments]}


@router.post("/relief/approve")
async def relief_approve(ops: Ops, user: Commander) -> dict[str, Any]:
    """The commander approves the current draft (a county account's decision)."""
    if user.townships:
        raise HTTPException(403, COUNTY_ONLY)
    try:
        plan = ops.approve_relief(user.username, time.time())
    except (ValueError, KeyError) as exc:
        raise HTTPException(409, str(exc)) from exc
    ops.centre.publish("relief", {"status": plan.status, "approved_by": plan.approved_by})
    return {"status": plan.status, "approved_by": plan.approved_by, "approved_at": plan.approved_at}
