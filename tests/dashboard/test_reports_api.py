"""Issue 14, item 4 over REST: commanders declare events and mark them stable (which opens 核报); a reporter account
files reports only for its own villages and signs as itself; a village's initial report for an unknown event does
not become the map's current event; the audit log says who declared and stabilised."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hub_api import ApiClient

from dashboard.app import create_app
from hub.app import Hub, build_hub
from hub.settings import Settings, StoreSettings
from simulators.community import build_community

USERS = {"cmd": "commander", "op": "operator", "li": "reporter", "admin": "admin"}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    async def build() -> Hub:
        return build_hub(Settings(store=StoreSettings(data_dir=tmp_path)))

    built = asyncio.run(build())
    build_community(residents=10, terminals=4, villages=3, seed=3).register(built.registry)
    built.registry.devices()
    assert built.ctx.auth is not None
    built.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    for name, role in USERS.items():
        built.ctx.auth.add_user(name, f"{name}-password-1", role)
    yield built
    built.close()


def client(hub: Hub, user: str) -> ApiClient:
    c = ApiClient(create_app(hub.ctx), base_url="http://hub.test")
    c.post("/api/login", json={"username": user, "password": f"{user}-password-1"}).raise_for_status()
    return c


def test_reporters_commanders_and_the_verified_stage(hub: Hub) -> None:
    cmd, op, li, admin = (client(hub, u) for u in ("cmd", "op", "li", "admin"))
    form = {"event_id": "storm-9", "village_id": "V01", "stage": "initial", "hazard": "flood",
            "indicators": {"affected_population": 30}, "officer": "someone-else"}  # fmt: skip

    # a village names an event nobody declared: kept, but not the map's current event
    assert op.post("/api/command/reports", json=form | {"event_id": "rumour-1"}).status_code == 200
    state = op.get("/api/command/state").json()
    assert state["events"] == [] and state["event"] is None
    assert [e["event_id"] for e in state["reported_events"]] == ["rumour-1"]

    # a reporter account: nothing but its granted villages, no other staff route
    assert li.get("/api/residents").status_code == 403 and li.get("/api/command/state").status_code == 403
    assert li.post("/api/command/reports", json=form).status_code == 403  # no village granted yet
    def grant(c: ApiClient, user: str, village: str) -> int:
        return c.request("PUT", f"/api/command/reporters/{user}", json={"villages": [village]}).status_code

    assert grant(cmd, "li", "V01") == 403  # admins grant villages
    assert grant(admin, "op", "V01") == 404  # not a reporter account
    assert grant(admin, "li", "V99") == 422  # not registered
    assert grant(admin, "li", "V01") == 200
    assert [v["id"] for v in li.get("/api/command/reporting").json()["villages"]] == ["V01"]

    assert op.post("/api/command/events/storm-9/stabilise").status_code == 403
    assert cmd.post("/api/command/events/storm-9/stabilise").status_code == 404
    assert cmd.post("/api/command/events", json={"event_id": "storm-9", "villages": ["V99"]}).status_code == 422
    cmd.post("/api/command/events", json={"event_id": "storm-9", "villages": ["V01", "V02"]}).raise_for_status()
    assert cmd.post("/api/command/events", json={"event_id": "storm-9"}).status_code == 409
    assert op.get("/api/command/state").json()["event"]["event_id"] == "storm-9"

    assert li.post("/api/command/reports", json=form | {"village_id": "V02"}).status_code == 403  # not hers
    kept = li.post("/api/command/reports", json=form).json()
    assert kept["version"] == 1
    cc = hub.ctx.field_ops.centre  # type: ignore[union-attr]  # built with a command centre
    assert cc.book.history("storm-9", "V01")[0].officer == "li"  # signed as the account, not as the form says

    verified = form | {"stage": "verified", "indicators": {"affected_population": 35}}
    assert li.post("/api/command/reports", json=verified).status_code == 422  # not stable yet
    assert li.get("/api/command/reporting").json()["events"][0]["stages"] == ["initial", "follow_up"]
    stable = cmd.post("/api/command/events/storm-9/stabilise").json()
    assert stable["stabilised_by"] == "cmd" and stable["stabilised_at"]
    assert cmd.post("/api/command/events/storm-9/stabilise").status_code == 409
    assert "verified" in li.get("/api/command/reporting").json()["events"][0]["stages"]
    assert li.post("/api/command/reports", json=verified).json()["version"] == 2
    assert [r.stage for r in cc.book.history("storm-9", "V01")] == ["initial", "verified"]
    audit = [a["action"] for a in hub.ctx.incidents.store.audit_log()]  # type: ignore[union-attr]  # built with it
    assert {"disaster_event_declared", "disaster_event_stabilised", "reporter_villages"} <= set(audit)
