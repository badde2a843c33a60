"""REST for the registry: register and list villages, homes, residents and devices."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from dashboard.logmask import mask_identifiers
from dashboard.privacy import mask_national_id, mask_phone
from devices.models import Family
from devices.records import DeviceRecord, Home, RegistryError, Resident, Village
from devices.registry import Registry

router = APIRouter(prefix="/api", tags=["registry"])


def _registry(request: Request) -> Registry:
    return request.app.state.ctx.registry


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


def _add(fn: Any, record: Any) -> dict[str, Any]:
    try:
        fn(record)
    except RegistryError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return asdict(record)


@router.post("/villages", status_code=201)
def add_village(body: VillageIn, request: Request) -> dict[str, Any]:
    """Register a village."""
    return _add(_registry(request).add_village, Village(**body.model_dump()))


@router.get("/villages")
def list_villages(request: Request) -> list[dict[str, Any]]:
    """All villages."""
    return [asdict(v) for v in _registry(request).villages()]


@router.post("/homes", status_code=201)
def add_home(body: HomeIn, request: Request) -> dict[str, Any]:
    """Register a home."""
    return _add(_registry(request).add_home, Home(**body.model_dump()))


@router.get("/homes")
def list_homes(request: Request) -> list[dict[str, Any]]:
    """All homes."""
    return [asdict(h) for h in _registry(request).homes()]


def masked(resident: Resident) -> dict[str, Any]:
    """A resident with national ID and phone masked."""
    return asdict(replace(resident, national_id=mask_national_id(resident.national_id),
                          phone=mask_phone(resident.phone), contacts=mask_identifiers(resident.contacts)))


@router.post("/residents", status_code=201)
def add_resident(body: ResidentIn, request: Request) -> dict[str, Any]:
    """Register a resident (answered masked)."""
    data = body.model_dump()
    resident = Resident(**{**data, "lives_alone": int(data["lives_alone"]),
                           "limited_mobility": int(data["limited_mobility"])})
    _add(_registry(request).add_resident, resident)
    return masked(resident)


@router.get("/residents")
def list_residents(request: Request) -> list[dict[str, Any]]:
    """All residents, identifiers masked."""
    return [masked(r) for r in _registry(request).residents()]


@router.post("/devices", status_code=201)
def add_device(body: DeviceIn, request: Request) -> dict[str, Any]:
    """Register a device and its binding (resident, home or village)."""
    data = body.model_dump()
    data["family"] = body.family.value
    return _add(_registry(request).add_device, DeviceRecord(**data))


@router.get("/devices")
def list_devices(request: Request, family: Annotated[Family | None, Query()] = None) -> list[dict[str, Any]]:
    """Registered devices, optionally of one family."""
    return [asdict(d) for d in _registry(request).list_devices(family)]
