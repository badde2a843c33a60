"""Issue 14 (item 6): the /resources REST in process, with roles: a commander registers a team, confirms the
optimal assignment (shown beside the greedy one), plans and approves relief (stock falls once in the ledger); the duty
operator moves a team on but cannot send teams, sign stock in or approve; the village's own officer (a reporter)
confirms receipt, another village's cannot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hub_api import ApiClient

from dashboard.app import create_app
from devices.models import Family, Reading
from dispatch.disaster.drafts import DraftEdits
from hub.app import Hub, build_hub
from hub.demo_seed import seed_field_ops
from hub.settings import Settings, StoreSettings
from simulators.community import build_community

T0 = 1_783_000_000.0
USERS = {"cmd": "commander", "op": "operator", "bureau1": "bureau", "li": "reporter", "wang": "reporter"}


@contextmanager
def resources_hub(tmp_path: Path) -> Iterator[Hub]:
    """A hub with a community, staff accounts and the demo's teams and warehouses."""

    async def build() -> Hub:
        return build_hub(Settings(store=StoreSettings(data_dir=tmp_path)))

    built = asyncio.run(build())
    community = build_community(residents=30, terminals=8, villages=4, seed=3)
    community.register(built.registry)
    built.registry.devices()
    assert built.ctx.auth is not None and built.ctx.field_ops is not None
    built.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    for name, role in USERS.items():
        built.ctx.auth.add_user(name, f"{name}-password-1", role)
    seed_field_ops(built.ctx.field_ops, community.villages)
    seed_field_ops(built.ctx.field_ops, community.villages)  # a restarted demo seeds again: nothing doubles
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with resources_hub(tmp_path) as built:
        yield built


def client(hub: Hub, user: str) -> ApiClient:
    c = ApiClient(create_app(hub.ctx), base_url="http://hub.test")
    c.post("/api/login", json={"username": user, "password": f"{user}-password-1"}).raise_for_status()
    return c


def storm(hub: Hub, op: ApiClient, cmd: ApiClient) -> str:
    """A red river level approved by the commander; 40 people relocated in its village (reported)."""
    assert hub.ctx.field_ops is not None
    cc = hub.ctx.field_ops.centre
    site = next(s for s in cc.sites.values() if s.kind == "river_gauge")
    cc.on_detections(cc.warnings.observe(Reading(site.terminal_id, Family.TERMINAL, T0, 1, {"river_level_m": 34.9})))
    for draft in cc.drafts.pending():
        cc.approve(draft.draft_id, "cmd", DraftEdits(), T0)
    event = {"event_id": "storm-1", "hazard": "flood", "villages": [site.village_id]}
    cmd.post("/api/command/events", json=event).raise_for_status()
    op.post("/api/command/reports", json={"event_id": "storm-1", "village_id": site.village_id, "stage": "initial",
            "hazard": "flood", "indicators": {"emergency_relocated": 40, "trapped": 1}}).raise_for_status()  # fmt: skip
    return site.village_id


def test_teams_assignment_and_relief_by_role(hub: Hub) -> None:
    op, cmd = client(hub, "op"), client(hub, "cmd")
    village = storm(hub, op, cmd)
    assert client(hub, "bureau1").get("/api/resources").status_code == 403
    start = op.get("/api/resources").json()
    assert {i["item"] for i in start["items"]} >= {"tent", "blanket", "cot", "water_l", "food_kg", "life_jacket",
                                                   "lamp", "med_kit"}  # fmt: skip
    county = next(w for w in start["warehouses"] if w["warehouse_id"] == "WH-COUNTY")
    assert county["stock"]["tent"] == 300 and county["expires"]["water_l"] == "2027-09-30"  # seeded once
    assert len(start["teams"]) == 4 and {i["incident_id"] for i in start["incidents"]} == {village}

    team = {"name": "长沙县蓝天救援队", "lat": 28.2, "lon": 112.9, "capabilities": ["water_rescue", "search"]}
    assert op.post("/api/resources/teams", json=team).status_code == 403
    assert cmd.post("/api/resources/teams", json=team | {"capabilities": ["flying"]}).status_code == 422
    new_id = cmd.post("/api/resources/teams", json=team).json()["team_id"]
    proposal = op.get("/api/resources/assignment").json()
    assert proposal["optimal"]["pairs"] and proposal["optimal"]["cost"] <= proposal["greedy"]["cost"]
    pairs = [[p["team_id"], p["incident"]] for p in proposal["optimal"]["pairs"]]
    assert op.post("/api/resources/assignment", json={"pairs": pairs}).status_code == 403
    assert cmd.post("/api/resources/assignment", json={"pairs": [[new_id, "V99"]]}).status_code == 422
    cmd.post("/api/resources/assignment", json={"pairs": pairs}).raise_for_status()
    assert cmd.post("/api/resources/assignment", json={"pairs": pairs}).status_code == 409  # already sent
    sent = pairs[0][0]
    assert op.post(f"/api/resources/teams/{sent}/status", json={"status": "done"}).json()["status"] == "done"
    assert op.post(f"/api/resources/teams/{sent}/status", json={"status": "on_scene"}).status_code == 409
    assert op.post("/api/resources/teams/NOPE/status", json={"status": "done"}).status_code == 404
    teams = {t["team_id"]: t for t in op.get("/api/resources").json()["teams"]}
    assert (teams[sent]["status"], teams[sent]["incident"], teams[sent]["updated_by"]) == ("done", village, "op")

    receipt = {"item": "tent", "quantity": 20, "expires": "2031-01-01"}
    assert op.post("/api/resources/warehouses/WH-NORTH/receipts", json=receipt).status_code == 403
    assert cmd.post("/api/resources/warehouses/WH-NORTH/receipts", json=receipt | {"item": "gold"}).status_code == 422
    cmd.post("/api/resources/warehouses/WH-NORTH/receipts", json=receipt).raise_for_status()
    assert op.post("/api/resources/relief", json={"days": 3}).status_code == 403
    plan = cmd.post("/api/resources/relief", json={"days": 3}).json()
    assert plan["status"] == "draft" and {s["village_id"] for s in plan["shipments"]} == {village}
    tents = sum(s["quantity"] for s in plan["shipments"] if s["item"] == "tent")
    assert tents == 10  # one per four of the 40 relocated
    assert op.post(f"/api/resources/relief/{plan['plan_id']}/receipts/{village}").status_code == 409  # not sent
    assert op.post(f"/api/resources/relief/{plan['plan_id']}/approve").status_code == 403
    before = op.get("/api/resources").json()["warehouses"]
    assert cmd.post(f"/api/resources/relief/{plan['plan_id']}/approve").json()["approved_by"] == "cmd"
    assert cmd.post(f"/api/resources/relief/{plan['plan_id']}/approve").status_code == 409  # once
    after = op.get("/api/resources").json()["warehouses"]
    assert sum(w["stock"]["tent"] for w in before) - sum(w["stock"]["tent"] for w in after) == 10
    issued = [e for e in op.get("/api/resources/ledger").json() if e["kind"] == "issue"]
    assert len(issued) == len(plan["shipments"]) and {e["actor"] for e in issued} == {"cmd"}
    assert hub.ctx.field_ops is not None  # the village's officer confirms; another village's officer cannot
    hub.ctx.field_ops.centre.reporters.grant("li", [village], "admin", T0)
    li, wang = client(hub, "li"), client(hub, "wang")
    assert li.get("/api/resources").status_code == 403
    assert wang.post(f"/api/resources/relief/{plan['plan_id']}/receipts/{village}").status_code == 403
    got = li.post(f"/api/resources/relief/{plan['plan_id']}/receipts/{village}").json()
    assert got["receipts"][village]["by"] == "li"
