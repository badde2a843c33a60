"""Login, logout and user administration over REST, and the `require(role...)` dependency for every /api route.

No session: 401. A session whose role is not allowed: 403. Logins, logouts and user changes go to the audit log.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from dashboard.auth import ROLES, SESSION_S, AuthError, StaffAuth, StaffUser
from dashboard.guard import CSRF_COOKIE, csrf_token

COOKIE = "hub_session"
ADMIN = ("admin",)
SUPERVISORS = ("supervisor", "commander", "admin")


def _auth(request: Request) -> StaffAuth:
    return request.app.state.ctx.auth  # type: ignore[no-any-return]


def _audit(request: Request, actor: str, action: str, detail: dict[str, Any]) -> None:
    incidents = request.app.state.ctx.incidents
    if incidents is not None:
        incidents.audit(actor, action, None, detail)


def _set_cookies(request: Request, response: Response, token: str, session: bool = True) -> None:
    """The HttpOnly session cookie and the script-readable CSRF cookie (issue 8), both SameSite=Strict."""
    secure = bool(getattr(request.app.state, "behind_tls", False))
    if session:
        response.set_cookie(COOKIE, token, max_age=int(SESSION_S), httponly=True, samesite="strict", secure=secure)
    response.set_cookie(CSRF_COOKIE, csrf_token(token), max_age=int(SESSION_S), samesite="strict", secure=secure)


def require(*roles: str) -> Callable[[Request], StaffUser]:
    """A dependency: the signed-in user, who must hold one of `roles` (any staff role when none given)."""
    allowed = frozenset(roles or ROLES)

    def check(request: Request) -> StaffUser:
        user = _auth(request).session(request.cookies.get(COOKIE))
        if user is None:
            raise HTTPException(status_code=401, detail="sign in first")
        if user.role not in allowed:
            raise HTTPException(status_code=403, detail=f"needs role {sorted(allowed)}")
        return user

    return check


Staff = Annotated[StaffUser, Depends(require())]
Admin = Annotated[StaffUser, Depends(require(*ADMIN))]
open_router = APIRouter(prefix="/api", tags=["auth"])
router = APIRouter(prefix="/api", tags=["auth"], dependencies=[Depends(require())])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserIn(LoginIn):
    role: str = Field(pattern="^(operator|supervisor|commander|admin)$")
    display_name: str = Field("", max_length=200)


def _audit_throttled(request: Request, auth: StaffAuth) -> None:
    """One audit row per (user name, address) wait that refused attempts (issue 16), not one per attempt."""
    for s in auth.throttle.summaries(auth.clock()):
        _audit(request, s.username, "login_throttled", {"client": s.client, "refused": s.refused, "first": s.first,
                                                        "last": s.last, "failures": s.failures})


@open_router.post("/login")
def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    """Sign in; sets an HttpOnly session cookie that expires with the shift (or when idle)."""
    client = request.client.host if request.client else "?"
    auth = _auth(request)
    try:
        token, user = auth.login(body.username, body.password, client)
    except AuthError as exc:
        if exc.audit:  # a checked wrong password; attempts refused by the throttle are summarised instead
            _audit(request, body.username, "login_failed", {"client": client, "why": str(exc)})
        _audit_throttled(request, auth)
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))} if exc.status == 429 else None
        raise HTTPException(status_code=exc.status, detail=str(exc), headers=headers) from exc
    _audit_throttled(request, auth)
    _set_cookies(request, response, token)
    _audit(request, user.username, "login", {"client": client})
    return {"username": user.username, "role": user.role, "display_name": user.display_name}


@router.post("/logout")
def logout(request: Request, response: Response, user: Staff) -> dict[str, str]:
    """End this session."""
    _auth(request).logout(request.cookies.get(COOKIE, ""))
    response.delete_cookie(COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    _audit(request, user.username, "logout", {})
    return {"status": "signed out"}


@router.get("/me")
def me(user: Staff, request: Request, response: Response) -> dict[str, str]:
    """Who is signed in (and a fresh CSRF cookie for a page opened on an older session)."""
    _set_cookies(request, response, request.cookies.get(COOKIE, ""), session=False)
    return {"username": user.username, "role": user.role, "display_name": user.display_name}


@router.get("/admin/users")
def list_users(request: Request, _user: Admin) -> list[dict[str, Any]]:
    """Staff accounts (admin only)."""
    return _auth(request).users()


@router.post("/admin/users", status_code=201)
def add_user(body: UserIn, request: Request, user: Admin) -> dict[str, str]:
    """Create a staff account (admin only)."""
    try:
        made = _auth(request).add_user(body.username, body.password, body.role, body.display_name)
    except AuthError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
    _audit(request, user.username, "user_added", {"username": made.username, "role": made.role})
    return {"username": made.username, "role": made.role}


@router.post("/admin/users/{username}/disable")
def disable_user(username: str, request: Request, user: Admin) -> dict[str, str]:
    """Disable an account and end its sessions (admin only)."""
    _auth(request).set_active(username, False)
    _audit(request, user.username, "user_disabled", {"username": username})
    return {"username": username, "status": "disabled"}
