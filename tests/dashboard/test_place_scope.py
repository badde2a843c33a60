"""Scope by place in-process: an admin limits a supervisor to one township; its figures, incident list, incident
detail, resident search, registry lists, readings export, FHIR, contacts, caring calls and evacuation list then hold
only that township, and another township's incident, resident, caring call or evacuation task is a 404."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from hub_api import ApiClient
from inproc import built_hub
from insights_history import T1, T1_NAME, T2, build
from openpyxl import load_workbook
from test_evacuation_api import approve_north_half

from alerts.detection import Detection, Severity
from dashboard.app import create_app
from dashboard.auth import StaffUser
from dashboard.bus import frame
from dashboard.call_log import Call
from dashboard.place_scope import FrameFilter, scope_of
from dispatch.insights.places import Townships
from hub.app import Hub, build_hub
from hub.settings import Settings, StoreSettings
from simulators.community import build_community

PASSWORD = "scope-password"
PERIOD = {"from": "2026-11-02", "to": "2026-11-15"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    users = [("admin1", PASSWORD, "admin"), ("town1", PASSWORD, "supervisor"), ("county1", PASSWORD, "supervisor")]
    with built_hub(Path(tmp_path_factory.mktemp("hub")), users) as hub:
        build(hub.ctx.registry.db)
        yield create_app(hub.ctx)


def signed_in(app: FastAPI, user: str) -> ApiClient:
    client = ApiClient(app)
    client.post("/api/login", json={"username": user, "password": PASSWORD}).raise_for_status()
    return client


@pytest.fixture(scope="module")
def town(app: FastAPI) -> ApiClient:
    admin = signed_in(app, "admin1")
    refused = admin.request("PUT", "/api/admin/users/town1/townships", json={"townships": ["no such town"]})
    assert refused.status_code == 422
    assert admin.request("PUT", "/api/admin/users/nobody/townships", json={"townships": []}).status_code == 404
    made = admin.request("PUT", "/api/admin/users/town1/townships", json={"townships": [T1_NAME]})  # by name
    assert made.status_code == 200 and made.json()["townships"] == [T1]  # stored as the official code
    listed = {u["username"]: u["townships"] for u in admin.get("/api/admin/users").json()}
    assert listed["town1"] == [T1] and listed["county1"] == []
    return signed_in(app, "town1")


def test_the_figures_hold_only_the_accounts_township(app: FastAPI, town: ApiClient) -> None:
    assert town.get("/api/me").json()["townships"] == [T1]
    report = town.get("/api/insights", **PERIOD).json()
    assert [p["code"] for p in report["places"]] == [T1]
    ack = next(r for r in report["response"] if r["dim"] == "all" and r["stage"] == "ack")
    assert (ack["n"], ack["median_s"]) == (3, 45.0)  # R1 and R2's incidents: acknowledged after 30, 90, 45 s
    assert {r["key"] for r in report["response"] if r["dim"] == "township"} == {T1}
    alerts = next(r for r in report["alert_rate"] if r["dim"] == "all")
    assert (alerts["alerts"], alerts["residents"]) == (4, 2)
    assert town.get("/api/insights", township=T2, **PERIOD).status_code == 403  # another township: refused
    assert town.get("/api/insights", township="no such town", **PERIOD).status_code == 422
    county = signed_in(app, "county1").get("/api/insights", **PERIOD).json()  # an unlimited account: both
    assert {p["name"] for p in county["places"]} == {T1_NAME, T2}


def test_incidents_and_residents_hold_only_the_accounts_township(app: FastAPI, town: ApiClient) -> None:
    every = signed_in(app, "county1").get("/api/incidents", active="false").json()
    mine = {i["id"] for i in every if i["resident_id"] in ("R1", "R2")}
    theirs = {i["id"] for i in every} - mine
    assert len(mine) == 5 and len(theirs) == 3
    assert {i["id"] for i in town.get("/api/incidents", active="false").json()} == mine
    assert {i["id"] for i in town.get("/api/incidents").json()} <= mine
    for iid in theirs:
        assert town.get(f"/api/incidents/{iid}").status_code == 404
        assert town.get(f"/api/incidents/{iid}/audit").status_code == 404
        assert town.post(f"/api/incidents/{iid}/acknowledge", json={}).status_code == 404
    assert town.get(f"/api/incidents/{min(mine)}").status_code == 200
    found = town.get("/api/residents/search", q="居民").json()
    assert {r["resident_id"] for r in found} == {"R1", "R2"}
    everyone = signed_in(app, "county1").get("/api/residents/search", q="居民").json()
    assert {r["resident_id"] for r in everyone} == {"R1", "R2", "R3"}


def test_the_monthly_report_button_holds_only_the_accounts_township(app: FastAPI, town: ApiClient) -> None:
    answer = town.get("/api/insights/monthly", month="2026-11", format="xlsx")
    assert answer.status_code == 200, answer.text
    assert f"monthly-2026-11-{T1}.xlsx" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content))["概况"]
    figures = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0] and len(row) > 1}
    assert figures["接警事件（件）"] == 5  # the five incidents of R1 and R2 in November
    pdf = town.get("/api/insights/monthly", month="2026-11", format="pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert town.get("/api/insights/monthly", month="2026-11", township=T2).status_code == 403
    bad = town.get("/api/insights/monthly", month="2026-13")
    assert bad.status_code == 422 and bad.json()["message"] == "月份格式应为 YYYY-MM（例如 2026-11），而不是“2026-13”"


def test_live_frames_hold_only_the_accounts_township(app: FastAPI) -> None:
    registry = app.state.ctx.registry
    town = FrameFilter(scope_of(registry, StaffUser("t", "supervisor", "t", (T1,))), registry)
    county = FrameFilter(scope_of(registry, StaffUser("c", "supervisor", "c")), registry)
    mine = [frame("incident", {"event": "opened", "incident": {"resident_id": "R1", "home_id": None}}),
            frame("detection", {"device_id": "W2", "kind": "sos"}), frame("reading", {"device_id": "W1"}),
            frame("stats", {"received": 3})]  # fmt: skip
    theirs = [frame("incident", {"event": "opened", "incident": {"resident_id": None, "home_id": "H2"}}),
              frame("incident", {"event": "opened", "incident": {"resident_id": "R3", "home_id": None}}),
              frame("evidence", {"device_id": "S1"}), frame("reading", {"device_id": "W3"}),
              frame("reading", {"device_id": "unknown"})]  # fmt: skip
    assert all(town.allows(f) for f in mine) and not any(town.allows(f) for f in theirs)
    assert all(county.allows(f) for f in mine + theirs)


def test_registry_lists_exports_and_fhir_hold_only_the_accounts_township(app: FastAPI, town: ApiClient) -> None:
    assert {r["resident_id"] for r in town.get("/api/residents").json()} == {"R1", "R2"}
    assert {h["home_id"] for h in town.get("/api/homes").json()} == {"H1"}
    assert {d["device_id"] for d in town.get("/api/devices").json()} == {"W1", "W2"}
    county = signed_in(app, "county1")
    assert {r["resident_id"] for r in county.get("/api/residents").json()} == {"R1", "R2", "R3"}
    assert {d["device_id"] for d in county.get("/api/devices").json()} == {"W1", "W2", "W3", "S1"}
    span = {"start": 0, "end": 1}
    assert town.get("/api/export", resident_id="R1", **span).status_code == 200
    assert town.get("/api/export", device_id="W2", **span).status_code == 200
    for other in ({"resident_id": "R3"}, {"device_id": "W3"}, {"device_id": "S1"}):  # another township's: 404
        assert town.get("/api/export", **other, **span).status_code == 404
        assert county.get("/api/export", **other, **span).status_code == 200
    assert town.get("/fhir/Observation", subject="Patient/R1").status_code == 200
    assert town.get("/fhir/Observation", subject="Patient/R3").status_code == 404
    assert county.get("/fhir/Observation", subject="Patient/R3").status_code == 200


def test_contacts_and_caring_calls_hold_only_the_accounts_township(app: FastAPI, town: ApiClient) -> None:
    county = signed_in(app, "county1")
    every = county.get("/api/incidents", active="false").json()
    theirs = next(i["id"] for i in every if i["resident_id"] == "R3")
    assert town.post(f"/api/incidents/{theirs}/contacts/reveal").status_code == 404
    assert county.post(f"/api/incidents/{theirs}/contacts/reveal").status_code != 404  # 409 once closed, else 200
    assert town.get("/api/residents/R3/contacts").status_code == 404
    assert town.get("/api/residents/R1/contacts").status_code == 200
    app.state.ctx.registry.db.execute("UPDATE residents SET lives_alone = 1")  # each is due a weekly caring call
    assert {c["resident_id"] for c in county.get("/api/caring-calls").json()} == {"R1", "R2", "R3"}
    due = town.get("/api/caring-calls").json()
    assert {c["resident_id"] for c in due} == {"R1", "R2"}
    other = next(c["id"] for c in county.get("/api/caring-calls").json() if c["resident_id"] == "R3")
    assert town.post(f"/api/caring-calls/{other}/reveal").status_code == 404
    assert town.post(f"/api/caring-calls/{other}", json={"outcome": "well"}).status_code == 404
    assert town.post(f"/api/caring-calls/{due[0]['id']}", json={"outcome": "well"}).status_code == 200


def test_the_evacuation_list_holds_only_the_accounts_township(tmp_path: Path) -> None:
    async def build() -> Hub:
        return build_hub(Settings(store=StoreSettings(data_dir=tmp_path)))

    hub = asyncio.run(build())
    try:
        build_community(residents=40, terminals=8, villages=3, seed=3).register(hub.registry)
        hub.registry.devices()
        auth = hub.ctx.auth
        assert auth is not None
        auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
        for name in ("cmd", "near", "far"):
            auth.add_user(name, PASSWORD, "commander")
        app = create_app(hub.ctx)
        village, inside = approve_north_half(hub, signed_in(app, "cmd"))
        places = Townships.of(hub.registry.villages()).villages
        others = sorted(set(places.values()) - {places[village]})
        assert others, "the community needs a second township"
        auth.set_townships("near", [places[village]])
        auth.set_townships("far", others)
        near, far = signed_in(app, "near"), signed_in(app, "far")
        (area,) = near.get("/api/evacuation").json()["areas"]
        assert area["area"] == village and {p["resident_id"] for p in area["people"]} == inside
        assert far.get("/api/evacuation").json() == {"areas": []}  # the warning's village is not theirs
        assert far.get("/api/evacuation", area=village).status_code == 404
        task = area["people"][0]["task_id"]
        assert far.post(f"/api/evacuation/tasks/{task}/status", json={"status": "safe"}).status_code == 404
        assert far.post(f"/api/evacuation/tasks/{task}/reveal").status_code == 404
        assert near.post(f"/api/evacuation/tasks/{task}/reveal").status_code == 200
        assert near.post(f"/api/evacuation/tasks/{task}/status", json={"status": "safe"}).status_code == 200
        assert far.get(f"/api/command/evacuation/{village}").status_code == 404
        assert near.get(f"/api/command/evacuation/{village}").json()["list"]
        other = area["people"][1]["task_id"]
        assert far.post(f"/api/command/tasks/{other}", json={"state": "contacted"}).status_code == 404
        assert near.post(f"/api/command/tasks/{other}", json={"state": "contacted"}).status_code == 200
        (decided,) = near.get("/api/command/drafts").json()["history"]  # the warning approved above
        assert far.get("/api/command/drafts").json()["history"] == []
        for decision in ("approve", "reject"):  # another township's draft: 404, not 409 (decided)
            assert far.post(f"/api/command/drafts/{decided['draft_id']}/{decision}").status_code == 404
            assert near.post(f"/api/command/drafts/{decided['draft_id']}/{decision}").status_code == 409
        mine = {v for v, key in places.items() if key == places[village]}
        cmd = signed_in(app, "cmd")  # the disaster roll-up: a limited account's townships and villages, no county total
        for v in places:
            report = {"event_id": "storm-9", "village_id": v, "stage": "initial", "hazard": "flood",
                      "indicators": {"affected_population": 3}}  # fmt: skip
            filed = cmd.post("/api/command/reports", json=report)
            assert filed.status_code == 200, filed.text
        lines = near.get("/api/command/reports/storm-9/rollup.csv").text.splitlines()
        assert len(cmd.get("/api/command/reports/storm-9/rollup.csv").text.splitlines()) > len(lines) > 2
        assert all(v in "".join(lines) for v in mine) and not any(v in "".join(lines) for v in set(places) - mine)
        # the command map: warning areas, villages, gauges and markers of the account's villages only
        for account, villages in ((near, mine), (far, set(places) - mine)):
            seen = account.get("/api/command/state").json()
            assert {v["id"] for v in seen["villages"]} == villages
            assert {a["area"] for a in seen["areas"]} == ({village} if account is near else set())
            assert {g["village"] for g in seen["gauges"]} <= villages and seen["gauges_total"] == len(seen["gauges"])
            shown = account.get("/api/command/markers", bbox="100,20,120,40", zoom=22).json()["markers"]
            assert shown and {m["id"] for m in shown} == {g["id"] for g in seen["gauges"]}
        county = signed_in(app, "cmd").get("/api/command/state").json()
        assert {v["id"] for v in county["villages"]} == set(places)
        assert county["gauges_total"] == len(hub.ctx.field_ops.centre.sites) > 0  # type: ignore[union-attr]  # built with one
    finally:
        hub.close()


def test_calls_phoned_in_requests_and_offers_hold_only_the_accounts_township(app: FastAPI, town: ApiClient) -> None:
    calls = app.state.calls
    for n, rid in enumerate(("R1", "R3", None)):
        calls.record(Call(f"c{n}", f"1380000000{n}", "8001", rid, None, 1_790_000_000.0 + n, "pbx"))
    county = signed_in(app, "county1")
    assert {c["resident_id"] for c in county.get("/api/calls").json()} == {"R1", "R3", None}
    assert [c["resident_id"] for c in town.get("/api/calls").json()] == ["R1"]
    phoned = {"resident_id": "R3", "kind": "phone_request", "note": "想要上门看看"}
    assert town.post("/api/incidents", json=phoned).status_code == 404  # another township's resident
    every = county.get("/api/incidents", active="false").json()
    theirs = next(i["id"] for i in every if i["resident_id"] == "R3")
    mine = next(i["id"] for i in every if i["resident_id"] == "R1")
    desk = app.state.ctx.desk
    assert desk is not None
    other, own = desk.offers.offer(theirs, ["nobody"])["id"], desk.offers.offer(mine, ["nobody"])["id"]
    assert town.post(f"/api/offers/{other}/status", json={"status": "accepted"}).status_code == 404
    assert town.post(f"/api/offers/{own}/status", json={"status": "accepted"}).status_code == 200
    assert county.post(f"/api/offers/{other}/status", json={"status": "accepted"}).status_code == 200


def test_readings_and_detections_hold_only_the_accounts_township(app: FastAPI, town: ApiClient) -> None:
    assert town.get("/api/devices/W1/readings").status_code == 200
    for device in ("W3", "S1"):  # another township's devices: as if unregistered
        assert town.get(f"/api/devices/{device}/readings").status_code == 404
        assert town.get(f"/api/evidence/{device}", impact_ts=1.0).status_code == 404
    assert town.get("/api/devices/nope/readings").status_code == 404
    county = signed_in(app, "county1")
    assert county.get("/api/devices/W3/readings").status_code == 200
    log = app.state.ctx.detections
    log([Detection("sos", "sos", rid, dev, 1_790_000_000.0, Severity.CRITICAL, 1.0, {}, "")
         for rid, dev in (("R1", "W1"), ("R3", "W3"))])  # fmt: skip
    assert {"W1", "W3"} <= {d["device_id"] for d in county.get("/api/detections").json()}
    assert {d["device_id"] for d in town.get("/api/detections").json()} <= {"W1", "W2"}
    assert "W1" in {d["device_id"] for d in town.get("/api/detections").json()}


def test_identities_and_texts_hold_only_the_accounts_township(app: FastAPI, town: ApiClient) -> None:
    assert town.get("/api/residents/R1/identity").status_code == 200
    assert town.get("/api/residents/R3/identity").status_code == 404  # another township's: no full ID number
    county = signed_in(app, "county1")
    every = county.get("/api/incidents", active="false").json()
    theirs = next(i["id"] for i in every if i["resident_id"] == "R3")
    mine = next(i["id"] for i in every if i["resident_id"] == "R1")
    sms = app.state.ctx.sms
    assert sms is not None
    for iid in (theirs, mine, None):
        sms.outbox.enqueue("13800000000", f"关于 {iid}", kind="family", channel="sms_family", incident_id=iid)
    assert town.get(f"/api/incidents/{theirs}/messages").status_code == 404
    assert len(town.get(f"/api/incidents/{mine}/messages").json()) >= 1
    assert {m["incident_id"] for m in county.get("/api/sms").json()["messages"]} >= {theirs, mine, None}
    assert {m["incident_id"] for m in town.get("/api/sms").json()["messages"]} == {mine}


def test_a_township_admin_manages_only_its_townships_devices(app: FastAPI) -> None:
    auth = app.state.ctx.auth
    auth.add_user("townadmin", PASSWORD, "admin")
    auth.set_townships("townadmin", [T1])
    admin = signed_in(app, "townadmin")
    assert admin.post("/api/devices/W3/revoke").status_code == 404  # another township's device
    assert admin.post("/api/devices/W1/revoke").status_code != 404
    assert signed_in(app, "admin1").post("/api/devices/W3/revoke").status_code != 404
