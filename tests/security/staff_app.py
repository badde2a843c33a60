"""An in-process hub with one account per staff role, and a client that calls its ASGI app as any of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from inproc import built_hub

from dashboard.app import create_app
from dashboard.auth import ACCOUNT_ROLES
from dashboard.guard import CSRF_HEADER, SESSION_COOKIE, csrf_token
from hub.app import Hub

PASSWORD = "staff-password-1"


class StaffClient:
    """Each call runs the app in its own event loop, as nobody or in a fresh session of the role's account."""

    def __init__(self, hub: Hub, behind_tls: bool = False) -> None:
        self.hub = hub
        self.app: FastAPI = create_app(hub.ctx, behind_tls=behind_tls)

    def session(self, role: str) -> str:
        """A new session token of the role's account (each call its own, so a logout test logs out only itself)."""
        assert self.hub.ctx.auth is not None
        token, _user = self.hub.ctx.auth.login(role, PASSWORD, "127.0.0.1")
        return token

    def call(self, method: str, path: str, role: str | None = None, csrf: bool = True, **kw: Any) -> httpx.Response:
        """One request; with a role: its session cookie and (unless csrf=False) the matching CSRF header."""
        cookies, headers = {}, dict(kw.pop("headers", {}))
        if role is not None:
            token = self.session(role)
            cookies[SESSION_COOKIE] = token
            if csrf:
                headers[CSRF_HEADER] = csrf_token(token)

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test", cookies=cookies) as c:
                return await c.request(method, path, headers=headers, **kw)

        return asyncio.run(go())


@contextmanager
def staff_hub(data_dir: Path, behind_tls: bool = False) -> Iterator[StaffClient]:
    """A built hub over `data_dir` with accounts named after the roles (operator, supervisor, commander, admin)."""
    with built_hub(data_dir, [(role, PASSWORD, role) for role in ACCOUNT_ROLES]) as hub:
        yield StaffClient(hub, behind_tls)
