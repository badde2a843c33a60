"""The app-wide access check (issue 8): the role table, CSRF on state-changing calls, and the access log.

Runs as a dependency of every route, after routing (so it sees the route's path template) and before the handler:
no session 401 (websocket: close 4401), a role not in the table 403 (4403), a route missing from the table 403.
Sessions are cookies, so a POST/PUT/PATCH/DELETE also needs the `X-CSRF-Token` header to equal the session's CSRF
token (handed to the page's script in the `hub_csrf` cookie; derived from the HttpOnly session token, so another
site can neither read nor forge it), and a request whose Origin names another site is refused, login included.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import HTTPException, WebSocketException
from starlette.requests import HTTPConnection

from dashboard.auth import StaffUser
from dashboard.roles import Rule, rule

SESSION_COOKIE = "hub_session"
CSRF_COOKIE = "hub_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: an HMAC of a fixed label keyed by the session token."""
    return hmac.new(session_token.encode(), b"hub-csrf-v1", hashlib.sha256).hexdigest()


def _refuse(conn: HTTPConnection, status: int, detail: str) -> Exception:
    if conn.scope["type"] == "websocket":
        return WebSocketException(code=4000 + status, reason=detail)
    return HTTPException(status_code=status, detail=detail)


def _cross_site(conn: HTTPConnection) -> bool:
    """True when the Origin header names a host other than the one addressed and not one of the configured
    origins (`app.state.origins`, HUB_HTTP__ORIGINS). No Origin (not a browser) is not cross-site."""
    origin = conn.headers.get("origin")
    if origin is None:
        return False
    if origin.rstrip("/").lower() in getattr(conn.app.state, "origins", ()):
        return False
    return urlsplit(origin).netloc.lower() != conn.headers.get("host", "").lower()


def _check_csrf(conn: HTTPConnection, session_token: str) -> None:
    sent = conn.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_token(session_token).encode()):
        raise HTTPException(status_code=403, detail=f"missing or wrong {CSRF_HEADER} header")


def _rule_of(conn: HTTPConnection) -> Rule:
    route = conn.scope.get("route")
    method = "WS" if conn.scope["type"] == "websocket" else conn.scope["method"]
    found = rule(method, getattr(route, "path_format", "")) if route is not None else None
    if found is None:
        raise _refuse(conn, 403, "no access policy for this route")
    return found


def _audit(conn: HTTPConnection, user: StaffUser, kind: str) -> None:
    access = getattr(conn.app.state, "access", None)
    if access is not None:
        query = dict(conn.query_params.multi_items())
        access.record(user.username, user.role, f"{kind}_read", conn.url.path, {"query": query})


def guard(conn: HTTPConnection) -> None:
    """Enforce the role table, CSRF and the access log for the matched route."""
    found = _rule_of(conn)
    unsafe = conn.scope["type"] == "http" and conn.scope["method"] in UNSAFE
    if unsafe and _cross_site(conn):
        raise HTTPException(status_code=403, detail="cross-site request refused")
    if conn.scope["type"] == "websocket" and _cross_site(conn):  # issue 16: no cross-site websocket hijacking
        raise _refuse(conn, 403, "cross-site websocket refused")
    if found.roles is None:
        return
    token = conn.cookies.get(SESSION_COOKIE, "")
    auth = conn.app.state.ctx.auth
    user = auth.session(token) if auth is not None else None
    if user is None:
        raise _refuse(conn, 401, "sign in first")
    if user.role not in found.roles:
        raise _refuse(conn, 403, f"needs role {sorted(found.roles)}")
    if unsafe:
        _check_csrf(conn, token)
    if found.audit:
        _audit(conn, user, found.audit)
