"""The evacuation work list (issue 14, item 5): the people of each warning's area, one row each, worked by staff.

`GET /api/evacuation` lists every warning in force with its area's progress (how many open, contacted, safe, moved,
unreachable) and its people: name, address, phone masked (dashboard/privacy.py), needs (lives alone, wheelchair,
dementia, oxygen), the wearable's position where it has a recent fix, the task's status and its history (who,
when, note). `POST /api/evacuation/tasks/{id}/status` gives a task a status as the signed-in user (kept in the state
database before it is shown); `POST /api/evacuation/tasks/{id}/reveal` hands a commander the full phone number as a
`tel:` link and writes the reveal to the audit log (who, when, which task; never the number). The page is
`/evacuation` (static/evacuation.html), phone-sized.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from dashboard.contacts_api import tel
from dashboard.context import HubContext
from dashboard.deps import Auth, Commander, Ctx, Ops, Staff
from dashboard.i18n_api import user_language
from dashboard.pages import STATIC
from dashboard.place_scope import PlaceScope, Scope
from dashboard.privacy import mask_phone
from devices.i18n import t
from devices.records import Home, Resident
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.evac_log import StatusChange
from dispatch.disaster.evacuation import (
    GPS_FIX_MAX_AGE_S,
    STATE_STATUS,
    STATUS_STATES,
    TRANSITIONS,
    Task,
    TransitionError,
    needs_of,
)

router = APIRouter(prefix="/api/evacuation", tags=["command"])
pages = APIRouter(tags=["command"], include_in_schema=False)
ASSETS = ("evacuation.js", "evacuation.css")
REVEALED = "evacuation_phone_revealed"  # the audit action
STATUSED = "evacuation_status"  # the audit action of a status given
PROGRESS = ("open", "contacted", "safe", "moved", "unreachable")


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["contacted", "safe", "moved", "unreachable"]
    note: str = Field("", max_length=500)


def _change(c: StatusChange) -> dict[str, Any]:
    return {"status": c.status, "by": c.actor, "ts": c.ts, "note": c.note}


def _person(cc: CommandCentre, task: Task, who: Resident | None, home: Home | None,
            history: list[StatusChange], now: float) -> dict[str, Any]:
    fix = cc.gps.get(task.resident_id)
    position = None
    if fix is not None and now - fix[2] <= GPS_FIX_MAX_AGE_S:
        position = {"lat": round(fix[0], 6), "lon": round(fix[1], 6), "ts": fix[2]}
    return {
        "task_id": task.task_id, "resident_id": task.resident_id, "village_id": task.village_id,
        "village": cc.villages[task.village_id].name if task.village_id in cc.villages else task.village_id,
        "name": who.name if who else task.resident_id, "address": home.address if home else "",
        "phone": mask_phone(who.phone) if who and who.phone else "",
        "needs": needs_of(bool(who.lives_alone), bool(who.limited_mobility), who.conditions) if who else [],
        "kind": task.kind, "status": STATE_STATUS.get(task.state, task.state), "updated_at": task.updated_at,
        "position": position, "history": [_change(c) for c in history],
        "allowed": [s for s, state in STATUS_STATES.items() if state in TRANSITIONS.get(task.state, set())],
    }  # fmt: skip


def work_list(cc: CommandCentre, homes: dict[str, Home], people: dict[str, Resident],
              area: str | None, scope: PlaceScope | None = None) -> dict[str, Any]:
    """Every warning in force (or one area's), its progress and its people in priority order, of the scope's
    villages only. Runs on the event loop like every CommandCentre method (`sync` takes up what other workers
    recorded)."""
    scope = scope or PlaceScope()
    cc.sync(force=True)
    now = time.time()
    areas = []
    for village_id in sorted(cc.villages) if area is None else [area]:
        key = cc.warning_key(village_id)
        if key is None or not scope.allows_village(village_id):
            continue
        tasks = [task for task in cc.tasks.tasks.values() if task.warning_id == key]
        history = cc.evac_log.history(key)
        rows = []
        for task in tasks:
            who = people.get(task.resident_id)
            rows.append(_person(cc, task, who, homes.get(who.home_id) if who else None,
                                history.get(task.task_id, []), now))  # fmt: skip
        counts = {s: sum(1 for r in rows if r["status"] == s) for s in PROGRESS}
        w = cc.warning_in_force(village_id)
        level = w.level if w is not None else cc.warnings.area_level(village_id)  # the level approved, not the gauge's
        areas.append({"area": village_id, "name": cc.villages[village_id].name, "warning_id": key,
                      "level": int(level), "colour": level.colour, "total": len(rows),
                      "done": counts["safe"] + counts["moved"], "counts": counts, "people": rows})  # fmt: skip
    return {"areas": areas}


def _registry(ctx: HubContext) -> tuple[dict[str, Home], dict[str, Resident]]:
    return {h.home_id: h for h in ctx.registry.homes()}, {r.resident_id: r for r in ctx.registry.residents()}


@router.get("")
async def list_work(ops: Ops, ctx: Ctx, scope: Scope, area: str | None = None) -> dict[str, Any]:
    """The work list: warnings in force (or one area's) with progress counts and their people, phones masked; of
    the account's townships only (another township's area: 404)."""
    if area is not None and (area not in ops.centre.villages or not scope.allows_village(area)):
        raise HTTPException(404, f"no area {area}")
    homes, people = await asyncio.to_thread(_registry, ctx)
    return work_list(ops.centre, homes, people, area, scope)


@router.post("/tasks/{task_id}/status")
async def give_status(ops: Ops, ctx: Ctx, auth: Auth, user: Staff, scope: Scope, task_id: str,
                      body: StatusIn) -> dict[str, Any]:
    """contacted / safe / moved / unreachable, as the signed-in user, with a note; kept and audited."""
    lang = user_language(auth, user)
    now = time.time()
    known = ops.centre.tasks.tasks.get(task_id)
    if known is not None and not scope.allows_village(known.village_id):
        raise HTTPException(404, t("evac.no_task", lang, task=task_id))  # another township's
    try:
        task = ops.centre.set_status(task_id, body.status, user.username, body.note, now)
    except KeyError as exc:
        raise HTTPException(404, t("evac.no_task", lang, task=task_id)) from exc
    except TransitionError as exc:
        raise HTTPException(409, t("evac.not_allowed", lang, status=t(f"evac.status.{body.status}", lang),
                                   state=t(f"evac.status.{STATE_STATUS.get(exc.task.state, 'open')}", lang))) from exc
    if ctx.incidents is not None:
        detail = {"task_id": task_id, "status": body.status, "note": body.note, "role": user.role}
        await asyncio.to_thread(ctx.incidents.audit, user.username, STATUSED, None, detail)
    return {"task_id": task.task_id, "status": STATE_STATUS[task.state], "by": user.username, "ts": now,
            "note": body.note}  # fmt: skip


@router.post("/tasks/{task_id}/reveal")
async def reveal_phone(ops: Ops, ctx: Ctx, auth: Auth, user: Commander, scope: Scope,
                       task_id: str) -> dict[str, Any]:
    """The person's full phone number as a `tel:` link, for a commander; the reveal is audited."""
    task = ops.centre.tasks.tasks.get(task_id)
    task = task if task is not None and scope.allows_village(task.village_id) else None  # another township's: 404
    who = await asyncio.to_thread(ctx.registry.resident, task.resident_id) if task else None
    if task is None or who is None:
        raise HTTPException(404, t("evac.no_task", user_language(auth, user), task=task_id))
    if ctx.incidents is not None:
        detail = {"task_id": task_id, "resident_id": who.resident_id, "role": user.role}
        await asyncio.to_thread(ctx.incidents.audit, user.username, REVEALED, None, detail)
    return {"task_id": task_id, "resident_id": who.resident_id, "phone": who.phone,
            "tel": tel(who.phone) if who.phone else ""}  # fmt: skip


@pages.get("/evacuation")
def evacuation_page() -> FileResponse:
    """The work list page (signs in through /api/login)."""
    return FileResponse(STATIC / "evacuation.html")


@pages.get("/evacuation/{name}")
def evacuation_asset(name: str) -> FileResponse:
    """The work list's script and style."""
    if name not in ASSETS:
        raise HTTPException(404, "not found")
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})
