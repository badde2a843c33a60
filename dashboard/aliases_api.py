"""REST for device aliases (issue 9): which zigbee2mqtt friendly name or OwnTracks user/device is which device."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from dashboard.context import HubContext
from dashboard.deps import Ctx
from dashboard.place_scope import Scope, registered
from devices.aliases import Alias, AliasBook
from devices.records import RegistryError

router = APIRouter(prefix="/api", tags=["registry"])


class AliasIn(BaseModel):
    """An external identity of a registered device."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(pattern="^(zigbee2mqtt|owntracks)$")
    external_id: str = Field(min_length=1, max_length=200)
    device_id: str = Field(min_length=1, max_length=64)
    bridge: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")  # zigbee2mqtt: required (issue 16)
    replace: bool = False


def _book(ctx: HubContext) -> AliasBook:
    return AliasBook(ctx.registry.db)


@router.post("/aliases", status_code=201)
def add_alias(body: AliasIn, ctx: Ctx) -> dict[str, Any]:
    """Map a friendly name or an OwnTracks '<user>/<device>' to a registered device (takes effect at once)."""
    alias = Alias(body.source, body.external_id, body.device_id, body.bridge)
    try:
        _book(ctx).add(alias, replace=body.replace)
    except RegistryError as exc:
        raise HTTPException(status_code=409 if "exists" in str(exc) else 422, detail=str(exc)) from exc
    return asdict(alias)


@router.get("/aliases")
def list_aliases(ctx: Ctx, scope: Scope, source: str | None = None) -> list[dict[str, Any]]:
    """Every alias (of one source; of the account's townships' devices)."""
    known = registered(ctx.registry) if scope.limited else {}
    return [asdict(a) for a in _book(ctx).entries(source)
            if not scope.limited or (a.device_id in known and scope.allows_device(known[a.device_id]))]  # fmt: skip


@router.delete("/aliases/{source}/{external_id:path}")
def remove_alias(source: str, external_id: str, ctx: Ctx, bridge: str = "") -> dict[str, str]:
    """Forget an alias (a zigbee2mqtt one: `?bridge=` names its bridge); its messages are rejected as
    unknown_device from then on."""
    if not _book(ctx).remove(source, external_id, bridge):
        raise HTTPException(status_code=404, detail=f"no alias {source}:{external_id!r}")
    return {"status": "removed"}
