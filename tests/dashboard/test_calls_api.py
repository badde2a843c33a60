"""Numbers an operator can call, screen pops and requests taken by phone, through the in-process app (ASGI)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hub_api import ApiClient
from inproc import built_hub

from alerts.detection import Detection, Severity
from dashboard.app import create_app
from devices.contacts import Contact, contacts_of, parse_free_text, set_contacts
from dispatch.caring_calls import CaringCalls
from dispatch.responders import Responder
from hub.app import Hub
from hub.demo_seed import seed_contacts
from simulators.community import Community, build_community

USERS = [("op1", "op1-password", "operator"), ("op2", "op2-password", "operator"),
         ("boss", "boss-password", "supervisor"), ("root", "root-password", "admin")]  # fmt: skip
CTI = "cti-secret-token"
MOBILE = re.compile(r"1\d{10}")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[Hub, Community]]:
    with built_hub(tmp_path, USERS) as built:
        community = build_community(residents=3, terminals=0, villages=1, seed=5)
        community.register(built.ctx.registry)
        seed_contacts(built.ctx.registry.db, community)
        yield built, community


def _client(hub: Hub, user: str | None) -> ApiClient:
    client = ApiClient(create_app(hub.ctx, cti_token=CTI))
    if user:
        password = next(p for u, p, _r in USERS if u == user)
        client.post("/api/login", json={"username": user, "password": password}).raise_for_status()
    return client


def _sos(hub: Hub, community: Community, n: int = 0) -> int:
    wearable = next(d for d in community.devices if d.resident_id == community.residents[n].resident_id)
    assert hub.ctx.incidents is not None
    det = Detection("device", "sos", wearable.resident_id or "", wearable.device_id, time.time(), Severity.CRITICAL)
    hub.ctx.incidents.on_detections([det])
    incident = hub.ctx.incidents.store.active_for(f"resident:{community.residents[n].resident_id}")
    assert incident is not None
    return incident.id


def _full_numbers(community: Community, hub: Hub) -> set[str]:
    out = {r.phone for r in community.residents}
    for r in community.residents:
        out |= {c.phone for c in contacts_of(hub.ctx.registry.db, r.resident_id)}
    return out


def test_demo_residents_have_a_son_a_daughter_and_a_neighbour(hub: tuple[Hub, Community]) -> None:
    built, community = hub
    first = community.residents[0]
    got = contacts_of(built.ctx.registry.db, first.resident_id)
    assert [c.relation for c in got] == ["儿子", "女儿", "邻居"] and [c.priority for c in got] == [1, 2, 3]
    assert got[0].phone == first.contacts.split(": ")[-1]  # migrated from the free text, the same son
    assert all(MOBILE.fullmatch(c.phone) and c.name for c in got)
    assert parse_free_text("son Wang Jun 13912345678 (priority 1); 邻居：0731-88881234") == [
        Contact("Wang Jun", "son", "13912345678", 1, True), Contact("", "邻居", "0731-88881234", 2, True)]


def test_reveal_is_audited_and_lists_stay_masked(hub: tuple[Hub, Community]) -> None:
    built, community = hub
    incident_id = _sos(built, community)
    numbers = _full_numbers(community, built)
    op = _client(built, "op1")
    first = community.residents[0].resident_id
    listed = [op.get("/api/incidents").text, op.get(f"/api/incidents/{incident_id}").text,
              op.get("/api/residents").text, op.get(f"/api/residents/{first}/contacts").text]
    assert not any(n in text for n in numbers for text in listed), "a full number in a list or view"
    masked = op.get(f"/api/incidents/{incident_id}").json()["people"]
    assert [p["relation"] for p in masked] == ["", "儿子", "女儿", "邻居"] and "tel" not in masked[1]
    assert _client(built, None).post(f"/api/incidents/{incident_id}/contacts/reveal", json={}).status_code == 401

    answer = op.post(f"/api/incidents/{incident_id}/contacts/reveal", json={})
    assert answer.status_code == 200, answer.text
    people = answer.json()["people"]
    son = next(p for p in people if p["relation"] == "儿子")
    assert son["tel"] == f"tel:{son['phone']}" and son["phone"] in numbers
    assert people[0]["who"] == "resident" and people[0]["phone"] == community.residents[0].phone

    audit = op.get(f"/api/incidents/{incident_id}/audit").json()
    reveals = [a for a in audit if a["action"] == "contacts_revealed"]
    assert len(reveals) == 1 and reveals[0]["actor"] == "op1" and reveals[0]["ts"] > time.time() - 60
    everything = _client(built, "boss").get("/api/audit").text + _client(built, "boss").get("/api/access-log").text
    assert not any(n in everything for n in numbers), "a full number in the audit or access log"

    op.post(f"/api/incidents/{incident_id}/resolve", json={"outcome": "helped"}).raise_for_status()
    closed = op.post(f"/api/incidents/{incident_id}/contacts/reveal", json={})
    assert closed.status_code == 409 and "处理中" in closed.json()["detail"]


def test_contacts_edited_by_admins_only_with_clear_errors(hub: tuple[Hub, Community]) -> None:
    built, community = hub
    rid = community.residents[1].resident_id
    body = {"contacts": [{"name": "张伟", "relation": "儿子", "phone": "139 1234 5678", "priority": 1}]}
    assert _client(built, "op1").request("PUT", f"/api/residents/{rid}/contacts", json=body).status_code == 403
    admin = _client(built, "root")
    saved = admin.request("PUT", f"/api/residents/{rid}/contacts", json=body)
    assert saved.status_code == 200 and saved.json()[0]["phone"] == "139****5678"
    assert contacts_of(built.ctx.registry.db, rid) == [Contact("张伟", "儿子", "13912345678", 1, True)]
    wrong = {"contacts": [{**body["contacts"][0], "phone": "2345678"}]}
    bad = admin.request("PUT", f"/api/residents/{rid}/contacts", json=wrong)
    assert bad.status_code == 422 and "不是电话号码" in bad.json()["detail"]
    seed_contacts(built.ctx.registry.db, community)  # the demo's seeding never overwrites a person's edit
    assert len(contacts_of(built.ctx.registry.db, rid)) == 1
    with pytest.raises(ValueError):
        set_contacts(built.ctx.registry.db, rid, [Contact("", "", "13912345678", 1, True)], "test")


def _frames(sub) -> list[dict]:
    out = []
    while not sub.queue.empty():
        out.append(orjson.loads(sub.queue.get_nowait()))
    return out


def test_screen_pop_reaches_the_operator_on_the_line(hub: tuple[Hub, Community]) -> None:
    built, community = hub
    op1, op2 = _client(built, "op1"), _client(built, "op2")
    assert op1.request("PUT", "/api/calls/line", json={"line": "8001"}).status_code == 200
    op2.request("PUT", "/api/calls/line", json={"line": "8002"}).raise_for_status()
    assert op1.get("/api/calls/line").json()["line"] == "8001"
    sub = built.ctx.bus.subscribe()
    cti = _client(built, None)
    resident = community.residents[2]
    call = {"caller": f"+86 {resident.phone}", "line": "8001", "call_id": "pbx-1"}
    assert cti.post("/api/calls", json=call).status_code == 401  # no token, no session
    assert cti.post("/api/calls", json=call, headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = cti.post("/api/calls", json=call, headers={"Authorization": f"Bearer {CTI}"})
    assert answer.status_code == 202 and answer.json() == {"call_id": "pbx-1", "operator": "op1", "known": True,
                                                           "resident_id": resident.resident_id}
    again = cti.post("/api/calls", json=call, headers={"Authorization": f"Bearer {CTI}"})
    assert again.json()["duplicate"] is True  # a PBX retry pops nothing twice
    son = contacts_of(built.ctx.registry.db, resident.resident_id)[0]
    stranger = {"caller": "13000000000", "line": "8002", "call_id": "pbx-2"}
    op2.post("/api/calls", json=stranger).raise_for_status()  # a softphone in the browser: session + CSRF
    op2.post("/api/calls", json={"caller": son.phone, "line": "9999", "call_id": "pbx-3"}).raise_for_status()
    pops = [f["data"] for f in _frames(sub) if f["type"] == "call"]
    built.ctx.bus.unsubscribe(sub)
    assert [(p["call_id"], p["operator"], p["known"]) for p in pops] == [
        ("pbx-1", "op1", True), ("pbx-2", "op2", False), ("pbx-3", None, True)]
    assert pops[0]["resident"]["name"] == resident.name and pops[0]["caller_relation"] == "self"
    assert pops[1]["resident"] is None
    assert pops[2]["caller_relation"] == "儿子" and pops[2]["resident"]["resident_id"] == resident.resident_id
    assert resident.phone not in orjson.dumps(pops).decode(), "numbers in frames are masked"
    assert [c["call_id"] for c in op1.get("/api/calls").json()] == ["pbx-3", "pbx-2", "pbx-1"]


def test_requests_taken_by_phone_open_an_incident_or_a_service_order(hub: tuple[Hub, Community]) -> None:
    built, community = hub
    op = _client(built, "op1")
    rid = community.residents[0].resident_id
    made = op.post("/api/incidents", json={"resident_id": rid, "kind": "phone_request", "note": "头晕，站不稳",
                                           "call_id": "pbx-9"})
    assert made.status_code == 201, made.text
    incident = made.json()
    assert incident["kind"] == "phone_request" and incident["severity"] == "warning" and incident["resident_id"] == rid
    order = op.post("/api/incidents", json={"resident_id": rid, "kind": "service_request", "service": "meals"})
    assert order.status_code == 201
    detail = op.get(f"/api/incidents/{order.json()['id']}").json()
    assert detail["kind"] == "service_request" and detail["service_order"]["service"] == "meals"
    assert any(a["action"] == "phoned_in" and a["actor"] == "op1" for a in detail["audit"])
    assert op.post("/api/incidents", json={"resident_id": "nobody", "kind": "sos"}).status_code == 404
    assert op.post("/api/incidents", json={"resident_id": rid, "kind": "bogus"}).status_code == 422


def test_caring_calls_to_residents_living_alone(tmp_path: Path) -> None:
    with built_hub(tmp_path, USERS) as built:
        community = build_community(residents=12, terminals=0, villages=1, seed=5)
        community.register(built.ctx.registry)
        alone = sorted(r.resident_id for r in community.residents if r.lives_alone)
        assert len(alone) >= 3
        op = _client(built, "op1")
        now = [time.time()]
        op.app.state.caring = CaringCalls(built.ctx.registry.db, built.ctx.registry, built.ctx.incidents,
                                          clock=lambda: now[0])
        tasks = op.get("/api/caring-calls").json()
        assert sorted(t["resident_id"] for t in tasks) == alone
        assert len(op.get("/api/caring-calls").json()) == len(alone)  # planned once a week, not on every look
        assert not any(r.phone in orjson.dumps(tasks).decode() for r in community.residents)
        first, second, third = tasks[:3]
        dial = op.post(f"/api/caring-calls/{first['id']}/reveal", json={}).json()
        assert dial["tel"].startswith("tel:1") and dial["resident_id"] == first["resident_id"]
        assert op.post(f"/api/caring-calls/{first['id']}", json={"outcome": "well"}).json()["state"] == "done"
        helped = op.post(f"/api/caring-calls/{second['id']}", json={"outcome": "needs_help", "note": "腿疼"}).json()
        assert built.ctx.incidents is not None
        assert built.ctx.incidents.get(helped["incident_id"]).kind == "caring_call"
        for attempt in (1, 2, 3):
            answer = op.post(f"/api/caring-calls/{third['id']}", json={"outcome": "no_answer"}).json()
            assert answer["attempts"] == attempt
            now[0] += 3601.0  # tried again an hour later
        assert answer["state"] == "missed"
        missed = built.ctx.incidents.get(answer["incident_id"])
        assert missed.kind == "caring_call_missed" and missed.state == "open"  # escalates like an alert from here
        left = {t["id"] for t in op.get("/api/caring-calls").json()}
        assert not left & {first["id"], second["id"], third["id"]}
        assert op.post(f"/api/caring-calls/{first['id']}", json={"outcome": "well"}).status_code == 409
        log = _client(built, "boss").get("/api/access-log").json()
        assert any(e["action"] == "caring_call_number" for e in log)


def test_service_order_completed_gets_a_completion_record_and_a_satisfaction_callback(
        hub: tuple[Hub, Community]) -> None:
    built, community = hub
    assert built.ctx.desk is not None
    resident = community.residents[0]
    home = next(h for h in community.homes if h.home_id == resident.home_id)
    built.ctx.desk.responders.add(Responder("P-MEALS", "助餐点", "provider", "meals", home.lat, home.lon))
    op = _client(built, "op1")
    catalogue = {s["service"]: s for s in op.get("/api/services").json()}
    assert catalogue["meals"]["price_cny"] == 15.0 and catalogue["meals"]["subsidy"]["disabled"] == 0.7
    order = op.post("/api/incidents", json={"resident_id": resident.resident_id, "kind": "service_request",
                                            "service": "meals"}).json()
    op.post(f"/api/incidents/{order['id']}/dispatch", json={"responder_id": "P-MEALS"}).raise_for_status()
    offer = op.get(f"/api/incidents/{order['id']}").json()["offers"][0]
    assert op.get(f"/api/incidents/{order['id']}/completion").status_code == 404
    for status in ("accepted", "on_scene", "done"):
        op.post(f"/api/offers/{offer['id']}/status", json={"status": status}).raise_for_status()
    done = op.get(f"/api/incidents/{order['id']}/completion").json()
    assert done["service"] == "meals" and done["responder_id"] == "P-MEALS" and done["price_cny"] == 15.0
    assert done["subsidy_cny"] + done["copay_cny"] == 15.0
    followups = [t for t in op.get("/api/caring-calls").json() if t["kind"] == "satisfaction"]
    assert [(t["about_incident"], t["resident_id"]) for t in followups] == [(order["id"], resident.resident_id)]
    rated = op.post(f"/api/caring-calls/{followups[0]['id']}", json={"outcome": "well", "satisfaction": 5}).json()
    assert rated["state"] == "done" and rated["satisfaction"] == 5
    audit = op.get(f"/api/incidents/{order['id']}/audit").json()
    assert any(a["action"] == "caring_call" and a["detail"]["satisfaction"] == 5 for a in audit)
