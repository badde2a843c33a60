"""The app-wide access check (issue 8): the role table, CSRF on state-changing calls, and the access log.

Runs as a dependency of every route, after routing (so it sees the route's path template) and before the handler:
no session 401 (websocket: close 4401), a role not in the table 403 (4403), a route missing from the table 403.
Sessions are cookies, so a POST/PUT/PATCH/DELETE also needs the `X-CSRF-Token` header to equal the session's CSRF
token (handed to the page's script in the `hub_csrf` cookie; derived from the HttpOnly session token, so another
site can neither read nor forge it), and a request whose Origin names another site is refused, login included.

Issue 16: every unsafe request made with a session is attributed in the audit log (`Attribution`, below): who,
in which role, which route and path, the object it named (path parameters and the id-like fields of its JSON
body or answer) and the outcome (the status code, refusals by role or CSRF included). Requests without a session
are not written (anyone could grow the table); sign-ins are audited by their route, throttled ones summarised.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import HTTPException, WebSocketException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.access_log import AccessLog
from dashboard.auth import SESSION_COOKIE, StaffUser
from dashboard.deps import Access, Ctx
from dashboard.roles import Rule, rule

CSRF_COOKIE = "hub_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ACTOR_KEY = "hub.actor"  # scope key: the signed-in user and route of an unsafe request, for `Attribution`
KEEP_BYTES = 64 * 1024  # of a request or answer body, to find the object's id in it
logger = logging.getLogger(__name__)


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


def _audit(conn: HTTPConnection, access: AccessLog, user: StaffUser, kind: str) -> None:
    query = dict(conn.query_params.multi_items())
    access.record(user.username, user.role, f"{kind}_read", conn.url.path, {"query": query})


def guard(conn: HTTPConnection, ctx: Ctx, access: Access) -> None:
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
    user = ctx.auth.session(token) if ctx.auth is not None else None
    if user is None:
        raise _refuse(conn, 401, "sign in first")
    if unsafe:
        route = conn.scope.get("route")
        conn.scope[ACTOR_KEY] = (user, getattr(route, "path_format", ""))
    if user.role not in found.roles:
        raise _refuse(conn, 403, f"needs role {sorted(found.roles)}")
    if unsafe:
        _check_csrf(conn, token)
    if found.audit:
        _audit(conn, access, user, found.audit)


def _ids(body: bytes) -> dict[str, Any]:
    """The id-like top-level fields of a JSON object body (`id`, `*_id`, `username`, `identifier`, `source`)."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items()
            if (k == "id" or k.endswith("_id") or k in ("username", "identifier", "source", "external_id", "bridge"))
            and isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) <= 200}


class Attribution:
    """ASGI middleware: after an unsafe request that the guard saw signed in, one audit row with its outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, keeping the start of both bodies and the status; then write the row."""
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        request_body, answer_body, status = bytearray(), bytearray(), 500

        async def keep_request() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(request_body) < KEEP_BYTES:
                request_body.extend(message.get("body", b"")[: KEEP_BYTES - len(request_body)])
            return message

        async def keep_answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and len(answer_body) < KEEP_BYTES:
                answer_body.extend(message.get("body", b"")[: KEEP_BYTES - len(answer_body)])
            await send(message)

        try:
            await self.app(scope, keep_request, keep_answer)
        finally:
            actor = scope.get(ACTOR_KEY)
            if actor is not None:
                await self._write(scope, actor, status, bytes(request_body), bytes(answer_body))

    async def _write(self, scope: Scope, actor: Any, status: int, request_body: bytes, answer_body: bytes) -> None:
        user, route = actor
        params = {k: v for k, v in scope.get("path_params", {}).items() if isinstance(v, str | int)}
        answer_ids = {k: v for k, v in _ids(answer_body).items() if k not in params} if status < 400 else {}
        detail = {"role": user.role, "method": scope["method"], "path": scope["path"], "route": route,
                  "object": {**_ids(request_body), **answer_ids, **params}, "status": status}
        incidents = scope["app"].state.ctx.incidents
        if incidents is None:
            return
        try:
            await asyncio.to_thread(incidents.audit, user.username, "request", None, detail)
        except Exception:  # the answer is sent already; a lost row must show in the log, not as a 500
            logger.exception("could not write the audit row of %s %s by %s", scope["method"], scope["path"],
                             user.username)
