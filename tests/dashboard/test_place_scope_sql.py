"""Scope by place in SQL, on SQLite and PostgreSQL: a township account's lists are full pages of its own rows.

The other township (T2) has many more, and newer, calls, texts, incidents, detections, audit entries and caring calls
than the page holds; lists that fetched the county's newest rows and then filtered them (the code before this test)
gave the township account a short or empty page. Each list must now give it exactly its own newest rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hub_api import ApiClient
from insights_history import T1, build

from alerts.detection import Detection, Severity
from dashboard.app import create_app
from dashboard.call_log import Call
from devices.records import Resident
from hub.app import Hub, build_hub
from hub.settings import MqttSettings, Settings, StoreSettings

PASSWORD = "scope-sql-password"
MANY = 130  # the other township's rows, newer than ours: more than any page below asks for (and than 20 pages)
T = 1_790_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    url = request.getfixturevalue("postgres") if request.param == "postgresql" else ""
    store = StoreSettings(data_dir=tmp_path, state_url=url)
    settings = Settings(mqtt=MqttSettings(url="mqtt://127.0.0.1:1"), store=store)

    async def made() -> Hub:
        return build_hub(settings)

    built = asyncio.run(made())
    try:
        assert built.ctx.auth is not None
        built.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
        for name in ("town", "county"):
            built.ctx.auth.add_user(name, PASSWORD, "supervisor")
        built.ctx.auth.set_townships("town", [T1])
        build(built.registry.db)  # R1, R2 (home H1) in T1; R3 (home H2), W3 and S1 in T2
        yield built
    finally:
        built.close()


def signed_in(app: object, user: str) -> ApiClient:
    client = ApiClient(app)  # type: ignore[arg-type]  # the hub's app, typed loosely as the test builds it
    client.post("/api/login", json={"username": user, "password": PASSWORD}).raise_for_status()
    return client


def test_a_township_accounts_lists_are_full_pages_of_its_own(hub: Hub) -> None:
    app = create_app(hub.ctx)
    town, county = signed_in(app, "town"), signed_in(app, "county")
    incidents, sms = hub.ctx.incidents, hub.ctx.sms
    assert incidents is not None and sms is not None
    every = county.get("/api/incidents", active="false").json()
    mine = sorted(i["id"] for i in every if i["resident_id"] in ("R1", "R2"))
    theirs = [i["id"] for i in every if i["resident_id"] == "R3" or i["home_id"] == "H2"]
    assert len(mine) == 5 and theirs
    # the other township's newer rows: incidents (and their audit entries), calls, texts, detections
    for n in range(MANY):
        iid = incidents.store.create({"group_key": f"g{n}", "kind": "sos", "severity": "critical", "state": "resolved",
                                      "resident_id": "R3", "home_id": None, "device_id": "W3", "title": "t",
                                      "opened_at": T + n, "updated_at": T + n, "last_alert_at": T + n})  # fmt: skip
        incidents.store.audit("op", "resolved", iid, {}, T + n)
        theirs.append(iid)
    calls = app.state.calls
    for n, rid in enumerate(["R1", "R2", None, *["R3"] * MANY]):
        calls.record(Call(f"c{n}", f"1380000{n:04d}", "8001", rid, None, T + n, "pbx"))
    for n, iid in enumerate([*mine[:3], None, *theirs[:MANY]]):
        sms.outbox.enqueue("13800000000", f"关于 {iid}", kind="family", channel="sms_family", incident_id=iid,
                           now=T + n)
    hub.ctx.detections([Detection("sos", "sos", rid, dev, T + n, Severity.CRITICAL, 1.0, {}, "")
                        for n, (rid, dev) in enumerate([("R1", "W1"), ("R2", "W2"), *[("R3", "W3")] * MANY])])

    page = town.get("/api/incidents", active="false", limit=4).json()
    assert [i["id"] for i in page] == sorted(mine, reverse=True)[:4]  # its newest four, though T2's are newer
    assert len(county.get("/api/incidents", active="false", limit=4).json()) == 4
    audit = town.get("/api/audit", limit=6).json()
    assert len(audit) == 6 and {a["incident_id"] for a in audit} <= set(mine)
    assert {a["incident_id"] for a in county.get("/api/audit", limit=6).json()} <= set(theirs)  # T2's are newest
    assert [c["resident_id"] for c in town.get("/api/calls", limit=2).json()] == ["R2", "R1"]
    assert [c["resident_id"] for c in county.get("/api/calls", limit=2).json()] == ["R3", "R3"]
    texts = town.get("/api/sms", limit=3).json()
    assert [m["incident_id"] for m in texts["messages"]] == list(reversed(mine[:3]))
    assert texts["pending"] == 3 and county.get("/api/sms").json()["pending"] == 3 + 1 + MANY
    assert [d["device_id"] for d in town.get("/api/detections", limit=2).json()] == ["W2", "W1"]
    assert [d["device_id"] for d in county.get("/api/detections", limit=2).json()] == ["W3", "W3"]
    # caring calls: 130 residents of T2 living alone are due first (by id); the page of 100 still holds ours
    for n in range(MANY):
        hub.registry.add_resident(Resident(f"A{n:03d}", f"独居{n}", "H2"))
    hub.registry.db.execute("UPDATE residents SET lives_alone = 1")
    assert len(county.get("/api/caring-calls").json()) == 100
    assert {c["resident_id"] for c in town.get("/api/caring-calls").json()} == {"R1", "R2"}
