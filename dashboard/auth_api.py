"""Login, logout and user administration over REST.

No session: 401. A session whose role is not allowed: 403 (the `require(role...)` dependency, dashboard/deps.py).
Logins, logouts and user changes go to the audit log.
"""

from __future__ import annotations

import math
from typing import Any, cast

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from dashboard.auth import SESSION_COOKIE, SESSION_S, AuthError, StaffAuth, StaffUser
from dashboard.context import HubContext
from dashboard.deps import Admin, Auth, BehindTls, Ctx, SignedIn, require
from dashboard.guard import CSRF_COOKIE, csrf_token
from dashboard.roles import SIGNED_IN
from dispatch.insights.places import Townships, UnknownTownship

COOKIE = SESSION_COOKIE


def _audit(ctx: HubContext, actor: str, action: str, detail: dict[str, Any]) -> None:
    if ctx.incidents is not None:
        ctx.incidents.audit(actor, action, None, detail)


def _set_cookies(response: Response, token: str, secure: bool, session: bool = True) -> None:
    """The HttpOnly session cookie and the script-readable CSRF cookie (issue 8), both SameSite=Strict."""
    if session:
        response.set_cookie(COOKIE, token, max_age=int(SESSION_S), httponly=True, samesite="strict", secure=secure)
    response.set_cookie(CSRF_COOKIE, csrf_token(token), max_age=int(SESSION_S), samesite="strict", secure=secure)


open_router = APIRouter(prefix="/api", tags=["auth"])
# issue 14: every account (a village's reporter too) may sign out and ask who it is; the rest here needs Admin
router = APIRouter(prefix="/api", tags=["auth"], dependencies=[Depends(require(*SIGNED_IN))])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserIn(LoginIn):
    role: str = Field(pattern="^(operator|supervisor|commander|admin|bureau|reporter)$")  # issue 14: officers too
    display_name: str = Field("", max_length=200)
    townships: list[str] = Field(default_factory=list, max_length=200,
                                 description="township codes or names the account is limited to (none: the county)")


class TownshipsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    townships: list[str] = Field(max_length=200, description="township codes or names; an empty list: the county")


def _township_keys(ctx: HubContext, asked: list[str]) -> list[str]:
    """The keys of the townships asked for; 422 naming one that is not registered."""
    try:
        return Townships.of(ctx.registry.villages()).resolve(asked)
    except UnknownTownship as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


WITHIN = "an account limited to townships gives accounts only townships of its own"  # a township admin's 403


def _within(admin: StaffUser, townships: list[str] | tuple[str, ...]) -> bool:
    """Whether an admin may see or manage an account of these townships (or give them): any, for a county admin; a
    non-empty part of its own for an admin limited to townships (who cannot make or reach a county account)."""
    return not admin.townships or (bool(townships) and set(townships) <= set(admin.townships))


def _managed(auth: StaffAuth, admin: StaffUser, username: str) -> None:
    """404 for an account a township admin may not reach (as if it did not exist), else nothing."""
    if admin.townships and not any(u["username"] == username and _within(admin, cast(list[str], u["townships"]))
                                   for u in auth.users()):
        raise HTTPException(status_code=404, detail=f"no user {username!r}")


def _audit_throttled(ctx: HubContext, auth: StaffAuth) -> None:
    """One audit row per (user name, address) wait that refused attempts (issue 16), not one per attempt."""
    for s in auth.throttle.summaries(auth.clock()):
        _audit(ctx, s.username, "login_throttled", {"client": s.client, "refused": s.refused, "first": s.first,
                                                        "last": s.last, "failures": s.failures})


@open_router.post("/login")
def login(
    body: LoginIn, request: Request, response: Response, ctx: Ctx, auth: Auth, secure: BehindTls
) -> dict[str, Any]:
    """Sign in; sets an HttpOnly session cookie that expires with the shift (or when idle)."""
    client = request.client.host if request.client else "?"
    try:
        token, user = auth.login(body.username, body.password, client)
    except AuthError as exc:
        if exc.audit:  # a checked wrong password; attempts refused by the throttle are summarised instead
            _audit(ctx, body.username, "login_failed", {"client": client, "why": str(exc)})
        _audit_throttled(ctx, auth)
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))} if exc.status == 429 else None
        raise HTTPException(status_code=exc.status, detail=str(exc), headers=headers) from exc
    _audit_throttled(ctx, auth)
    _set_cookies(response, token, secure)
    _audit(ctx, user.username, "login", {"client": client})
    return {"username": user.username, "role": user.role, "display_name": user.display_name,
            "townships": list(user.townships)}  # the place scope (empty: the whole county)


@router.post("/logout")
def logout(request: Request, response: Response, user: SignedIn, ctx: Ctx, auth: Auth) -> dict[str, str]:
    """End this session."""
    auth.logout(request.cookies.get(COOKIE, ""))
    response.delete_cookie(COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    _audit(ctx, user.username, "logout", {})
    return {"status": "signed out"}


@router.get("/me")
def me(user: SignedIn, request: Request, response: Response, secure: BehindTls) -> dict[str, Any]:
    """Who is signed in (and a fresh CSRF cookie for a page opened on an older session)."""
    _set_cookies(response, request.cookies.get(COOKIE, ""), secure, session=False)
    return {"username": user.username, "role": user.role, "display_name": user.display_name,
            "townships": list(user.townships)}  # the place scope (empty: the whole county)


@router.get("/admin/users")
def list_users(auth: Auth, user: Admin) -> list[dict[str, Any]]:
    """Staff accounts (admin only); an admin limited to townships sees the accounts limited to its townships."""
    return [u for u in auth.users() if _within(user, cast(list[str], u["townships"]))]


@router.post("/admin/users", status_code=201)
def add_user(body: UserIn, user: Admin, ctx: Ctx, auth: Auth) -> dict[str, str]:
    """Create a staff account (admin only)."""
    keys = _township_keys(ctx, body.townships)
    if not _within(user, keys):
        raise HTTPException(status_code=403, detail=WITHIN)
    try:
        made = auth.add_user(body.username, body.password, body.role, body.display_name)
        auth.set_townships(made.username, keys)
    except AuthError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
    _audit(ctx, user.username, "user_added", {"username": made.username, "role": made.role, "townships": keys})
    return {"username": made.username, "role": made.role}


@router.put("/admin/users/{username}/townships")
def set_townships(username: str, body: TownshipsIn, user: Admin, ctx: Ctx, auth: Auth) -> dict[str, Any]:
    """Limit an account to some townships, or (an empty list) give it the whole county again (admin only)."""
    keys = _township_keys(ctx, body.townships)
    _managed(auth, user, username)
    if not _within(user, keys):
        raise HTTPException(status_code=403, detail=WITHIN)
    try:
        auth.set_townships(username, keys)
    except AuthError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
    _audit(ctx, user.username, "user_townships", {"username": username, "townships": keys})
    return {"username": username, "townships": keys}


@router.post("/admin/users/{username}/disable")
def disable_user(username: str, user: Admin, ctx: Ctx, auth: Auth) -> dict[str, str]:
    """Disable an account and end its sessions (admin only)."""
    _managed(auth, user, username)
    auth.set_active(username, False)
    _audit(ctx, user.username, "user_disabled", {"username": username})
    return {"username": username, "status": "disabled"}
