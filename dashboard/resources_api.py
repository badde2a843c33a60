"""Rescue teams and relief supplies on a page (issue 14, item 6): `/resources` and its REST.

- `GET /api/resources`: teams (status, incident, who moved them and when), warehouses with stock per item and the
  soonest expiry, the item catalogue with units, the newest relief plans with receipts, the open incidents.
- `GET /api/resources/ledger`: a warehouse's ledger lines (receipts, issues, who signed).
- `GET /api/resources/assignment`: the optimal assignment beside the greedy one (nothing moves).
- `POST /api/resources/teams` (commander) registers a team; `POST /api/resources/assignment` (commander) confirms
  pairs: those teams go en route; `POST /api/resources/teams/{id}/status` (staff, who relay the team's radio) moves
  one on (on_scene, done, available).
- `POST /api/resources/warehouses` (commander) registers a warehouse (name, township, location);
  `POST /api/resources/warehouses/{id}/receipts` (commander) signs a lot in (item, quantity, expiry, who signed for
  it); approval issues each item oldest-expiry-first (FEFO) and never from an expired lot; `POST /api/resources/relief`
  (commander)
  plans relief by the linear program; `POST /api/resources/relief/{plan_id}/approve` (commander) issues the stock;
  `POST /api/resources/relief/{plan_id}/receipts/{village_id}` (staff, or the village's own reporter) confirms the
  village received it.
Every change is recorded with the signed-in user (and audited by the guard's attribution middleware). Handlers that
read the command centre (incidents, relocated people) or change FieldOps run on the event loop, as the map's do;
pure ledger reads and writes go to a thread.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import asdict, replace
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from dashboard.auth import StaffUser
from dashboard.deps import Commander, Ctx, Ops, Reporting, Staff
from dashboard.events_api import limited, villages_of
from dashboard.pages import STATIC
from dashboard.place_scope import COUNTY_ONLY, OUTSIDE, PlaceScope, Scope, scope_of
from dispatch.disaster.assignment import CAPABILITIES, Plan, Team, restricted
from dispatch.disaster.field_ops import FieldOps
from dispatch.disaster.relief import NEEDS, UNITS, for_villages
from dispatch.disaster.resource_store import NEXT, ResourceError, ResourceStore, StoredPlan, cst_day

router = APIRouter(prefix="/api/resources", tags=["resources"])  # roles per route (a reporter confirms receipt)
pages = APIRouter(tags=["resources"], include_in_schema=False)


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    team_id: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_.-]*$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    capabilities: list[str] = Field(default_factory=list, max_length=8)


class Pairs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pairs: list[tuple[str, str]] = Field(max_length=200)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(pattern="^(on_scene|done|available)$")


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(min_length=1, max_length=32)
    quantity: float = Field(gt=0, le=10_000_000)
    expires: str = Field("", pattern=r"^(\d{4}-\d{2}-\d{2})?$")
    note: str = Field("", max_length=200)
    signed_by: str = Field("", max_length=64)  # who signed for the goods (default: the signed-in user)


class WarehouseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    township: str = Field(min_length=1, max_length=64)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    warehouse_id: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_.-]*$")


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: float = Field(3.0, gt=0, le=30)


def _store(ops: FieldOps) -> ResourceStore:
    if ops.store is None:
        raise HTTPException(503, "no state database for resources")
    return ops.store


def _team_seen(ops: FieldOps, scope: PlaceScope, team: Team, incident: str) -> bool:
    """Scope by place: a team based in the account's townships, or sent to one of their villages."""
    return scope.allows_village(incident) or scope.allows_point(ops.centre.villages.values(), team.lat, team.lon)


def _warehouses_seen(ops: FieldOps, scope: PlaceScope, store: ResourceStore) -> tuple[str, ...] | None:
    """Scope by place: the warehouses in the account's townships (None: every one, for the county's accounts)."""
    if not scope.limited:
        return None
    villages = ops.centre.villages.values()
    return tuple(str(w["warehouse_id"]) for w in store.warehouse_rows()
                 if scope.allows_point(villages, float(w["lat"]), float(w["lon"])))  # fmt: skip


def _plan(p: Plan, ops: FieldOps) -> dict[str, Any]:
    names = {t.team_id: t.name or t.team_id for t in ops.teams.values()}
    return {"pairs": [{"team_id": t, "team": names.get(t, t), "incident": i} for t, i in p.pairs],
            "unassigned": list(p.unassigned), "cost": round(p.cost, 3)}  # fmt: skip


def _stored(s: StoredPlan, scope: PlaceScope | None = None) -> dict[str, Any] | None:
    if scope is not None and scope.limited:  # its villages' shipments, needs and receipts; None: none of them
        part = for_villages(s.plan, frozenset(scope.villages or ()))
        if part is None:
            return None
        s = replace(s, plan=part, receipts={v: r for v, r in s.receipts.items() if scope.allows_village(v)})
    return {"plan_id": s.plan_id, "status": s.plan.status, "created_by": s.created_by, "created_at": s.created_at,
            "approved_by": s.plan.approved_by, "approved_at": s.plan.approved_at, "fill": s.plan.fill,
            "shipments": [asdict(x) for x in s.plan.shipments],
            "receipts": {v: {"by": by, "at": at} for v, (by, at) in s.receipts.items()}}  # fmt: skip


def _audit(ctx: Ctx, user: StaffUser, action: str, detail: dict[str, Any]) -> None:
    if ctx.incidents is not None:
        ctx.incidents.audit(user.username, action, None, {"role": user.role, **detail})


def _townships(ops: FieldOps, scope: PlaceScope) -> list[str]:
    """The townships a warehouse may be made in: those of the account's villages (the county's: every one)."""
    villages = ops.centre.villages.values()
    return sorted({v.township for v in villages if v.township and scope.allows_village(v.village_id)})


def _overview(ops: FieldOps, scope: PlaceScope) -> dict[str, Any]:
    store = _store(ops)
    ops.refresh()
    today = cst_day(time.time())
    stock, expiry, usable = store.stock(), store.earliest_expiry(today), store.usable(today)
    lots: dict[str, list[dict[str, Any]]] = {}
    for lot in store.lots(today):
        if lot.remaining > 1e-6:
            lots.setdefault(lot.warehouse_id, []).append(asdict(lot))
    seen = _warehouses_seen(ops, scope, store)
    plans = [p for p in (_stored(s, scope) for s in store.plans(limit=10_000 if scope.limited else 5)) if p][:5]
    teams = [{"team_id": r.team.team_id, "name": r.team.name or r.team.team_id, "status": r.team.status,
              "capabilities": sorted(r.team.capabilities), "incident": r.incident, "lat": r.team.lat,
              "lon": r.team.lon, "updated_by": r.updated_by, "updated_at": r.updated_at, "assignment": r.assignment,
              "next": sorted(NEXT.get(r.team.status, frozenset()))} for r in store.teams()
             if _team_seen(ops, scope, r.team, r.incident)]  # fmt: skip
    warehouses = []
    for w in store.warehouse_rows():
        wid = str(w["warehouse_id"])
        if seen is not None and wid not in seen:
            continue
        have, ok = stock.get(wid, {}), usable.get(wid, {})
        warehouses.append({"warehouse_id": wid, "name": w["name"], "township": w["township"], "lat": w["lat"],
                           "lon": w["lon"], "stock": have, "usable": ok, "expires": expiry.get(wid, {}),
                           "expired": {i: round(q - ok.get(i, 0.0), 6) for i, q in have.items()
                                       if q - ok.get(i, 0.0) > 1e-6},
                           "lots": lots.get(wid, [])})  # fmt: skip
    return {"teams": teams, "warehouses": warehouses, "plans": plans,
            "items": [{"item": i, "unit": UNITS[i]} for i in NEEDS], "capabilities": sorted(CAPABILITIES),
            "townships": _townships(ops, scope), "today": today,
            "incidents": [asdict(i) | {"requires": sorted(i.requires),
                                       "name": getattr(ops.centre.villages.get(i.incident_id), "name", "")}
                          for i in ops.incidents() if scope.allows_village(i.incident_id)]}  # fmt: skip


@router.get("")
async def overview(ops: Ops, _user: Staff, scope: Scope) -> dict[str, Any]:
    """Teams, warehouses with stock, items, plans and incidents (of the account's townships: teams based or sent
    there, warehouses there, the plans' parts for their villages)."""
    return _overview(ops, scope)


@router.get("/ledger")
async def ledger(ops: Ops, _user: Staff, scope: Scope, warehouse_id: str = "",
                 limit: int = 200) -> list[dict[str, Any]]:
    """Ledger lines, newest first (of the account's townships' warehouses)."""
    seen = _warehouses_seen(ops, scope, _store(ops))
    if warehouse_id and seen is not None and warehouse_id not in seen:
        raise HTTPException(404, f"no warehouse {warehouse_id}")  # another township's: as if it did not exist
    rows = await asyncio.to_thread(_store(ops).ledger, warehouse_id or None, max(1, min(limit, 1000)), seen)
    return [asdict(e) for e in rows]


@router.get("/assignment")
async def assignment(ops: Ops, _user: Staff, scope: Scope) -> dict[str, Any]:
    """The optimal assignment of the available teams and the greedy one beside it (nothing is moved); for an
    account limited to townships, the part about their incidents and its share of the cost."""
    optimal, greedy = ops.propose()
    if scope.limited:
        teams, incidents = list(ops.teams.values()), ops.incidents()
        keep = frozenset(i.incident_id for i in incidents if scope.allows_village(i.incident_id))
        optimal, greedy = (restricted(p, teams, incidents, keep) for p in (optimal, greedy))
    return {"optimal": _plan(optimal, ops), "greedy": _plan(greedy, ops)}


@router.post("/teams")
async def add_team(ops: Ops, user: Commander, scope: Scope, body: TeamIn) -> dict[str, Any]:
    """Register a rescue team (available) at its base (in the account's townships)."""
    if not scope.allows_point(ops.centre.villages.values(), body.lat, body.lon):
        raise HTTPException(403, OUTSIDE)
    unknown = sorted(set(body.capabilities) - CAPABILITIES)
    if unknown:
        raise HTTPException(422, f"unknown capabilities {unknown}")
    team_id = body.team_id or f"TEAM-{uuid.uuid4().hex[:6].upper()}"
    team = Team(team_id, body.lat, body.lon, frozenset(body.capabilities), name=body.name)
    try:
        ops.add_team(team, user.username, time.time())
    except ResourceError as exc:
        raise HTTPException(409, str(exc)) from exc
    ops.centre.publish("teams", {"team_id": team_id, "status": "available"})
    return {"team_id": team_id, "status": "available"}


@router.post("/assignment")
async def confirm_assignment(ops: Ops, user: Commander, scope: Scope, body: Pairs) -> dict[str, Any]:
    """Send the confirmed (team, incident) pairs: each team goes en route (to the account's townships' incidents)."""
    ops.refresh()
    incidents = {i.incident_id for i in ops.incidents() if scope.allows_village(i.incident_id)}
    for team_id, incident_id in body.pairs:
        team = ops.teams.get(team_id)
        if team is not None and not _team_seen(ops, scope, team, ops.assigned.get(team_id, "")):  # not theirs
            raise HTTPException(404, f"no team {team_id}")
        if team is None or team.status != "available":
            raise HTTPException(409, f"team {team_id} is not available")
        if incident_id not in incidents:
            raise HTTPException(422, f"{incident_id} is not an open incident")
    try:
        plan = ops.assign(user.username, time.time(), tuple(body.pairs))
    except ResourceError as exc:
        raise HTTPException(409, str(exc)) from exc
    ops.centre.publish("teams", {"pairs": plan.pairs})
    return {"pairs": plan.pairs}


@router.post("/teams/{team_id}/status")
async def move_team(ops: Ops, user: Staff, scope: Scope, team_id: str, body: StatusIn) -> dict[str, Any]:
    """A team reports on scene, done, or back available (relayed by the duty staff)."""
    if scope.limited and not any(r.team.team_id == team_id and _team_seen(ops, scope, r.team, r.incident)
                                 for r in _store(ops).teams()):  # fmt: skip
        raise HTTPException(404, f"no team {team_id}")  # another township's: as if it did not exist
    _store(ops)
    try:  # issue 14: through FieldOps, so a team back at base has its assignment cleared on its MQTT topic
        rec = ops.move_team(team_id, body.status, user.username, time.time())
    except KeyError as exc:
        raise HTTPException(404, f"no team {team_id}") from exc
    except ResourceError as exc:
        raise HTTPException(409, str(exc)) from exc
    ops.centre.publish("teams", {"team_id": team_id, "status": rec.team.status})
    return {"team_id": team_id, "status": rec.team.status, "incident": rec.incident, "updated_by": rec.updated_by,
            "updated_at": rec.updated_at, "assignment": rec.assignment}  # fmt: skip


@router.post("/warehouses")
async def add_warehouse(ops: Ops, ctx: Ctx, user: Commander, scope: Scope, body: WarehouseIn) -> dict[str, Any]:
    """Register a warehouse (empty: its stock comes by receipts) in a registered township (of the account's)."""
    villages = ops.centre.villages.values()
    if body.township not in {v.township for v in villages}:
        raise HTTPException(422, f"township {body.township!r} is not registered")
    if body.township not in _townships(ops, scope) or not scope.allows_point(villages, body.lat, body.lon):
        raise HTTPException(403, OUTSIDE)
    warehouse_id = body.warehouse_id or f"WH-{uuid.uuid4().hex[:6].upper()}"
    made = await asyncio.to_thread(_store(ops).save_warehouse, warehouse_id, body.name.strip(), body.lat, body.lon,
                                   user.username, time.time(), body.township)  # fmt: skip
    if not made:
        raise HTTPException(409, f"warehouse {warehouse_id} is registered already")
    detail = {"warehouse_id": warehouse_id, "name": body.name.strip(), "township": body.township, "lat": body.lat,
              "lon": body.lon}  # fmt: skip
    await asyncio.to_thread(_audit, ctx, user, "relief_warehouse_added", detail)
    ops.refresh()
    ops.centre.publish("relief", {"warehouse_id": warehouse_id})
    return detail


@router.post("/warehouses/{warehouse_id}/receipts")
async def receive(ops: Ops, ctx: Ctx, user: Commander, scope: Scope, warehouse_id: str,
                  body: ReceiptIn) -> dict[str, Any]:  # fmt: skip
    """Sign a lot into a warehouse (item, quantity, expiry date, who signed for it; recorded by the user)."""
    seen = _warehouses_seen(ops, scope, _store(ops))
    if seen is not None and warehouse_id not in seen:
        raise HTTPException(404, f"no warehouse {warehouse_id}")
    entry_id = f"R-{uuid.uuid4().hex[:12]}"
    signed_by = body.signed_by.strip() or user.username
    try:
        await asyncio.to_thread(_store(ops).receive, entry_id, warehouse_id, body.item, body.quantity,
                                user.username, time.time(), body.expires, body.note, signed_by)  # fmt: skip
    except ResourceError as exc:
        raise HTTPException(422, str(exc)) from exc
    await asyncio.to_thread(_audit, ctx, user, "relief_receipt",
                            {"entry_id": entry_id, "warehouse_id": warehouse_id, "item": body.item,
                             "quantity": body.quantity, "expires": body.expires, "signed_by": signed_by})  # fmt: skip
    ops.centre.publish("relief", {"warehouse_id": warehouse_id, "receipt": entry_id})
    return {"entry_id": entry_id, "signed_by": signed_by}


@router.post("/relief")
async def plan_relief(ops: Ops, user: Commander, body: PlanIn) -> dict[str, Any]:
    """A draft relief plan from the warehouses' stock for the relocated (linear program). It plans the county's
    stock for the county's villages: a county account's decision (403 for one limited to townships)."""
    if user.townships:
        raise HTTPException(403, COUNTY_ONLY)
    _store(ops)
    stored = ops.record_relief(user.username, time.time(), body.days)
    return _stored(stored) or {}


@router.post("/relief/{plan_id}/approve")
async def approve(ops: Ops, user: Commander, plan_id: str) -> dict[str, Any]:
    """The commander approves a draft: its shipments leave the warehouses' ledgers (a county account's decision,
    as planning is)."""
    if user.townships:
        raise HTTPException(403, COUNTY_ONLY)
    try:
        plan = ops.approve_relief(user.username, time.time(), plan_id)
    except KeyError as exc:
        raise HTTPException(404, f"no plan {plan_id}") from exc
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from exc
    ops.centre.publish("relief", {"plan_id": plan_id, "status": plan.status, "approved_by": plan.approved_by})
    return _stored(_store(ops).plan(plan_id)) or {}


@router.post("/relief/{plan_id}/receipts/{village_id}")
async def confirm_receipt(ops: Ops, ctx: Ctx, user: Reporting, plan_id: str, village_id: str) -> dict[str, Any]:
    """The village confirms the supplies arrived: its officer (a reporter granted the village), or duty staff taking
    the officer's call."""
    try:
        await asyncio.to_thread(_store(ops).plan, plan_id)
    except KeyError as exc:
        raise HTTPException(404, f"no plan {plan_id}") from exc
    if limited(user) and village_id not in villages_of(ops, user):  # a reporter's, or a township's
        raise HTTPException(403, f"village {village_id!r} is not one of yours")
    try:
        stored = await asyncio.to_thread(_store(ops).confirm_receipt, plan_id, village_id, user.username, time.time())
    except KeyError as exc:
        raise HTTPException(404, f"no plan {plan_id}") from exc
    except ResourceError as exc:
        raise HTTPException(409, str(exc)) from exc
    ops.centre.publish("relief", {"plan_id": plan_id, "received": village_id})
    return _stored(stored, scope_of(ctx.registry, user)) or {}


@pages.get("/resources")
def page() -> FileResponse:
    """The teams and relief page (it signs in through /api/login when needed)."""
    return FileResponse(STATIC / "resources.html", headers={"Cache-Control": "no-cache"})
