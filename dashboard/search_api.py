"""Resident search for the console (issue 18): by Chinese name, full pinyin, initials or a phone number's tail.

`GET /api/residents/search?q=秀英` (or `wangxiuying`, `wxy`, `3600`): up to 20 residents, identifiers masked as in
every list, with the home's address and village so the operator can tell two 王秀英 apart.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from dashboard.deps import Ctx, Staff, require
from dashboard.place_scope import scope_of
from dashboard.privacy import masked

router = APIRouter(prefix="/api/residents", tags=["registry"], dependencies=[Depends(require())])


@router.get("/search")
def search(ctx: Ctx, user: Staff, q: Annotated[str, Query(min_length=1, max_length=64)]) -> list[dict[str, Any]]:
    """Residents found by name, pinyin, initials or the last 4+ digits of their phone (masked), of the townships
    the account is limited to."""
    scope = scope_of(ctx.registry, user)
    found = ctx.registry.search_residents(q, within=scope.residents())
    homes = {h.home_id: h for h in ctx.registry.homes()} if found else {}
    villages = {v.village_id: v for v in ctx.registry.villages()} if found else {}
    out = []
    for resident in found:
        home = homes.get(resident.home_id)
        village = villages.get(home.village_id or "") if home else None
        out.append(masked(resident) | {"address": home.address if home else "",
                                       "village": village.name if village else ""})  # fmt: skip
    return out
