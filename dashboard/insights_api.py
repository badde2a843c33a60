"""The bureau's statistics (GET /api/insights) and their page (GET /insights), for supervisors, admins and the
civil-affairs bureau's read-only accounts.

GET /api/insights?from=YYYY-MM-DD&to=YYYY-MM-DD[&township=CODE or name, repeatable]: every figure of
`dispatch.insights` for incidents opened in those local days (both included), as JSON. A malformed date or a period
that ends before it starts is a 422 whose `message` is in the reader's language (dashboard/error_texts.py).
GET /api/insights/monthly?month=YYYY-MM&format=xlsx|pdf[&township=...]: the month's report (月报) as a file.

Scope by place: an account limited to some townships (dashboard/place_scope.py) gets only their figures when it
names none, and a 403 when it names another township.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from dashboard.auth import StaffUser
from dashboard.deps import Ctx, require
from dashboard.error_texts import reader_language
from dashboard.pages import STATIC
from dashboard.roles import INSIGHTS
from dispatch.insights.engine import Insights, Period, PeriodError
from dispatch.insights.monthly import monthly_report
from dispatch.insights.monthly_files import write_files
from dispatch.insights.monthly_pdf import FontMissing
from dispatch.insights.places import Townships, UnknownTownship

router = APIRouter(prefix="/api", tags=["insights"])
pages = APIRouter(tags=["insights"], include_in_schema=False)
Reader = Annotated[StaffUser, Depends(require(*INSIGHTS))]


async def get_insights(ctx: Ctx) -> Insights:
    """The hub's statistics engine (its targets from the settings), or one with the default targets."""
    return ctx.insights if ctx.insights is not None else Insights(ctx.registry.db, store=ctx.store)


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
    """Response times, false alarms, alerts per resident-month, the weekday x hour volume, services, subsidy, coverage
    and fleet (as of the period's end), disaster reports, evacuation and relief of one period."""
    try:
        period = Period(first, last)
    except PeriodError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return engine.compute(period, townships_for(ctx, user, township)).as_dict()


MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


@router.get("/insights/monthly")
def monthly(
    ctx: Ctx,
    user: Reader,
    request: Request,
    engine: Annotated[Insights, Depends(get_insights)],
    month: Annotated[str, Query(description="the month, YYYY-MM (local calendar)", max_length=16)],
    kind: Annotated[Literal["xlsx", "pdf"], Query(alias="format", description="xlsx or pdf")] = "pdf",
    township: Annotated[list[str] | None, Query(description="township code or name; repeat for several")] = None,
) -> Response:
    """The month's report (月报) as an Excel workbook or a PDF, within the account's place scope."""
    keys = townships_for(ctx, user, township)
    villages = ctx.registry.villages()
    try:
        report = monthly_report(engine, month, keys, villages[0].county if villages else "", reader_language(request))
        with tempfile.TemporaryDirectory(prefix="monthly-") as folder:
            files = write_files(report, Path(folder))
            path = files.xlsx if kind == "xlsx" else files.pdf
            body, name = path.read_bytes(), path.name
    except PeriodError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except FontMissing as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return Response(body, media_type=MEDIA[kind],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@pages.get("/insights")
def page() -> FileResponse:
    """The statistics page (it signs in through /api/login)."""
    return FileResponse(STATIC / "insights.html", headers={"Cache-Control": "no-cache"})
