"""Issue 14, the page-side gaps over REST, on SQLite and on PostgreSQL: a commander declares an event (hazard, name,
start, whole townships) and closes it with a note (no new initial report, no overdue village, audited, kept over a
restart); a warehouse is created in a township and stock is issued oldest-expiry-first, never from an expired lot,
each issue naming its lot; an admin assigns a reporter's villages (audited) from a list grouped by township."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from hub_api import ApiClient

from dashboard.app import create_app
from devices.models import Family, Reading
from dispatch.disaster.drafts import DraftEdits
from hub.app import Hub, build_hub
from hub.settings import Settings, StoreSettings
from simulators.community import build_community

USERS = {"cmd": "commander", "op": "operator", "li": "reporter", "admin": "admin"}


@contextmanager
def open_hub(settings: Settings, first: bool) -> Iterator[Hub]:
    async def build() -> Hub:
        return build_hub(settings)

    built = asyncio.run(build())
    if first:
        build_community(residents=20, terminals=8, villages=4, seed=3).register(built.registry)
    built.registry.devices()
    assert built.ctx.auth is not None
    built.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    if first:
        for name, role in USERS.items():
            built.ctx.auth.add_user(name, f"{name}-password-1", role)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("postgres") if request.param == "postgresql" else ""
    return Settings(store=StoreSettings(data_dir=tmp_path, state_url=url))


def client(hub: Hub, user: str) -> ApiClient:
    c = ApiClient(create_app(hub.ctx), base_url="http://hub.test")
    c.post("/api/login", json={"username": user, "password": f"{user}-password-1"}).raise_for_status()
    return c


def audit(hub: Hub, action: str) -> list[dict[str, Any]]:
    assert hub.ctx.incidents is not None
    return [r for r in hub.ctx.incidents.store.audit_log(None, 10_000) if r["action"] == action]


def test_declare_by_township_and_close_with_a_note(settings: Settings) -> None:
    with open_hub(settings, first=True) as hub:
        cmd, op = client(hub, "cmd"), client(hub, "op")
        listed = op.get("/api/command/events").json()
        assert listed["events"] == [] and "rainstorm" in listed["hazards"]
        town = listed["places"][0]
        in_town = {v["id"] for v in town["villages"]}
        other = next(v["id"] for t in listed["places"] for v in t["villages"] if v["id"] not in in_town)
        start = time.time() - 3 * 3600  # three hours ago: every village owes its initial report by now
        body = {"hazard": "rainstorm", "name": "六月暴雨", "started_at": start, "townships": [town["township"]],
                "villages": [other]}  # fmt: skip
        assert op.post("/api/command/events", json=body).status_code == 403
        assert cmd.post("/api/command/events", json=body | {"started_at": time.time() + 3600}).status_code == 422
        assert cmd.post("/api/command/events", json=body | {"townships": ["无此镇"]}).status_code == 422
        made = cmd.post("/api/command/events", json=body)
        assert made.status_code == 200, made.text
        event = made.json()
        event_id = event["event_id"]
        assert event_id.startswith("rainstorm-") and event["name"] == "六月暴雨" and event["status"] == "open"
        assert set(event["villages"]) == in_town | {other} and event["started_at"] == pytest.approx(start)
        row = next(e for e in op.get("/api/command/events").json()["events"] if e["event_id"] == event_id)
        assert set(row["late"]) == in_town | {other} and set(row["late"].values()) == {"initial"}
        first = sorted(in_town)[0]
        report = {"event_id": event_id, "village_id": first, "stage": "initial", "hazard": "rainstorm",
                  "indicators": {"affected_population": 3}}  # fmt: skip
        assert op.post("/api/command/reports", json=report).status_code == 200
        assert op.get("/api/command/state").json()["event"]["event_id"] == event_id  # the map's current event

        assert hub.ctx.field_ops is not None
        cc = hub.ctx.field_ops.centre
        owed = {d.subject_id for d in cc.book.advance(time.time()) if d.device_id == event_id}
        assert owed == in_town | {other} - {first}  # open: the villages without an initial report are overdue
        close = f"/api/command/events/{event_id}/close"
        assert op.post(close, json={"note": "雨停水退"}).status_code == 403
        assert cmd.post(close, json={"note": ""}).status_code == 422  # a closing note is required
        closed = cmd.post(close, json={"note": "雨停水退，转入恢复重建"})
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed" and closed.json()["closed_by"] == "cmd"
        assert cmd.post(close, json={"note": "again"}).status_code == 409
        (entry,) = audit(hub, "disaster_event_closed")
        assert entry["actor"] == "cmd" and "雨停水退" in str(entry["detail"])
        late_one = sorted(in_town | {other} - {first})[0]
        refused = op.post("/api/command/reports", json=report | {"village_id": late_one})
        assert refused.status_code == 422 and "closed" in refused.json()["detail"]
        assert refused.json()["message"] == "该灾害事件已结束，不再接收初报"  # what the report form shows
        row = next(e for e in op.get("/api/command/events").json()["events"] if e["event_id"] == event_id)
        assert row["late"] == {} and row["status"] == "closed"  # no more overdue red
        state = op.get("/api/command/state").json()
        assert state["event"] is None and event_id not in state["events"]  # the map no longer names it current
        later = [d for d in cc.book.advance(time.time() + 3 * 86400) if d.device_id == event_id]
        assert later == []  # its deadlines are no longer tracked (open, three days of 09:00 follow-ups were due)
    with open_hub(settings, first=False) as again:  # a restarted hub has the event closed, with who and why
        row = next(e for e in client(again, "op").get("/api/command/events").json()["events"]
                   if e["event_id"] == event_id)  # fmt: skip
        assert (row["status"], row["closed_by"], row["name"]) == ("closed", "cmd", "六月暴雨")
        assert row["close_note"] == "雨停水退，转入恢复重建" and row["late"] == {}


def storm(hub: Hub, op: ApiClient, cmd: ApiClient) -> str:
    """A red river level approved; 40 people relocated in its village (reported): 10 tents needed."""
    assert hub.ctx.field_ops is not None
    cc = hub.ctx.field_ops.centre
    site = next(s for s in sorted(cc.sites.values(), key=lambda s: s.terminal_id) if s.kind == "river_gauge")
    cc.on_detections(cc.warnings.observe(Reading(site.terminal_id, Family.TERMINAL, time.time(), 1,
                                                 {"river_level_m": 34.9})))  # fmt: skip
    for draft in cc.drafts.pending():
        cc.approve(draft.draft_id, "cmd", DraftEdits(), time.time())
    cmd.post("/api/command/events", json={"event_id": "storm-1", "villages": [site.village_id]}).raise_for_status()
    op.post("/api/command/reports", json={"event_id": "storm-1", "village_id": site.village_id, "stage": "initial",
            "hazard": "flood", "indicators": {"emergency_relocated": 40}}).raise_for_status()  # fmt: skip
    return site.village_id


def test_warehouse_lots_issue_oldest_expiry_first(settings: Settings) -> None:
    with open_hub(settings, first=True) as hub:
        cmd, op = client(hub, "cmd"), client(hub, "op")
        townships = op.get("/api/resources").json()["townships"]
        assert townships
        wh = {"name": "镇物资点", "township": townships[0], "lat": 28.2, "lon": 112.9}
        assert op.post("/api/resources/warehouses", json=wh).status_code == 403
        assert cmd.post("/api/resources/warehouses", json=wh | {"township": "无此镇"}).status_code == 422
        made = cmd.post("/api/resources/warehouses", json=wh)
        assert made.status_code == 200, made.text
        wid = made.json()["warehouse_id"]
        assert audit(hub, "relief_warehouse_added")[0]["actor"] == "cmd"
        lots = {}
        for key, qty, expires in (("late", 8, "2099-01-01"), ("soon", 6, "2098-01-01"), ("none", 20, ""),
                                  ("gone", 50, "2020-01-01")):  # fmt: skip
            got = cmd.post(f"/api/resources/warehouses/{wid}/receipts",
                           json={"item": "tent", "quantity": qty, "expires": expires, "signed_by": "张保管"})
            assert got.status_code == 200, got.text
            lots[key] = got.json()["entry_id"]
        receipts = f"/api/resources/warehouses/{wid}/receipts"
        assert op.post(receipts, json={"item": "tent", "quantity": 1}).status_code == 403
        mine = next(w for w in op.get("/api/resources").json()["warehouses"] if w["warehouse_id"] == wid)
        assert mine["township"] == townships[0]
        assert mine["stock"]["tent"] == 84 and mine["usable"]["tent"] == 34 and mine["expired"] == {"tent": 50}
        assert [lot["lot_id"] for lot in mine["lots"]] == [lots["gone"], lots["soon"], lots["late"], lots["none"]]
        assert [lot["expired"] for lot in mine["lots"]] == [True, False, False, False]
        assert {lot["signed_by"] for lot in mine["lots"]} == {"张保管"}

        storm(hub, op, cmd)
        plan = cmd.post("/api/resources/relief", json={"days": 3}).json()
        tents = [s for s in plan["shipments"] if s["item"] == "tent"]
        assert sum(s["quantity"] for s in tents) == 10 and {s["warehouse_id"] for s in tents} == {wid}
        assert cmd.post(f"/api/resources/relief/{plan['plan_id']}/approve").status_code == 200
        issues = [e for e in op.get(f"/api/resources/ledger?warehouse_id={wid}").json() if e["kind"] == "issue"]
        taken = {e["lot"]: -e["quantity"] for e in issues if e["item"] == "tent"}
        assert taken == {lots["soon"]: 6, lots["late"]: 4}  # the earliest expiry first, the expired lot never
        assert all(e["ref"] == plan["plan_id"] and e["actor"] == "cmd" for e in issues)
        after = next(w for w in op.get("/api/resources").json()["warehouses"] if w["warehouse_id"] == wid)
        left = {lot["lot_id"]: lot["remaining"] for lot in after["lots"]}
        assert left == {lots["gone"]: 50, lots["late"]: 4, lots["none"]: 20}  # "soon" is used up
        assert after["usable"]["tent"] == 24 and after["expired"] == {"tent": 50}
    with open_hub(settings, first=False) as again:  # kept over a restart
        kept = next(w for w in client(again, "op").get("/api/resources").json()["warehouses"]
                    if w["warehouse_id"] == wid)  # fmt: skip
        assert kept["usable"]["tent"] == 24 and {lot["lot_id"]: lot["remaining"] for lot in kept["lots"]} == left


def test_admin_assigns_a_reporters_villages(settings: Settings) -> None:
    with open_hub(settings, first=True) as hub:
        admin, cmd = client(hub, "admin"), client(hub, "cmd")
        assert cmd.get("/api/command/reporters").status_code == 403
        got = admin.get("/api/command/reporters").json()
        assert [r["username"] for r in got["reporters"]] == ["li"] and got["reporters"][0]["villages"] == []
        places = got["places"]
        assert all(p["villages"] for p in places)
        ids = [v["id"] for p in places for v in p["villages"]]
        assert len(ids) == 4 and len(set(ids)) == 4  # every registered village once, under its township
        pick = ids[:2]
        assert cmd.request("PUT", "/api/command/reporters/li", json={"villages": pick}).status_code == 403
        assert admin.request("PUT", "/api/command/reporters/li", json={"villages": ["V-NONE"]}).status_code == 422
        not_reporter = admin.request("PUT", "/api/command/reporters/cmd", json={"villages": pick})
        assert not_reporter.status_code == 404
        assert admin.request("PUT", "/api/command/reporters/li", json={"villages": pick}).status_code == 200
        assert admin.get("/api/command/reporters").json()["reporters"][0]["villages"] == sorted(pick)
        (entry,) = audit(hub, "reporter_villages")
        assert entry["actor"] == "admin" and "li" in str(entry["detail"])
        li = client(hub, "li")
        assert sorted(v["id"] for v in li.get("/api/command/reporting").json()["villages"]) == sorted(pick)
