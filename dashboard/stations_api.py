"""Per-station thresholds over REST (issue 14, item 3): every member of staff may read them; admins edit one
station at a time (the CLI imports many: `hub registry import-stations FILE.csv`). A change is saved to the state
database and the gauge rules judge the station by it at once; the guard's audit row names the station."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from dashboard.deps import Admin, Ops, require
from dashboard.place_scope import Scope
from dispatch.disaster.areas import thresholds_for
from dispatch.disaster.stations import StationError, StationThresholds

router = APIRouter(prefix="/api/command/stations", tags=["command"], dependencies=[Depends(require())])
Steps = tuple[float, float, float, float]


class StationIn(BaseModel):
    """One station's thresholds as the admin form sends them (null: the kind's default)."""

    model_config = ConfigDict(extra="forbid")
    warning_level_m: float | None = Field(None, ge=-100, le=9000, description="警戒水位, m")
    guarantee_level_m: float | None = Field(None, ge=-100, le=9000, description="保证水位, m")
    rain_1h_mm: Steps | None = Field(None, description="blue, yellow, orange, red")
    rain_3h_mm: Steps | None = None
    rain_24h_mm: Steps | None = None
    displacement_mm: Steps | None = None


def _effective(ops: Ops, station_id: str, kind: str) -> dict[str, Any]:
    cfg = ops.centre.warnings.thresholds(station_id) or thresholds_for(kind)
    names = ("river_level_m", "rain_1h_mm", "rain_3h_mm", "rain_24h_mm", "displacement_mm")
    return {n: list(ladder.steps()) for n in names if (ladder := getattr(cfg, n)) is not None}


@router.get("")
async def list_stations(ops: Ops, scope: Scope) -> list[dict[str, Any]]:
    """Every terminal (of the account's townships' villages) with its own thresholds and the ladders it is judged
    by."""
    cc = ops.centre
    own = cc.stations
    return [{"station_id": s.terminal_id, "kind": s.kind, "village_id": s.village_id,
             "village": cc.villages[s.village_id].name if s.village_id in cc.villages else s.village_id,
             "own": own[s.terminal_id].as_json() if s.terminal_id in own else None,
             "effective": _effective(ops, s.terminal_id, s.kind)}
            for s in sorted(cc.sites.values(), key=lambda s: s.terminal_id)
            if scope.allows_village(s.village_id)][:2000]  # fmt: skip


@router.put("/{station_id}")
async def put_station(ops: Ops, user: Admin, station_id: str, body: StationIn) -> dict[str, Any]:
    """Set one station's thresholds; 404 for a terminal not registered, 422 for values out of order."""
    cc = ops.centre
    if station_id not in cc.sites:
        raise HTTPException(404, f"no terminal {station_id}")
    if cc.station_store is None:
        raise HTTPException(503, "no state database")
    try:
        st = StationThresholds(station_id, **body.model_dump(), updated_by=user.username, updated_at=time.time())
    except StationError as exc:
        raise HTTPException(422, str(exc)) from exc
    store = cc.station_store
    await asyncio.to_thread(store.save, [st])
    cc.reload_stations()
    return {"station_id": station_id, "own": st.as_json(), "effective": _effective(ops, station_id,
                                                                                   cc.sites[station_id].kind)}
