"""Scope by place on the command room's resources (/resources) and the report form: four villages, each its own
township; a storm in V01. An account limited to V01's township sees the teams based there or sent there, none of the
warehouses (they lie in V03's and V04's townships), V01's incident and V01's part of the relief plan; V04's sees its
teams and warehouse, no incident and no plan. Another township's team, warehouse or village answers 404 (403 for the
county's decisions: planning and approving relief)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_resources_api import client, resources_hub, storm

from dispatch.disaster.assignment import Incident, Team, assign_greedy, assign_optimal, restricted
from dispatch.disaster.relief import Village, Warehouse, for_villages, plan_relief
from dispatch.insights.places import Townships
from hub.app import Hub

V01_TEAMS = {"TEAM-SEARCH-1", "TEAM-WATER-1"}  # the demo's teams based in V01 (the south); the others in V04
V04_TEAMS = {"TEAM-MED-1", "TEAM-WATER-2"}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with resources_hub(tmp_path) as built:
        assert built.ctx.auth is not None
        places = Townships.of(built.registry.villages()).villages
        assert len(set(places.values())) == 4  # each village its own township
        for name, village, role in (("s1", "V01", "commander"), ("s3", "V03", "operator"), ("s4", "V04", "commander")):
            built.ctx.auth.add_user(name, f"{name}-password-1", role)
            built.ctx.auth.set_townships(name, [places[village]])
        yield built


def test_resources_hold_only_the_accounts_townships(hub: Hub) -> None:
    op, cmd = client(hub, "op"), client(hub, "cmd")
    s1, s3, s4 = client(hub, "s1"), client(hub, "s3"), client(hub, "s4")
    assert storm(hub, op, cmd) == "V01"
    county = cmd.get("/api/resources").json()
    assert {t["team_id"] for t in county["teams"]} == V01_TEAMS | V04_TEAMS
    assert {w["warehouse_id"] for w in county["warehouses"]} == {"WH-COUNTY", "WH-NORTH"}
    assert [i["incident_id"] for i in county["incidents"]] == ["V01"]
    seen = {name: c.get("/api/resources").json() for name, c in (("s1", s1), ("s3", s3), ("s4", s4))}
    assert {t["team_id"] for t in seen["s1"]["teams"]} == V01_TEAMS and seen["s1"]["warehouses"] == []
    assert {t["team_id"] for t in seen["s4"]["teams"]} == V04_TEAMS
    assert [w["warehouse_id"] for w in seen["s4"]["warehouses"]] == ["WH-NORTH"]
    assert [w["warehouse_id"] for w in seen["s3"]["warehouses"]] == ["WH-COUNTY"] and seen["s3"]["teams"] == []
    assert [i["incident_id"] for i in seen["s1"]["incidents"]] == ["V01"] and seen["s4"]["incidents"] == []
    # the ledgers: a warehouse of another township is a 404; without a warehouse, the account's own only
    assert s1.get("/api/resources/ledger", warehouse_id="WH-COUNTY").status_code == 404
    assert s1.get("/api/resources/ledger").json() == []
    assert {e["warehouse_id"] for e in s4.get("/api/resources/ledger").json()} == {"WH-NORTH"}
    assert {e["warehouse_id"] for e in cmd.get("/api/resources/ledger").json()} == {"WH-COUNTY", "WH-NORTH"}
    assert s3.get("/api/resources/ledger", warehouse_id="WH-COUNTY").json()
    tents = {"item": "tent", "quantity": 5}
    assert s1.post("/api/resources/warehouses/WH-NORTH/receipts", json=tents).status_code == 404
    assert s4.post("/api/resources/warehouses/WH-NORTH/receipts", json=tents).status_code == 200
    # the assignment: V01's account sees its incident's pair; V04's account sees nothing to do, at no cost
    proposed = cmd.get("/api/resources/assignment").json()["optimal"]
    assert s1.get("/api/resources/assignment").json()["optimal"] == proposed  # the only incident is V01's
    assert s4.get("/api/resources/assignment").json()["optimal"] == {"pairs": [], "unassigned": [], "cost": 0.0}
    assert s4.post("/api/resources/assignment", json={"pairs": [["TEAM-MED-1", "V01"]]}).status_code == 422
    assert s1.post("/api/resources/assignment", json={"pairs": [["TEAM-MED-1", "V01"]]}).status_code == 404
    assert cmd.post("/api/resources/assignment", json={"pairs": [["TEAM-MED-1", "V01"]]}).status_code == 200
    # a team sent to V01 from V04's township: both see it now, and V01's duty staff relay its radio
    assert "TEAM-MED-1" in {t["team_id"] for t in s1.get("/api/resources").json()["teams"]}
    assert "TEAM-MED-1" in {t["team_id"] for t in s4.get("/api/resources").json()["teams"]}
    assert s3.post("/api/resources/teams/TEAM-MED-1/status", json={"status": "on_scene"}).status_code == 404
    assert s1.post("/api/resources/teams/TEAM-MED-1/status", json={"status": "on_scene"}).status_code == 200
    far = {"name": "外镇队", "team_id": "T-FAR", "lat": 28.554, "lon": 113.377, "capabilities": ["search"]}  # V04's
    refused = s1.post("/api/resources/teams", json=far)
    assert refused.status_code == 403 and refused.json()["message"] == "该位置不在本账号的乡镇范围内"
    assert s4.post("/api/resources/teams", json=far).status_code == 200
    # relief: planned and approved by the county; V01 sees its part, V04 no plan; receipts of its villages only
    assert s1.post("/api/resources/relief", json={}).status_code == 403
    plan = cmd.post("/api/resources/relief", json={}).json()
    assert s1.post(f"/api/resources/relief/{plan['plan_id']}/approve").status_code == 403
    assert cmd.post(f"/api/resources/relief/{plan['plan_id']}/approve").status_code == 200
    (mine,) = s1.get("/api/resources").json()["plans"]
    assert mine["plan_id"] == plan["plan_id"] and mine["shipments"] == plan["shipments"]  # every line is to V01
    assert mine["fill"] == pytest.approx(plan["fill"])
    assert s4.get("/api/resources").json()["plans"] == []
    assert s4.post(f"/api/resources/relief/{plan['plan_id']}/receipts/V01").status_code == 403
    assert s1.post(f"/api/resources/relief/{plan['plan_id']}/receipts/V01").status_code == 200
    assert set(s3.get("/api/resources/ledger", warehouse_id="WH-COUNTY").json()[0]) >= {"kind", "ref"}


def test_the_report_form_and_stations_offer_only_the_accounts_villages(hub: Hub) -> None:
    op, cmd, s4 = client(hub, "op"), client(hub, "cmd"), client(hub, "s4")
    storm(hub, op, cmd)
    form = s4.get("/api/command/reporting").json()
    assert [v["id"] for v in form["villages"]] == ["V04"]
    assert all(set(e["villages"]) <= {"V04"} for e in form["events"])
    assert {v["id"] for v in op.get("/api/command/reporting").json()["villages"]} == {"V01", "V02", "V03", "V04"}
    report = {"event_id": "storm-1", "village_id": "V01", "stage": "follow_up", "indicators": {"trapped": 0}}
    assert s4.post("/api/command/reports", json=report).status_code == 403
    assert s4.get("/api/command/reports/draft", event_id="storm-1", village_id="V01").status_code == 403
    assert s4.get("/api/command/reports/draft", event_id="storm-1", village_id="V04").status_code == 200
    assert hub.ctx.auth is not None
    hub.ctx.auth.add_user("a4", "a4-password-1", "admin")
    hub.ctx.auth.set_townships("a4", [Townships.of(hub.registry.villages()).villages["V04"]])
    a4 = client(hub, "a4")
    assert a4.request("PUT", "/api/command/reporters/li", json={"villages": ["V01"]}).status_code == 403
    assert a4.request("PUT", "/api/command/reporters/li", json={"villages": ["V04"]}).status_code == 200
    stations = {s["station_id"]: s["village_id"] for s in op.get("/api/command/stations").json()}
    assert {"V01", "V04"} <= set(stations.values())
    assert {s["station_id"] for s in s4.get("/api/command/stations").json()} == {k for k, v in stations.items()
                                                                                if v == "V04"}  # fmt: skip


def test_a_plans_part_prices_its_incidents_as_the_whole_plan_did() -> None:
    teams = [Team("A", 28.0, 113.0, frozenset()), Team("B", 28.3, 113.2, frozenset()),
             Team("C", 28.0, 113.1, frozenset(), status="en_route")]  # fmt: skip
    incidents = [Incident("V1", 28.05, 113.0, 3.0), Incident("V2", 28.3, 113.25, 1.0), Incident("V3", 28.6, 113.6, 2.0)]
    for plan in (assign_optimal(teams, incidents), assign_greedy(teams, incidents)):
        whole = restricted(plan, teams, incidents, frozenset({"V1", "V2", "V3"}))
        assert (whole.pairs, whole.unassigned) == (plan.pairs, plan.unassigned)
        assert whole.cost == pytest.approx(plan.cost)
        parts = [restricted(plan, teams, incidents, frozenset({v})) for v in ("V1", "V2", "V3")]
        assert sum(p.cost for p in parts) == pytest.approx(plan.cost)  # the objective splits by incident
        assert plan.waiting_cost > 0 and len(plan.unassigned) == 1  # two teams available, three incidents
        assert sum(p.waiting_cost for p in parts) == pytest.approx(plan.waiting_cost)


def test_a_relief_plans_part_for_some_villages() -> None:
    stock = {"water_l": 300.0, "blanket": 30.0}
    plan = plan_relief([Warehouse("W", 28.0, 113.0, stock)],
                       [Village("V1", 28.0, 113.01, 20), Village("V2", 28.1, 113.0, 40)], days=3)  # fmt: skip
    assert plan.fill["water_l"] < 1.0  # short: every village gets the same share
    assert for_villages(plan, frozenset({"V1", "V2"})) == plan
    v1 = for_villages(plan, frozenset({"V1"}))
    assert v1 is not None and {s.village_id for s in v1.shipments} == {"V1"} and set(v1.need["water_l"]) == {"V1"}
    assert v1.fill["water_l"] == pytest.approx(plan.fill["water_l"], abs=0.01)
    assert for_villages(plan, frozenset({"V9"})) is None


def test_the_command_rooms_county_decisions_refuse_a_township_account(hub: Hub) -> None:
    op, cmd, s1 = client(hub, "op"), client(hub, "cmd"), client(hub, "s1")
    storm(hub, op, cmd)
    for path in ("/api/command/assign", "/api/command/relief/plan", "/api/command/relief/approve"):
        refused = s1.post(path)
        assert refused.status_code == 403 and refused.json()["message"] == "只有全县范围的账号可以进行此操作", path
    near, far = {"lat": 28.122, "lon": 113.316}, {"lat": 28.554, "lon": 113.377}  # by V01, by V04
    assert s1.post("/api/command/teams", json={"team_id": "T-NEAR", **near}).status_code == 200
    assert s1.post("/api/command/teams", json={"team_id": "T-FAR", **far}).status_code == 403
    stock = {"stock": {"tent": 3}}
    assert s1.post("/api/command/warehouses", json={"warehouse_id": "WH-NEAR", **near, **stock}).status_code == 200
    assert s1.post("/api/command/warehouses", json={"warehouse_id": "WH-FAR", **far, **stock}).status_code == 403
    assert [w["warehouse_id"] for w in s1.get("/api/resources").json()["warehouses"]] == ["WH-NEAR"]
    assert cmd.post("/api/command/relief/plan").status_code == 200
