"""REST for the registry: register and list villages, homes, residents and devices."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from dashboard.deps import Ctx
from dashboard.place_scope import Scope, place_in_scope
from dashboard.privacy import masked
from devices.models import Family
from devices.records import DeviceRecord, Home, RegistryError, Resident, Village

router = APIRouter(prefix="/api", tags=["registry"], dependencies=[Depends(place_in_scope)])  # others': 404


class Body(BaseModel):
    """Request bodies reject unknown fields."""

    model_config = ConfigDict(extra="forbid")


class VillageIn(Body):
    village_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    township: str = Field(min_length=1, max_length=200)
    county: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    code: str = Field("", pattern=r"^(\d{12})?$", description="official 12-digit division code (issue 14)")


class HomeIn(Body):
    home_id: str = Field(min_length=1, max_length=64)
    address: str = Field(min_length=1, max_length=500)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    village_id: str | None = None


class ResidentIn(Body):
    resident_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    home_id: str
    national_id: str = Field("", max_length=32)
    phone: str = Field("", max_length=32)
    birth_year: int = Field(1945, ge=1900, le=2010)
    lives_alone: bool = False
    limited_mobility: bool = False
    conditions: str = Field("", max_length=1000)
    contacts: str = Field("", max_length=1000)


class DeviceIn(Body):
    device_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    family: Family
    kind: str
    resident_id: str | None = None
    home_id: str | None = None
    village_id: str | None = None
    room: str = ""
    worn_at: str = ""
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    datum: Literal["wgs84", "gcj02"] = "wgs84"


def _add(fn: Any, record: Any) -> dict[str, Any]:
    try:
        fn(record)
    except RegistryError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return asdict(record)


@router.post("/villages", status_code=201)
def add_village(body: VillageIn, ctx: Ctx) -> dict[str, Any]:
    """Register a village."""
    return _add(ctx.registry.add_village, Village(**body.model_dump()))


@router.get("/villages")
def list_villages(ctx: Ctx, scope: Scope) -> list[dict[str, Any]]:
    """All villages (of the account's townships)."""
    return [asdict(v) for v in ctx.registry.villages() if scope.allows_village(v.village_id)]


@router.post("/homes", status_code=201)
def add_home(body: HomeIn, ctx: Ctx) -> dict[str, Any]:
    """Register a home."""
    return _add(ctx.registry.add_home, Home(**body.model_dump()))


@router.get("/homes")
def list_homes(ctx: Ctx, scope: Scope) -> list[dict[str, Any]]:
    """All homes (of the account's townships)."""
    return [asdict(h) for h in ctx.registry.homes() if scope.allows_home(h.home_id)]


@router.post("/residents", status_code=201)
def add_resident(body: ResidentIn, ctx: Ctx) -> dict[str, Any]:
    """Register a resident (answered masked)."""
    data = body.model_dump()
    resident = Resident(**{**data, "lives_alone": int(data["lives_alone"]),
                           "limited_mobility": int(data["limited_mobility"])})
    _add(ctx.registry.add_resident, resident)
    return masked(resident)


@router.get("/residents")
def list_residents(ctx: Ctx, scope: Scope) -> list[dict[str, Any]]:
    """All residents (of the account's townships), identifiers masked."""
    return [masked(r) for r in ctx.registry.residents() if scope.allows_resident(r.resident_id, r.home_id)]


@router.post("/devices", status_code=201)
def add_device(body: DeviceIn, ctx: Ctx) -> dict[str, Any]:
    """Register a device and its binding (resident, home or village)."""
    data = body.model_dump()
    data["family"] = body.family.value
    return _add(ctx.registry.add_device, DeviceRecord(**data))


@router.get("/devices")
def list_devices(ctx: Ctx, scope: Scope, family: Annotated[Family | None, Query()] = None) -> list[dict[str, Any]]:
    """Registered devices (of the account's townships), optionally of one family."""
    return [asdict(d) for d in ctx.registry.list_devices(family) if scope.allows_device(d)]
