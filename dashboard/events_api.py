"""Disaster events and who reports on them (issue 14, item 4): commanders declare events, mark them stable and
close them, admins grant each `reporter` account its villages, and the report form asks what it may file.

Marking an event stable opens the verified stage (核报, due within 2 days); closing it ends its deadlines and its
initial reports. Every decision goes to the audit log with who took it. Events and grants live in the state database
(dispatch/disaster/report_store.py). Commanders work events on `/command`; admins grant villages on `/users`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts.disaster.reports import CST, HAZARDS, INDICATORS, STAGES, DisasterEvent, ReportError
from dashboard.auth import REPORTER, StaffUser
from dashboard.deps import Admin, Auth, Commander, Ctx, Ops, Reporting, Staff
from dashboard.i18n_api import user_language
from dashboard.pages import STATIC
from dashboard.place_scope import OUTSIDE
from devices.i18n import t
from dispatch.insights.places import Townships

router = APIRouter(prefix="/api/command", tags=["command"])
pages = APIRouter(tags=["command"], include_in_schema=False)
ASSETS = ("report.js", "report.css")
EVENT_ID = r"^[A-Za-z0-9_.-]*$"
FUTURE_S = 600.0  # a declared start may be this far ahead of the hub's clock (a commander's watch), not more


class EventIn(BaseModel):
    """An event a commander declares: its id (the one reports carry; made up when empty), hazard, name, start
    (epoch seconds, default now) and the villages it affects (whole townships may be named too)."""

    model_config = ConfigDict(extra="forbid")
    event_id: str = Field("", max_length=64, pattern=EVENT_ID)
    hazard: str = Field("flood", min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    name: str = Field("", max_length=100)
    started_at: float | None = Field(None, gt=0)
    villages: list[str] = Field(default_factory=list, max_length=2000)
    townships: list[str] = Field(default_factory=list, max_length=200)


class CloseIn(BaseModel):
    """The commander's closing note (required: why the event is over)."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=500)


class ScopeIn(BaseModel):
    """The villages a reporter account files reports for."""

    model_config = ConfigDict(extra="forbid")
    villages: list[str] = Field(max_length=500)


def event_json(e: DisasterEvent) -> dict[str, Any]:
    """An event as the pages show it."""
    return {"event_id": e.event_id, "hazard": e.hazard, "started_at": e.started_at, "villages": e.villages,
            "declared": e.declared, "declared_by": e.declared_by, "stabilised_at": e.stabilised_at,
            "stabilised_by": e.stabilised_by, "name": e.name, "closed_at": e.closed_at, "closed_by": e.closed_by,
            "close_note": e.close_note, "status": event_status(e)}  # fmt: skip


def event_status(e: DisasterEvent) -> str:
    """reported (named by a village only), open, stable or closed."""
    if e.closed_at is not None:
        return "closed"
    if not e.declared:
        return "reported"
    return "open" if e.stabilised_at is None else "stable"


def new_event_id(hazard: str, start: float) -> str:
    """An id for an event declared without one: hazard, day (China Standard Time) and a short random tail."""
    return f"{hazard}-{datetime.fromtimestamp(start, CST):%Y%m%d}-{uuid.uuid4().hex[:4]}"


def places(ops: Ops, user: StaffUser) -> list[dict[str, Any]]:
    """The registered villages grouped by township (the pages' village pickers), townships and villages by name;
    an account limited to townships: theirs only."""
    allowed = set(villages_of(ops, user)) if user.townships else None
    towns: dict[str, list[dict[str, str]]] = {}
    for v in ops.centre.villages.values():
        if allowed is not None and v.village_id not in allowed:
            continue
        towns.setdefault(v.township or "", []).append({"id": v.village_id, "name": v.name or v.village_id})
    return [{"township": t, "villages": sorted(vs, key=lambda v: (v["name"], v["id"]))}
            for t, vs in sorted(towns.items())]  # fmt: skip


def _audit(ctx: Ctx, user: StaffUser, action: str, detail: dict[str, Any]) -> None:
    if ctx.incidents is not None:
        ctx.incidents.audit(user.username, action, None, {"role": user.role, **detail})


@router.get("/events")
async def list_events(ops: Ops, user: Staff) -> dict[str, Any]:
    """Every event, newest first (declared, reported by a village only, closed), the villages late on each open
    one, the hazards a commander may declare and the villages by township. An account limited to townships sees
    the events touching them, with their villages only."""
    cc = ops.centre
    cc.sync(force=True)  # events another worker declared or closed
    now = time.time()
    allowed = set(villages_of(ops, user)) if user.townships else None
    events = []
    for e in sorted(cc.book.events.values(), key=lambda e: -e.started_at):
        late = cc.book.late_now(e.event_id, now) if e.declared else {}
        if allowed is not None:
            if not allowed & set(e.villages):
                continue
            late = {v: s for v, s in late.items() if v in allowed}
            e = replace(e, villages=[v for v in e.villages if v in allowed])
        events.append(event_json(e) | {"late": late})
    current = cc.book.current()
    return {"events": events, "current": current.event_id if current else None, "hazards": list(HAZARDS),
            "places": places(ops, user), "now": now}  # fmt: skip


def _within(ops: Ops, user: StaffUser, villages: list[str]) -> None:
    """403 unless an account limited to townships names only villages of its own."""
    if user.townships and not set(villages) <= set(villages_of(ops, user)):
        raise HTTPException(403, OUTSIDE)


@router.post("/events")
async def declare_event(ops: Ops, ctx: Ctx, user: Commander, body: EventIn) -> dict[str, Any]:
    """Declare an event (or adopt one a village's initial report named): it becomes the map's current event."""
    now = time.time()
    if body.started_at is not None and body.started_at > now + FUTURE_S:
        raise HTTPException(422, "the event's start lies in the future")
    known_towns = {v.township for v in ops.centre.villages.values()}
    unknown = sorted(set(body.townships) - known_towns)
    if unknown:
        raise HTTPException(422, f"townships {unknown} are not registered")
    villages = list(dict.fromkeys([*body.villages, *sorted(v.village_id for v in ops.centre.villages.values()
                                                           if body.townships and v.township in body.townships)]))
    _within(ops, user, villages)  # a township commander declares for its townships
    start = body.started_at if body.started_at is not None else now
    event_id = body.event_id or new_event_id(body.hazard, start)
    try:
        event = ops.centre.declare_event(event_id, body.hazard, villages, user.username, now, body.name.strip(),
                                         body.started_at)  # fmt: skip
    except ReportError as exc:
        raise HTTPException(409 if exc.reason == "duplicate_event" else 422, str(exc)) from exc
    await asyncio.to_thread(_audit, ctx, user, "disaster_event_declared", event_json(event))
    return event_json(event)


@router.post("/events/{event_id}/close")
async def close_event(ops: Ops, ctx: Ctx, user: Commander, event_id: str, body: CloseIn) -> dict[str, Any]:
    """Close the event: it takes no new initial report, its deadlines stop (no more overdue), shown as closed.
    An account limited to townships closes only an event of its own townships."""
    known = ops.centre.book.events.get(event_id)
    if known is not None:
        _within(ops, user, known.villages)
    try:
        event = ops.centre.close_event(event_id, user.username, time.time(), body.note.strip())
    except ReportError as exc:
        raise HTTPException(404 if exc.reason == "unknown_event" else 409, str(exc)) from exc
    await asyncio.to_thread(_audit, ctx, user, "disaster_event_closed",
                            {"event_id": event_id, "note": event.close_note})  # fmt: skip
    return event_json(event)


@router.post("/events/{event_id}/stabilise")
async def stabilise_event(ops: Ops, ctx: Ctx, user: Commander, event_id: str) -> dict[str, Any]:
    """Mark the event stable: daily follow-ups end, the verified reports (核报) are due within 2 days."""
    try:
        event = ops.centre.stabilise_event(event_id, user.username, time.time())
    except ReportError as exc:
        raise HTTPException(404 if exc.reason == "unknown_event" else 409, str(exc)) from exc
    await asyncio.to_thread(_audit, ctx, user, "disaster_event_stabilised", {"event_id": event_id})
    return event_json(event)


@router.get("/reporters")
async def list_reporters(ops: Ops, auth: Auth, user: Admin) -> dict[str, Any]:
    """The `reporter` accounts with their villages, and the villages by township (the admin's picker); a township
    admin's: the officers of its villages (or of none yet), its villages only."""
    accounts = [u for u in await asyncio.to_thread(auth.users) if u.get("role") == REPORTER]
    allowed = set(villages_of(ops, user)) if user.townships else None
    out = []
    for u in accounts:
        name = str(u["username"])
        granted = await asyncio.to_thread(ops.centre.reporters.villages, name)
        if allowed is not None:  # a township admin: officers of its villages, and those with none yet
            if granted and not allowed & set(granted):
                continue
            granted = [v for v in granted if v in allowed]
        out.append({"username": name, "display_name": u.get("display_name") or "", "active": bool(u.get("active")),
                    "villages": granted})  # fmt: skip
    return {"reporters": out, "places": places(ops, user)}


@router.put("/reporters/{username}")
async def grant_villages(ops: Ops, ctx: Ctx, auth: Auth, user: Admin, username: str, body: ScopeIn) -> dict[str, Any]:
    """The villages a reporter account files reports for (replaces its earlier list)."""
    accounts = {u["username"]: u for u in await asyncio.to_thread(auth.users)}
    if accounts.get(username, {}).get("role") != REPORTER:
        raise HTTPException(404, f"no reporter account {username!r}")
    unknown = sorted(set(body.villages) - set(ops.centre.villages))
    if unknown:
        raise HTTPException(422, f"villages {unknown} are not registered")
    villages = list(body.villages)
    if user.townships:  # a township admin: its own villages; the officer's others (it does not see them) stay
        allowed = set(villages_of(ops, user))
        if not set(villages) <= allowed:
            raise HTTPException(403, OUTSIDE)
        held = await asyncio.to_thread(ops.centre.reporters.villages, username)
        villages += [v for v in held if v not in allowed]
    await asyncio.to_thread(ops.centre.reporters.grant, username, villages, user.username, time.time())
    await asyncio.to_thread(_audit, ctx, user, "reporter_villages", {"username": username, "villages": villages})
    return {"username": username, "villages": sorted(set(body.villages))}


def villages_of(ops: Ops, user: StaffUser) -> list[str]:
    """The villages `user` may file reports for: a reporter its granted ones, staff every registered one of the
    townships the account is limited to (dashboard/place_scope.py), or of the county."""
    if user.role == REPORTER:
        return [v for v in ops.centre.reporters.villages(user.username) if v in ops.centre.villages]
    if user.townships:
        return sorted(Townships.of(ops.centre.villages.values()).village_ids(user.townships))
    return sorted(ops.centre.villages)


def limited(user: StaffUser) -> bool:
    """Whether `user` files and confirms for some villages only (a reporter, or staff limited to townships)."""
    return user.role == REPORTER or bool(user.townships)


@router.get("/reporting")
async def reporting(ops: Ops, auth: Auth, user: Reporting) -> dict[str, Any]:
    """What the report form offers this user: its villages, the events and which stages each accepts, and the
    indicators with their official names in the user's language."""
    mine = await asyncio.to_thread(villages_of, ops, user)
    lang = await asyncio.to_thread(user_language, auth, user)
    indicators = [{"key": k, "label": t(f"indicator.{k}", lang), "decimal": k.endswith(("_ha", "_cny"))}
                  for k in INDICATORS]  # fmt: skip
    names = {v: ops.centre.villages[v].name for v in mine}
    book = ops.centre.book
    events = []
    for e in sorted(book.events.values(), key=lambda e: -e.started_at):
        if not e.declared:
            continue
        latest = {v: r.stage for v, r in book.latest(e.event_id).items() if v in names}
        stages = [s for s in STAGES if (s != "verified" or e.stabilised_at is not None)
                  and (s != "initial" or e.closed_at is None)]  # a closed event takes no new initial report
        villages = [v for v in e.villages if v in names] if limited(user) else e.villages  # its own only
        events.append(event_json(e) | {"villages": villages, "stages": stages, "latest": latest})
    return {"user": user.username, "role": user.role, "villages": [{"id": v, "name": n} for v, n in names.items()],
            "events": events, "indicators": indicators}  # fmt: skip


@pages.get("/report")
def report_page() -> FileResponse:
    """The phone-sized report form for village officers (it signs in through /api/login when needed)."""
    return FileResponse(STATIC / "report.html", headers={"Cache-Control": "no-cache"})


@pages.get("/users")
def users_page() -> FileResponse:
    """The admin's page for reporter accounts' villages (it signs in through /api/login when needed)."""
    return FileResponse(STATIC / "users.html", headers={"Cache-Control": "no-cache"})


@pages.get("/report/{name}")
def report_asset(name: str) -> FileResponse:
    """The report form's script and style."""
    if name not in ASSETS:
        raise HTTPException(404, "not found")
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})
