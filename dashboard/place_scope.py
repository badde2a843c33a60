"""Scope by place: a staff account limited to some townships sees only their incidents, residents and figures.

The townships are stored with the account (`staff_users.townships`, dashboard/auth.py) as township keys
(dispatch/insights/places.py); an account without any sees the whole county. An incident belongs to the township
of its home, or of its resident's home; an incident with neither is outside every scope. An incident outside the
account's scope answers 404, as if it did not exist, so ids of other townships cannot be probed. On the live
websocket, `FrameFilter` holds back the frames of other townships.

Routes take the signed-in account's scope as a parameter (`scope: Scope`) and keep to it: the registry lists,
latest readings, detections, the readings export, FHIR, the hotline's calls, the SMS list, caring calls, responders'
offers, warning drafts, the disaster roll-up (its townships and villages, no county total), the evacuation work
lists, the command map's areas, villages, gauges, markers and CAP alerts, the stations, the report form's villages,
the audit log (its incidents' entries) and, for admins, the accounts, aliases and device credentials. Lists that page
(calls, caring calls, texts, incidents, detections, the audit log) add `PlaceScope.sql` (devices/place_sql.py) to
their query, so a page is full of the account's own rows. The command room's resources (dashboard/resources_api.py)
keep to the teams based in or sent to its townships, the warehouses there (a place without a home belongs to its
nearest village: `village_at`) and the relief plans' parts for their villages; decisions over the whole county
(assigning every team, planning and approving relief) and the county's records (the access log, dead letters) answer
403 (`COUNTY_ONLY`). `place_in_scope` is the router dependency that answers 404 for a path's `{incident_id}`,
`{resident_id}` or `{device_id}` outside the scope (contacts, identities, readings, evidence, credentials, an
incident's texts, a service's completion). What stays the county's, and why, is listed with every route in
tests/dashboard/test_place_scope_routes.py, which fails on a GET route that is in neither list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from alerts.incidents.record import Incident
from dashboard.auth import SESSION_COOKIE, StaffUser
from dashboard.context import HubContext
from dashboard.deps import Ctx, Staff
from devices.geo import haversine_km
from devices.place_sql import PlaceFilter
from devices.records import DeviceRecord, Village
from devices.registry import Registry
from dispatch.insights.places import Townships


@dataclass(frozen=True, slots=True)
class PlaceScope:
    """What one account may see: township keys and their homes (`homes` None: the whole county)."""

    townships: tuple[str, ...] = ()
    homes: frozenset[str] | None = None
    resident_homes: dict[str, str | None] | None = None  # resident_id -> home_id, for a limited scope only
    villages: frozenset[str] | None = None  # the villages of the townships, for a limited scope only

    @property
    def limited(self) -> bool:
        """Whether the account sees less than the whole county."""
        return self.homes is not None

    @property
    def sql(self) -> PlaceFilter | None:
        """The scope as SQL conditions, for lists that page in the database (None: the whole county)."""
        return None if self.villages is None else PlaceFilter(tuple(sorted(self.villages)))

    def residents(self) -> set[str] | None:
        """The ids of the residents living in the scope (None: everyone)."""
        if self.homes is None or self.resident_homes is None:
            return None
        return {rid for rid, home in self.resident_homes.items() if self.allows_home(home)}

    def allows_home(self, home_id: str | None) -> bool:
        """Whether a home lies in the scope."""
        return self.homes is None or (home_id is not None and home_id in self.homes)

    def allows_resident(self, resident_id: str | None, home_id: str | None = None) -> bool:
        """Whether a resident (by their home, looked up when not given) lies in the scope."""
        if self.homes is None:
            return True
        if home_id is None and resident_id is not None and self.resident_homes is not None:
            home_id = self.resident_homes.get(resident_id)
        return self.allows_home(home_id)

    def allows_place(self, home_id: str | None, resident_id: str | None) -> bool:
        """Whether a home, else a resident's home, lies in the scope (neither: outside every limited scope)."""
        if self.homes is None:
            return True
        return self.allows_home(home_id) if home_id else self.allows_resident(resident_id)

    def allows_village(self, village_id: str | None) -> bool:
        """Whether a village lies in the scope."""
        return self.villages is None or (village_id is not None and village_id in self.villages)

    def allows_point(self, villages: Iterable[Village], lat: float, lon: float) -> bool:
        """Whether a place that belongs to no home (a warehouse, a team's base) lies in the scope: by the village
        nearest to it, the one whose area (dispatch/disaster/village_area.py) it lies in."""
        return self.villages is None or self.allows_village(village_at(villages, lat, lon))

    def allows_device(self, device: DeviceRecord) -> bool:
        """Whether a device's resident, home or village lies in the scope."""
        if self.homes is None:
            return True
        if device.home_id or device.resident_id:
            return self.allows_place(device.home_id, device.resident_id)
        return self.allows_village(device.village_id)

    def allows(self, incident: Incident) -> bool:
        """Whether an incident's place (its home, else its resident's home) lies in the scope."""
        return self.allows_place(incident.home_id, incident.resident_id)


COUNTY_ONLY = "only an account of the whole county may do this"  # 403 for an account limited to townships
OUTSIDE = "a place outside this account's townships"  # 403: a township account registering something elsewhere
DEVICE_FRAMES = frozenset({"detection", "evidence", "reading"})  # live frames that name a device
# live frames of the command room that name a village: the frame type -> the field with the village's id
VILLAGE_FRAMES = {"warning": "area", "draft": "area", "cap": "area", "evacuation": "area", "report": "village_id",
                  "relief": "received"}  # fmt: skip


def village_at(villages: Iterable[Village], lat: float, lon: float) -> str | None:
    """The id of the village nearest to a point (None without villages)."""
    nearest = min(villages, key=lambda v: haversine_km(v.lat, v.lon, lat, lon), default=None)
    return None if nearest is None else nearest.village_id


class FrameFilter:
    """Which live frames a limited account receives: its townships' incidents, devices' frames, texts (by their
    incident), screen pops (by the caller's resident, or rung on the account's own line), and the command room's
    frames that name a village (warnings, drafts, CAP, evacuation, reports, relief receipts, gauges by station).

    Devices and stations are looked up once, when the socket opens; one registered later is held back until the page
    reconnects (the safe side). Frames about the county's machinery (counters, rejections, the SMS gateway, events,
    teams, relief plans, responders' availability) pass."""

    def __init__(self, scope: PlaceScope, registry: Registry, *, username: str = "",
                 sites: Mapping[str, str] | None = None,
                 incident: Callable[[int], Incident | None] | None = None) -> None:  # fmt: skip
        self.scope = scope
        self.username = username  # a screen pop rung on this account's line reaches it whoever calls
        self.sites = sites or {}  # station (terminal) id -> its village
        self.incident = incident  # an incident by id, for the texts' frames
        self.devices = {d.device_id: scope.allows_place(d.home_id, d.resident_id)
                        for d in registry.devices().values()} if scope.limited else {}  # fmt: skip

    def allows(self, raw: bytes) -> bool:
        """Whether a serialised frame `{"type": ..., "data": ...}` may go to this account."""
        if not self.scope.limited:
            return True
        message = orjson.loads(raw)
        kind, data = message.get("type"), message.get("data")
        if not isinstance(data, dict):
            return True
        if kind == "incident":
            incident = data.get("incident") or {}
            return self.scope.allows_place(incident.get("home_id"), incident.get("resident_id"))
        if kind in DEVICE_FRAMES:
            return self.devices.get(str(data.get("device_id")), False)
        if kind == "call":
            resident = data.get("resident") or {}
            return data.get("operator") == self.username or self.scope.allows_resident(resident.get("resident_id"))
        if kind == "sms":
            iid = data.get("incident_id")
            found = self.incident(int(iid)) if isinstance(iid, int) and self.incident is not None else None
            return found is not None and self.scope.allows(found)
        if kind == "gauge":
            return self.scope.allows_village(self.sites.get(str(data.get("id"))))
        if kind in VILLAGE_FRAMES and (kind != "relief" or "received" in data):
            return self.scope.allows_village(data.get(VILLAGE_FRAMES[kind]))
        return True


def scope_of(registry: Registry, user: StaffUser) -> PlaceScope:
    """The place scope of a signed-in account (reads the registry only for a limited account)."""
    if not user.townships:
        return PlaceScope()
    villages = Townships.of(registry.villages()).village_ids(user.townships)
    homes = frozenset(h.home_id for h in registry.homes() if h.village_id in villages)
    rows = registry.db.execute("SELECT resident_id, home_id FROM residents")
    return PlaceScope(user.townships, homes, {r["resident_id"]: r["home_id"] for r in rows}, frozenset(villages))


def registered(registry: Registry) -> dict[str, DeviceRecord]:
    """Every registered device by id, inactive ones too (`Registry.devices()` is ingest's snapshot of the active)."""
    return {d.device_id: d for d in registry.list_devices()}


def current_scope(ctx: Ctx, user: Staff) -> PlaceScope:
    """Route dependency: the signed-in account's place scope (401/403 as `Staff`)."""
    return scope_of(ctx.registry, user)


Scope = Annotated[PlaceScope, Depends(current_scope)]


def incident_in_scope(conn: HTTPConnection) -> None:
    """Router dependency: a route's `{incident_id}` outside the signed-in account's scope answers 404."""
    raw = conn.path_params.get("incident_id")
    ctx: HubContext = conn.app.state.ctx
    if raw is None or ctx.auth is None or ctx.incidents is None:
        return
    user = ctx.auth.session(conn.cookies.get(SESSION_COOKIE), touch=False)
    if user is None or not user.townships:
        return  # no session: the route's own role check answers 401
    try:
        incident = ctx.incidents.store.get(int(raw))
    except (ValueError, OverflowError):
        return  # malformed or unknown: the route answers 422 or 404
    if incident is not None and not scope_of(ctx.registry, user).allows(incident):
        raise HTTPException(status_code=404, detail=f"incident {raw} not found")


def place_in_scope(conn: HTTPConnection) -> None:
    """Router dependency: a path's `{incident_id}`, `{resident_id}` or `{device_id}` outside the account's scope
    answers 404 (an unknown one is left to the route)."""
    incident_in_scope(conn)
    resident_id, device_id = conn.path_params.get("resident_id"), conn.path_params.get("device_id")
    ctx: HubContext = conn.app.state.ctx
    if (resident_id is None and device_id is None) or ctx.auth is None:
        return
    user = ctx.auth.session(conn.cookies.get(SESSION_COOKIE), touch=False)
    if user is None or not user.townships:
        return
    scope = scope_of(ctx.registry, user)
    known = resident_id is not None and ctx.registry.resident(resident_id) is not None
    if known and not scope.allows_resident(resident_id):
        raise HTTPException(status_code=404, detail=f"resident {resident_id} not found")
    device = registered(ctx.registry).get(device_id) if device_id is not None else None
    if device is not None and not scope.allows_device(device):
        raise HTTPException(status_code=404, detail=f"device {device_id!r} is not registered")
