"""FastAPI dependencies of the HTTP layer: the running hub's objects and the signed-in member of staff.

`create_app` puts the composition root's `HubContext` on the app; a route asks for what it needs by parameter type
and never reads `request.app.state` itself:

    @router.post("/incidents/{incident_id}/acknowledge")
    def acknowledge(incident_id: int, incidents: Incidents, user: Staff) -> ...

`Ctx` is the whole context; `Auth`, `Incidents`, `Desk` and `Ops` are its optional parts, answered 503 when this
hub was built without them; `Access` is the access log and `BehindTls` whether cookies must be Secure. `Staff`,
`Supervisor`, `Commander` and `Admin` are the signed-in user, who must hold a role of that group (401 without a
session, 403 with another role); `require(role, ...)` makes any other group.
These checks are the second line behind the role table (dashboard/roles.py), which `dashboard.guard` enforces on
every route first; the two must agree (tests/security/test_openapi_roles.py).

The lookups are `async def` only because they do not block: FastAPI then calls them on the event loop instead of
handing each to its thread pool. `require`'s check reads the session table, so it stays a plain `def`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Path
from starlette.requests import HTTPConnection

from alerts.incidents.service import IncidentService
from dashboard.access_log import AccessLog
from dashboard.auth import ROLES, SESSION_COOKIE, StaffAuth, StaffUser
from dashboard.context import HubContext
from dashboard.roles import ADMIN, COMMAND, REPORTING, SIGNED_IN, SUPERVISORS
from devices.identities import DeviceIdentities
from dispatch.desk import DispatchDesk
from dispatch.disaster.field_ops import FieldOps

T = TypeVar("T")


async def get_ctx(conn: HTTPConnection) -> HubContext:
    """The objects the composition root handed to `create_app`."""
    ctx: HubContext = conn.app.state.ctx
    return ctx


ROW_ID_MAX = 2**63 - 1  # the state database's INTEGER range: a larger id in a path was a 500 (schemathesis)
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]  # a row id in a path: incidents, tasks, offers, messages

Ctx = Annotated[HubContext, Depends(get_ctx)]


async def get_access(conn: HTTPConnection) -> AccessLog:
    """Who read health data or full identifiers (issue 8)."""
    access: AccessLog = conn.app.state.access
    return access


Access = Annotated[AccessLog, Depends(get_access)]


async def get_behind_tls(conn: HTTPConnection) -> bool:
    """Whether the hub is served behind TLS (cookies then carry Secure; issue 8)."""
    return bool(conn.app.state.behind_tls)


BehindTls = Annotated[bool, Depends(get_behind_tls)]


def _present(part: T | None, what: str) -> T:
    if part is None:
        raise HTTPException(503, f"no {what} in this hub")
    return part


async def get_auth(ctx: Ctx) -> StaffAuth:
    """Staff accounts and sessions (503 when this hub has none)."""
    return _present(ctx.auth, "staff accounts")


async def get_incidents(ctx: Ctx) -> IncidentService:
    """The call-centre loop's incidents and audit log (503 when this hub has none)."""
    return _present(ctx.incidents, "incident service")


async def get_desk(ctx: Ctx) -> DispatchDesk:
    """Responders, offers and service orders (503 when this hub has none)."""
    return _present(ctx.desk, "dispatch desk")


async def get_field_ops(ctx: Ctx) -> FieldOps:
    """The running hub's command room (503 when this hub has none)."""
    return _present(ctx.field_ops, "command centre")


async def get_identities(ctx: Ctx) -> DeviceIdentities:
    """Devices' MQTT credentials (issue 16; 503 when this hub does not manage its broker's)."""
    return _present(ctx.identities, "device credential service")


Auth = Annotated[StaffAuth, Depends(get_auth)]
Identities = Annotated[DeviceIdentities, Depends(get_identities)]
Incidents = Annotated[IncidentService, Depends(get_incidents)]
Desk = Annotated[DispatchDesk, Depends(get_desk)]
Ops = Annotated[FieldOps, Depends(get_field_ops)]


def require(*roles: str) -> Callable[[HTTPConnection, StaffAuth], StaffUser]:
    """A dependency: the signed-in user, who must hold one of `roles` (any staff role when none given)."""
    allowed = frozenset(roles or ROLES)

    def check(conn: HTTPConnection, auth: Auth) -> StaffUser:
        user = auth.session(conn.cookies.get(SESSION_COOKIE))
        if user is None:
            raise HTTPException(status_code=401, detail="sign in first")
        if user.role not in allowed:
            raise HTTPException(status_code=403, detail=f"needs role {sorted(allowed)}")
        return user

    return check


Staff = Annotated[StaffUser, Depends(require())]
Supervisor = Annotated[StaffUser, Depends(require(*SUPERVISORS))]
Commander = Annotated[StaffUser, Depends(require(*COMMAND))]
Admin = Annotated[StaffUser, Depends(require(*ADMIN))]
Reporting = Annotated[StaffUser, Depends(require(*REPORTING))]  # issue 14: staff, or a village's reporter
SignedIn = Annotated[StaffUser, Depends(require(*SIGNED_IN))]  # any account: who am I, sign out, my language
