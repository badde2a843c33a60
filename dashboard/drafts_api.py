"""CAP drafts over REST and the draft review page (issue 14): commanders sign warnings off.

`GET /api/command/drafts` lists the pending drafts (from the state database, so every worker lists the same ones)
with what raised them, the decided ones (issued, rejected, superseded) and the automatic-issue policy (off unless
configured). `POST .../{draft_id}/approve` issues one into `/cap/alerts.xml`, with the commander's edits (headline,
description, instruction, area, level) in an optional body; `POST .../{draft_id}/reject` drops it. Each decision
is written to the audit log with the draft id, the decision, the CAP identifier and the edits (besides the guard's
row for the request itself).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts.disaster.cap import Circle, Shape
from alerts.disaster.warnings import WarningLevel
from dashboard.auth import StaffUser
from dashboard.deps import Commander, Ctx, Ops, require
from dashboard.pages import STATIC
from dashboard.place_scope import Scope
from dispatch.disaster.command import CommandCentre, DraftError
from dispatch.disaster.drafts import Draft, DraftEdits

router = APIRouter(prefix="/api/command/drafts", tags=["command"], dependencies=[Depends(require())])
pages = APIRouter(tags=["command"], include_in_schema=False)
ASSETS = ("command.js", "command.css")
COLOURS = {lv.colour: lv for lv in WarningLevel if lv}
logger = logging.getLogger(__name__)
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]


class DraftEditsIn(BaseModel):
    """What the commander changed on the review page (every field optional: absent = keep the draft's)."""

    model_config = ConfigDict(extra="forbid")
    headline: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, min_length=1, max_length=4000)
    instruction: str | None = Field(None, max_length=4000)
    area_desc: str | None = Field(None, min_length=1, max_length=200)
    polygon: list[tuple[Lat, Lon]] | None = Field(None, min_length=3, max_length=500,
                                                  description="the area to notify as [[lat, lon], ...]")
    level: Literal["blue", "yellow", "orange", "red"] | None = Field(None, description="warning colour")

    def edits(self) -> DraftEdits:
        """As the command centre takes them."""
        try:
            polygon = None if self.polygon is None else tuple((a, b) for a, b in self.polygon)
            level = None if self.level is None else COLOURS[self.level]
            return DraftEdits(self.headline, self.description, self.instruction, self.area_desc, polygon, level)
        except ValueError as exc:
            raise HTTPException(422, "draft.bad_polygon") from exc


class RejectIn(BaseModel):
    """Why a draft is dropped (optional)."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=500)


def _shape(s: Shape) -> dict[str, Any]:
    if isinstance(s, Circle):
        return {"circle": [s.lat, s.lon, s.radius_km]}
    return {"polygon": [list(p) for p in s.points]}


def draft_json(cc: CommandCentre, d: Draft) -> dict[str, Any]:
    """A draft as the review page shows it."""
    w, village = d.message, cc.villages.get(d.area)
    due = cc.policy.due(d) if d.status == "pending" else None
    return {
        "draft_id": d.draft_id, "area": d.area, "village": village.name if village else d.area,
        "township": village.township if village else "", "action": d.action, "msg_type": w.msg_type,
        "level": int(d.level), "colour": d.level.colour, "grade": d.level.grade, "created": d.created,
        "status": d.status, "event": w.event, "headline": w.headline, "description": w.description,
        "instruction": w.instruction, "area_desc": w.area_desc, "shapes": [_shape(s) for s in w.shapes],
        "evidence": d.evidence, "decided_by": d.decided_by, "decided_at": d.decided_at, "identifier": d.identifier,
        "edits": d.edits, "note": d.note, "auto_issue_at": due,
    }  # fmt: skip


@router.get("")
async def list_drafts(ops: Ops, scope: Scope, history: Annotated[int, Query(ge=0, le=500)] = 100) -> dict[str, Any]:
    """Pending drafts (oldest first), the decided ones (newest first) and the automatic-issue policy; a limited
    account's: those of its townships' villages only."""
    cc = ops.centre
    cc.sync()  # issue 14: an Update or a Cancel follows what another worker issued
    pending, done = await asyncio.to_thread(lambda: (cc.drafts.pending(), cc.drafts.history(history)))
    pending = [d for d in pending if scope.allows_village(d.area)]
    done = [d for d in done if scope.allows_village(d.area)]
    return {"drafts": [draft_json(cc, d) for d in pending], "history": [draft_json(cc, d) for d in done],
            "policy": {"auto_issue_minutes": cc.policy.describe()}}  # fmt: skip


async def _in_scope(ops: Ops, scope: Scope, draft_id: str) -> None:
    """A draft of another township's village answers 404, as if it did not exist."""
    if not scope.limited:
        return
    draft = await asyncio.to_thread(ops.centre.drafts.get, draft_id)
    if draft is not None and not scope.allows_village(draft.area):
        raise HTTPException(404, f"no draft {draft_id}")


def _audit(ctx: Ctx, user: StaffUser, decision: str, detail: dict[str, Any]) -> None:
    if ctx.incidents is not None:
        ctx.incidents.audit(user.username, f"cap_draft_{decision}", None, {"role": user.role, **detail})


@router.post("/{draft_id}/approve")
async def approve(ops: Ops, ctx: Ctx, user: Commander, scope: Scope, draft_id: str,
                  body: Annotated[DraftEditsIn | None, Body()] = None) -> dict[str, Any]:
    """Issue the draft (with the edits in the body) into the CAP feed; 409 when it was decided already."""
    await _in_scope(ops, scope, draft_id)
    edits = (body or DraftEditsIn()).edits()
    try:
        draft, w = ops.centre.approve(draft_id, user.username, edits, time.time())
    except DraftError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    await asyncio.to_thread(_audit, ctx, user, "approved", {"draft_id": draft_id, "decision": "approved",
                            "identifier": w.identifier, "msg_type": w.msg_type, "area": draft.area,
                            "level": w.level.colour, "edits": draft.edits})  # fmt: skip
    return {"draft_id": draft_id, "decision": "approved", "identifier": w.identifier, "msg_type": w.msg_type,
            "level": int(w.level), "colour": w.level.colour, "decided_by": user.username}  # fmt: skip


@router.post("/{draft_id}/reject")
async def reject(ops: Ops, ctx: Ctx, user: Commander, scope: Scope, draft_id: str,
                 body: Annotated[RejectIn | None, Body()] = None) -> dict[str, Any]:
    """Drop the draft: nothing goes out; 409 when it was decided already."""
    await _in_scope(ops, scope, draft_id)
    note = body.note if body else ""
    try:
        draft = ops.centre.reject(draft_id, user.username, note, time.time())
    except DraftError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    await asyncio.to_thread(_audit, ctx, user, "rejected", {"draft_id": draft_id, "decision": "rejected",
                            "area": draft.area, "note": note})  # fmt: skip
    return {"draft_id": draft_id, "decision": "rejected", "decided_by": user.username}


@pages.get("/command")
def command_page() -> FileResponse:
    """The draft review page (it signs in through /api/login when needed)."""
    return FileResponse(STATIC / "command.html", headers={"Cache-Control": "no-cache"})


@pages.get("/command/{name}")
def command_asset(name: str) -> FileResponse:
    """The review page's script and style."""
    if name not in ASSETS:
        raise HTTPException(404, "not found")
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})
