"""Every /api route needs a session (401), admin routes need the admin role (403); login is rate-limited."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hub_api import ApiClient

from hub.app import build_hub
from hub.settings import MqttSettings, Settings, StoreSettings

OPEN = {"/api/login", "/api/i18n", "/api/i18n/{lang}",  # issue 18: the sign-in form is translated too
        "/api/sms/dlr"}  # issue 15: Kannel's delivery reports, each checked against its message's own token


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ApiClient]:
    from dashboard.app import create_app

    settings = Settings(mqtt=MqttSettings(url="mqtt://127.0.0.1:1"), store=StoreSettings(data_dir=tmp_path))

    async def build():
        return build_hub(settings)

    hub = asyncio.run(build())
    assert hub.ctx.auth is not None
    hub.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    hub.ctx.auth.add_user("admin", "admin-password", "admin")
    hub.ctx.auth.add_user("op", "operator-password", "operator")
    yield ApiClient(create_app(hub.ctx))
    hub.close()


def _api_routes(client: ApiClient) -> list[tuple[str, str]]:
    """Every (method, path) of the app's /api routes, from its OpenAPI schema (which walks the routers)."""
    paths = client.app.openapi()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() if p.startswith("/api") and p not in OPEN for m in ops]


def _fill(path: str) -> str:
    return (
        path.replace("{incident_id}", "1")
        .replace("{offer_id}", "1")
        .replace("{username}", "x")
        .replace("{device_id}", "W1")
    )


def test_every_api_route_without_session_is_401(client: ApiClient) -> None:
    routes = _api_routes(client)
    assert len(routes) > 20
    for method, path in routes:
        assert client.request(method, _fill(path)).status_code == 401, (method, path)
    assert client.get("/health").status_code == 200


def test_operator_cannot_administer_users(client: ApiClient) -> None:
    assert client.post("/api/login", json={"username": "op", "password": "operator-password"}).status_code == 200
    assert client.get("/api/me").json()["role"] == "operator"
    assert client.get("/api/admin/users").status_code == 403
    body = {"username": "eve", "password": "long-enough-pw", "role": "admin"}
    assert client.post("/api/admin/users", json=body).status_code == 403
    assert client.post("/api/admin/users/op/disable").status_code == 403
    assert client.get("/api/audit").status_code == 403
    assert client.get("/api/incidents").status_code == 200
    client.post("/api/logout")
    assert client.get("/api/incidents").status_code == 401


def test_admin_adds_a_user_and_everything_is_audited(client: ApiClient) -> None:
    client.post("/api/login", json={"username": "admin", "password": "admin-password"})
    body = {"username": "sup", "password": "long-enough-pw", "role": "supervisor"}
    assert client.post("/api/admin/users", json=body).status_code == 201
    actions = [(a["actor"], a["action"]) for a in client.get("/api/audit").json()]
    assert ("admin", "login") in actions and ("admin", "user_added") in actions


def test_login_is_rate_limited(client: ApiClient) -> None:
    codes = [client.post("/api/login", json={"username": "op", "password": "wrong"}).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]  # issue 16: this (user name, address) pair now waits, growing
    refused = client.post("/api/login", json={"username": "op", "password": "operator-password"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_websocket_without_session_is_refused(client: ApiClient) -> None:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": [],
        "scheme": "ws",
        "server": ("test", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
        "subprotocols": [],
        "asgi": {"version": "3.0"},
    }
    asyncio.run(client.app(scope, receive, send))
    assert sent and sent[0]["type"] == "websocket.close" and sent[0]["code"] == 4401
