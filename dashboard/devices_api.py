"""Devices' MQTT credentials for admins (issue 16): issue (the password answered once), revoke, list; and the page.

The same service as `hub devices ...` (devices/identities.py): each change rewrites the broker's files, reloads it,
marks the registry and is written to the audit log with the admin's name.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from dashboard.deps import Admin, Ctx, Identities
from dashboard.pages import STATIC
from dashboard.place_scope import Scope, place_in_scope, registered
from devices.credentials import Kind
from devices.identities import IdentityError

DeviceId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
router = APIRouter(prefix="/api/devices", tags=["devices"], dependencies=[Depends(place_in_scope)])  # others': 404



def _refused(exc: IdentityError) -> HTTPException:
    return HTTPException(status_code=exc.status, detail=str(exc))


@router.get("/credentials")
def list_credentials(identities: Identities, _user: Admin, ctx: Ctx, scope: Scope) -> list[dict[str, Any]]:
    """Every device credential: issued, revoked, the device's registry state; never a password nor a hash. An admin
    limited to townships: its devices' credentials (not the county's responders' apps and bridges)."""
    known = registered(ctx.registry) if scope.limited else {}
    return [c for c in identities.list()
            if not scope.limited or (c["device_id"] in known and scope.allows_device(known[c["device_id"]]))]


@router.post("/{device_id}/credentials", status_code=201)
def issue_credential(device_id: DeviceId, identities: Identities, user: Admin,
                     kind: Annotated[Kind, Query()] = "device") -> dict[str, Any]:
    """Issue a new password to a registered device (replacing any earlier one), a registered responder's app
    (`?kind=responder`), a zigbee2mqtt bridge (`?kind=bridge`, base topic zigbee2mqtt/<id>), an OwnTracks user
    (`?kind=owntracks`, topics owntracks/<id>/...) or a registered rescue team's device (`?kind=team`, reads
    teams/<id>/assignment, writes teams/<id>/status); the answer is the only copy."""
    try:
        issued = identities.issue(device_id, f"staff:{user.username}", kind=kind)
    except IdentityError as exc:
        raise _refused(exc) from exc
    return issued.provisioning() | {"broker_reloaded": issued.broker_reloaded}


@router.post("/{device_id}/revoke")
def revoke_credential(device_id: DeviceId, identities: Identities, user: Admin) -> dict[str, Any]:
    """Revoke a device, responder app or bridge: the broker refuses its next connection and ends its session."""
    try:
        reloaded = identities.revoke(device_id, f"staff:{user.username}")
    except IdentityError as exc:
        raise _refused(exc) from exc
    return {"device_id": device_id, "revoked": True, "broker_reloaded": reloaded}


def mount_devices_page(app: FastAPI) -> None:
    """GET /devices: the admin page (its script is served with the console's assets)."""

    @app.get("/devices", include_in_schema=False)
    def devices_page() -> FileResponse:
        return FileResponse(STATIC / "devices.html", headers={"Cache-Control": "no-cache"})
