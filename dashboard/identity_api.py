"""Full identifiers of a resident (issue 8): national ID and phone, for supervisors and up, every view logged.

Lists and pages show them masked (dashboard/privacy.py); this is the one place they are shown in full. The role
check is the role table (dashboard/roles.py) plus the `Supervisor` dependency here; the access log records who saw
whose.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from dashboard.deps import Access, Ctx, Supervisor
from dashboard.place_scope import COUNTY_ONLY, place_in_scope

router = APIRouter(prefix="/api", tags=["privacy"], dependencies=[Depends(place_in_scope)])  # others': 404


@router.get("/residents/{resident_id}/identity")
def identity(resident_id: str, ctx: Ctx, access: Access, user: Supervisor) -> dict[str, Any]:
    """A resident's national ID and phone in full (the view is written to the access log)."""
    resident = ctx.registry.resident(resident_id)
    if resident is None:
        raise HTTPException(status_code=404, detail=f"no resident {resident_id!r}")
    access.record(user.username, user.role, "identity_view", resident_id, {"fields": ["national_id", "phone"]})
    return {"resident_id": resident.resident_id, "name": resident.name, "national_id": resident.national_id,
            "phone": resident.phone}  # fmt: skip


@router.get("/access-log")
def access_log(
    access: Access,
    user: Supervisor,
    actor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[dict[str, Any]]:
    """Who read health data or full identifiers, newest first (supervisors and up, of the whole county).

    It oversees staff, not places: many entries name no township (the latest readings, the live feed, an export's
    query), so an account limited to townships would read a partial record of its colleagues' reads. 403 for it."""
    if user.townships:
        raise HTTPException(status_code=403, detail=COUNTY_ONLY)
    return access.entries(actor, limit)
