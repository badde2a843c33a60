"""An in-process hub (built by the composition root, no broker connection) and a signed-in ASGI client over it."""

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
from hub.app import Hub

USER = ("issue9-admin", "issue9-password")


class ApiClient:
    """Keeps the session cookie and sends its CSRF token; each call runs the ASGI app in its own event loop."""

    def __init__(self, app: FastAPI, base_url: str = "http://hub") -> None:
        self.app = app
        self.base_url = base_url
        self.cookies = httpx.Cookies()

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One request through the app."""

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            csrf = {"X-CSRF-Token": self.cookies.get("hub_csrf") or ""}  # issue 8: double-submit CSRF token
            async with httpx.AsyncClient(
                transport=transport, base_url=self.base_url, cookies=self.cookies, headers=csrf
            ) as c:
                response = await c.request(method, path, **kw)
                self.cookies = c.cookies
                return response

        return asyncio.run(go())

    def get(self, path: str, **params: Any) -> httpx.Response:
        """GET with query parameters."""
        return self.request("GET", path, params=params)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        """POST (json=..., content=..., ...)."""
        return self.request("POST", path, **kw)


@contextmanager
def hub_api(data_dir: Path, login: bool = True) -> Iterator[tuple[Hub, ApiClient]]:
    """A built hub over `data_dir` and a client signed in as an admin (unless login=False)."""
    with built_hub(data_dir, [(*USER, "admin")]) as hub:
        client = ApiClient(create_app(hub.ctx))
        if login:
            client.request("POST", "/api/login", json={"username": USER[0], "password": USER[1]}).raise_for_status()
        yield hub, client
