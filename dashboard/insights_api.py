"""The bureau's statistics (GET /api/insights) and their page (GET /insights), for supervisors, admins and the
civil-affairs bureau's read-only accounts.

GET /api/insights?from=YYYY-MM-DD&to=YYYY-MM-DD[&township=CODE or name, repeatable]: every figure of
`dispatch.insights` for incidents opened in those local days (both included), as JSON. A malformed date or a period
that ends before it starts is a 422 whose `message` is in the reader's language (dashboard/error_texts.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse

from dashboard.auth import StaffUser
from dashboard.deps import Ctx, require
from dashboard.pages import STATIC
from dashboard.roles import INSIGHTS
from dispatch.insights.engine import Insights, Period, PeriodError
from dispatch.insights.places import Townships, UnknownTownship

router = APIRouter(prefix="/api", tags=["insights"])
pages = APIRouter(tags=["insights"], include_in_schema=False)
Reader = Annotated[StaffUser, Depends(require(*INSIGHTS))]


async def get_insights(ctx: Ctx) -> Insights:
    """The hub's statistics engine (its targets from the settings), or one with the default targets."""
    return ctx.insights if ctx.insights is not None else Insights(ctx.registry.db)


def townships_for(ctx: Ctx, user: Reader, asked: list[str] | None) -> list[str]:
    """The townships to compute over: those asked for (codes or names), within the account's place scope.

    No filter: the account's scope (empty for an unlimited account: the whole county). A township that is not
    registered is a 422; one outside the account's scope is a 403."""
    if not asked:
        return list(user.townships)
    try:
        keys = Townships.of(ctx.registry.villages()).resolve(asked)
    except UnknownTownship as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    outside = [k for k in keys if user.townships and k not in user.townships]
    if outside:
        raise HTTPException(status_code=403, detail=f"township {outside[0]} is outside this account's scope")
    return keys


@router.get("/insights")
def insights(
    ctx: Ctx,
    user: Reader,
    engine: Annotated[Insights, Depends(get_insights)],
    first: Annotated[dt.date, Query(alias="from", description="first local day (YYYY-MM-DD)")],
    last: Annotated[dt.date, Query(alias="to", description="last local day, included (YYYY-MM-DD)")],
    township: Annotated[list[str] | None, Query(description="township code or name; repeat for several")] = None,
) -> dict[str, Any]:
    """Response times, false alarms, alerts per resident-month and the weekday x hour volume of one period."""
    try:
        period = Period(first, last)
    except PeriodError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return engine.compute(period, townships_for(ctx, user, township)).as_dict()


@pages.get("/insights")
def page() -> FileResponse:
    """The statistics page (it signs in through /api/login)."""
    return FileResponse(STATIC / "insights.html", headers={"Cache-Control": "no-cache"})
