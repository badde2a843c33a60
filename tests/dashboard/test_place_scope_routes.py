"""No endpoint escapes the place scope silently: every GET route of the app (and the live websocket) is either
scope-tested, naming the test that checks it, or in an allowlist with the reason it is not limited to townships.

A new GET route fails `test_every_get_route_is_scope_tested_or_allowlisted` until it is put in one of the two tables.
A scope-tested entry must name a test of tests/dashboard/test_place_scope*.py whose source calls that path, so the
claim cannot point at nothing. Then a sweep calls every scope-tested route that needs no object id, as a county
account and as an account limited to the first township, and finds none of the second township's residents, homes,
devices, villages or accounts in the township account's answers (while the county's answers show them)."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts
from hub_api import ApiClient
from inproc import built_hub
from insights_history import T1, T2, build

from alerts.detection import Detection, Severity
from dashboard.app import create_app
from dashboard.auth import StaffUser
from dashboard.bus import frame
from dashboard.call_log import Call
from dashboard.place_scope import FrameFilter, scope_of
from dashboard.roles import rule
from devices.models import Family, Reading

# the tests that check the scope of routes, as "module::function" (tests/dashboard/)
LIVE = "test_place_scope_routes::test_live_frames_of_calls_texts_and_the_command_room_follow_the_scope"
FIGURES = "test_place_scope::test_the_figures_hold_only_the_accounts_township"
MONTHLY = "test_place_scope::test_the_monthly_report_button_holds_only_the_accounts_township"
FULL_PAGES = "test_place_scope_sql::test_a_township_accounts_lists_are_full_pages_of_its_own"
INCIDENTS = "test_place_scope::test_incidents_and_residents_hold_only_the_accounts_township"
INCIDENT_LISTS = "test_place_scope_routes::test_an_incidents_own_lists_follow_it"
IDENTITIES = "test_place_scope::test_identities_and_texts_hold_only_the_accounts_township"
VILLAGES = "test_place_scope_routes::test_villages_and_latest_readings_hold_only_the_accounts_own"
REGISTRY = "test_place_scope::test_registry_lists_exports_and_fhir_hold_only_the_accounts_township"
SWEEP = "test_place_scope_routes::test_no_scoped_answer_names_another_townships_objects"
READINGS = "test_place_scope::test_readings_and_detections_hold_only_the_accounts_township"
CONTACTS = "test_place_scope::test_contacts_and_caring_calls_hold_only_the_accounts_township"
COUNTY_ONLY = "test_place_scope_routes::test_county_records_and_accounts_stay_with_the_county"
COMMAND = "test_place_scope::test_the_evacuation_list_holds_only_the_accounts_township"
REPORT_FORM = "test_place_scope_resources::test_the_report_form_and_stations_offer_only_the_accounts_villages"
RESOURCES = "test_place_scope_resources::test_resources_hold_only_the_accounts_townships"
EVENTS = "test_place_scope_cmdpages::test_events_and_warehouses_of_a_township_commander"
REPORTERS = "test_place_scope_cmdpages::test_a_township_admin_assigns_its_own_villages_only"
# route -> the test that checks its place scope (the test's source must call the path)
SCOPE_TESTED: dict[tuple[str, str], str] = {
    ("WS", "/ws"): LIVE,
    ("GET", "/api/insights"): FIGURES,
    ("GET", "/api/insights/monthly"): MONTHLY,
    ("GET", "/api/incidents"): FULL_PAGES,
    ("GET", "/api/incidents/{incident_id}"): INCIDENTS,
    ("GET", "/api/incidents/{incident_id}/audit"): INCIDENTS,
    ("GET", "/api/incidents/{incident_id}/candidates"): INCIDENT_LISTS,
    ("GET", "/api/incidents/{incident_id}/completion"): INCIDENT_LISTS,
    ("GET", "/api/incidents/{incident_id}/messages"): IDENTITIES,
    ("GET", "/api/residents/search"): INCIDENTS,
    ("GET", "/api/villages"): VILLAGES,
    ("GET", "/api/homes"): REGISTRY,
    ("GET", "/api/residents"): REGISTRY,
    ("GET", "/api/devices"): REGISTRY,
    ("GET", "/api/export"): REGISTRY,
    ("GET", "/fhir/Observation"): REGISTRY,
    ("GET", "/api/readings/latest"): VILLAGES,
    ("GET", "/api/devices/{device_id}/readings"): READINGS,
    ("GET", "/api/evidence/{device_id}"): READINGS,
    ("GET", "/api/detections"): FULL_PAGES,
    ("GET", "/api/residents/{resident_id}/contacts"): CONTACTS,
    ("GET", "/api/residents/{resident_id}/identity"): IDENTITIES,
    ("GET", "/api/calls"): FULL_PAGES,
    ("GET", "/api/caring-calls"): FULL_PAGES,
    ("GET", "/api/sms"): FULL_PAGES,
    ("GET", "/api/audit"): FULL_PAGES,
    ("GET", "/api/access-log"): COUNTY_ONLY,
    ("GET", "/api/dead-letters"): COUNTY_ONLY,
    ("GET", "/api/admin/users"): COUNTY_ONLY,
    ("GET", "/api/devices/credentials"): COUNTY_ONLY,
    ("GET", "/api/aliases"): COUNTY_ONLY,
    ("GET", "/api/evacuation"): COMMAND,
    ("GET", "/api/command/state"): COMMAND,
    ("GET", "/api/command/markers"): COMMAND,
    ("GET", "/api/command/drafts"): COMMAND,
    ("GET", "/api/command/evacuation/{area}"): COMMAND,
    ("GET", "/api/command/reports/{event_id}/rollup.{fmt}"): COMMAND,
    ("GET", "/api/command/stations"): REPORT_FORM,
    ("GET", "/api/command/reporting"): REPORT_FORM,
    ("GET", "/api/command/reports/draft"): REPORT_FORM,
    ("GET", "/api/resources"): RESOURCES,
    ("GET", "/api/resources/ledger"): RESOURCES,
    ("GET", "/api/resources/assignment"): RESOURCES,
    ("GET", "/api/command/events"): EVENTS,
    ("GET", "/api/command/reporters"): REPORTERS,
}

PAGE = "a page or its static asset: HTML and scripts, no data (the data comes from the /api routes)"
UNSCOPED: dict[tuple[str, str], str] = {
    ("GET", "/"): "a redirect to /console",
    ("GET", "/live"): PAGE,
    ("GET", "/console"): PAGE,
    ("GET", "/devices"): PAGE,
    ("GET", "/map"): PAGE,
    ("GET", "/map/{name}"): PAGE,
    ("GET", "/command"): PAGE,
    ("GET", "/command/{name}"): PAGE,
    ("GET", "/report"): PAGE,
    ("GET", "/report/{name}"): PAGE,
    ("GET", "/evacuation"): PAGE,
    ("GET", "/evacuation/{name}"): PAGE,
    ("GET", "/escalation"): PAGE,
    ("GET", "/insights"): PAGE,
    ("GET", "/resources"): PAGE,
    ("GET", "/users"): PAGE,
    ("GET", "/openapi.json"): "the API's description, no data",
    ("GET", "/api/i18n"): "the message catalogue, no data",
    ("GET", "/api/i18n/{lang}"): "the message catalogue, no data",
    ("GET", "/api/me"): "the signed-in account itself (it shows the account its own townships)",
    ("GET", "/api/calls/line"): "the signed-in operator's own extension",
    ("GET", "/health"): "open liveness for the operators' monitoring: the broker link and the ingest counters, no "
                        "session, nothing about a place or a person",
    ("GET", "/metrics"): "open Prometheus scrape (no session, not read by any staff page): counts of the hub's "
                         "machinery (messages, queues, texts, incidents by state), no names, ids or places; keep it on "
                         "the operations network (dashboard/metrics.py)",
    ("GET", "/api/stats"): "the hub's machinery, the same counters /health and /metrics give without a session: "
                           "messages received, stored and rejected, dead letters by reason, the broker warnings. No "
                           "reading, resident or place: a dead letter has no township (an unknown device, a bad topic)",
    ("GET", "/api/services"): "the county's service catalogue: prices and subsidy shares, the same for every township",
    ("GET", "/api/escalation/policies"): "the county's escalation policies (configuration, no rows about places)",
    ("GET", "/api/responders"): "the county's responder roster: a township's incident may be served from a "
                                "neighbouring township (candidates rank them by arrival time), so the roster is not "
                                "limited; the candidates and offers of another township's incident answer 404",
    ("GET", "/api/command/geojson"): "the base map's geography (county outline, village areas, river, stations): a "
                                     "township commander needs the neighbours on the map; no person, no figure",
    ("GET", "/cap/alerts.xml"): "the public CAP feed: public warnings are meant to be public (no session)",
    ("GET", "/cap/alerts/{identifier}.xml"): "one public CAP message (no session)",
    ("GET", "/api/sms/dlr"): "Kannel's delivery report callback (answers 'ok'), no data",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    users = [(name, "routes-password", role) for name, role in
             (("county", "supervisor"), ("town", "supervisor"), ("countyadmin", "admin"), ("townadmin", "admin"),
              ("other", "operator"))]  # fmt: skip
    with built_hub(Path(tmp_path_factory.mktemp("hub")), users) as hub:
        build(hub.ctx.registry.db)
        auth = hub.ctx.auth
        assert auth is not None
        for name, towns in (("town", [T1]), ("townadmin", [T1]), ("other", [T2])):
            auth.set_townships(name, towns)
        made = create_app(hub.ctx)
        for n, rid in enumerate(("R1", "R3")):
            made.state.calls.record(Call(f"c{n}", f"1380000000{n}", "8001", rid, None, 1_790_000_000.0 + n, "pbx"))
        hub.ctx.detections([Detection("sos", "sos", rid, dev, 1_790_000_000.0, Severity.CRITICAL, 1.0, {}, "")
                            for rid, dev in (("R1", "W1"), ("R3", "W3"))])  # fmt: skip
        hub.ctx.registry.db.execute("UPDATE residents SET lives_alone = 1")
        yield made


def signed_in(app: FastAPI, user: str) -> ApiClient:
    client = ApiClient(app)
    client.post("/api/login", json={"username": user, "password": "routes-password"}).raise_for_status()
    return client


def routes(app: FastAPI) -> set[tuple[str, str]]:
    """(GET or WS, path template) of every route of the app, included routers' too."""
    out = set()
    for route in iter_route_contexts(app.routes):
        path, methods = route.path_format, route.methods
        if path is None or route.endpoint is None:
            continue  # a mounted folder of static files
        if methods is None:
            out.add(("WS", path))
        elif "GET" in methods:
            out.add(("GET", path))
    return out


def _test_source(name: str) -> str:
    module, function = name.split("::")
    return inspect.getsource(getattr(importlib.import_module(module), function))


def _called(path: str) -> re.Pattern[str]:
    """The path as a test writes it: each {param} as a literal id or an f-string field."""
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile(r"(\{[^}]+\}|[^/\"'{}]+)".join(re.escape(p) for p in parts))


def unlisted(app: FastAPI) -> list[tuple[str, str]]:
    """The app's GET and websocket routes in neither table."""
    return sorted(routes(app) - set(SCOPE_TESTED) - set(UNSCOPED))


def test_a_new_get_route_is_caught(app: FastAPI) -> None:
    router = APIRouter(prefix="/api")

    @router.get("/new-list")
    def new_list() -> list[str]:
        return []

    app.include_router(router)
    try:
        assert unlisted(app) == [("GET", "/api/new-list")]
    finally:
        app.router.routes.pop()
    assert unlisted(app) == []


def test_every_get_route_is_scope_tested_or_allowlisted(app: FastAPI) -> None:
    found = routes(app)
    assert ("GET", "/api/resources") in found and ("WS", "/ws") in found  # included routers are walked
    assert not set(SCOPE_TESTED) & set(UNSCOPED)
    unknown = unlisted(app)
    assert not unknown, f"GET routes neither scope-tested nor allowlisted (tests/dashboard/{__name__}.py): {unknown}"
    assert not (set(SCOPE_TESTED) | set(UNSCOPED)) - found, "entries for routes that no longer exist"
    for (method, path), test in SCOPE_TESTED.items():
        source = _test_source(test)
        needle = re.compile("FrameFilter") if method == "WS" else _called(path)
        assert needle.search(source), f"{test} does not call {path}"
    assert all(len(reason) > 10 for reason in UNSCOPED.values())


FOREIGN_IDS = {"R3", "H2", "W3", "S1", "V2", "other"}  # the second township's objects (and its account)
FOREIGN_TEXT = ("居民R3", "南托村", T2)
QUERY = {"/api/insights": {"from": "2026-11-02", "to": "2026-11-15"}, "/api/residents/search": {"q": "居民"},
         "/api/insights/monthly": {"month": "2026-11", "format": "xlsx"}, "/api/incidents": {"active": "false"},
         "/api/command/markers": {"bbox": "100,20,120,40", "zoom": 22}}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def _names_foreign(body: bytes, kind: str) -> set[str]:
    text = body.decode("utf-8", "replace")
    found = {t for t in FOREIGN_TEXT if t in text}
    if kind.startswith("application/json"):
        found |= set(_strings(orjson.loads(body))) & FOREIGN_IDS
    return found


def test_no_scoped_answer_names_another_townships_objects(app: FastAPI) -> None:
    clients = {name: signed_in(app, name) for name in ("county", "town", "countyadmin", "townadmin")}
    witnessed, checked = set(), 0
    for method, path in sorted(SCOPE_TESTED):
        if method != "GET" or "{" in path:
            continue  # an object's own route: another township's object is a 404 (the named tests check it)
        roles = rule(method, path).roles or frozenset()
        county, town = ("county", "town") if "supervisor" in roles else ("countyadmin", "townadmin")
        theirs = clients[county].get(path, **QUERY.get(path, {}))
        mine = clients[town].get(path, **QUERY.get(path, {}))
        if mine.status_code != 200:
            assert mine.status_code in (403, 404, 422, 503), (path, mine.status_code)  # county-only, no field ops, or
            continue  # an object named in the query (the named tests check those)
        checked += 1
        kind = mine.headers.get("content-type", "")
        assert not _names_foreign(mine.content, kind), (path, _names_foreign(mine.content, kind))
        if theirs.status_code == 200 and _names_foreign(theirs.content, theirs.headers.get("content-type", "")):
            witnessed.add(path)
    assert checked >= 25, checked
    # the county's answers do name the other township's objects: the sweep looks where they would show
    assert {"/api/villages", "/api/homes", "/api/residents", "/api/devices", "/api/residents/search", "/api/calls",
            "/api/detections", "/api/incidents", "/api/insights", "/api/admin/users", "/api/caring-calls"} <= witnessed


def test_an_incidents_own_lists_follow_it(app: FastAPI) -> None:
    county, town = signed_in(app, "county"), signed_in(app, "town")
    every = county.get("/api/incidents", active="false").json()
    theirs = next(i["id"] for i in every if i["resident_id"] == "R3")
    mine = next(i["id"] for i in every if i["resident_id"] == "R1")
    assert town.get(f"/api/incidents/{theirs}/candidates").status_code == 404
    assert county.get(f"/api/incidents/{theirs}/candidates").status_code == 409  # resolved: none to send
    catalogue = app.state.catalogue
    for iid in (theirs, mine):
        catalogue.db.execute("INSERT INTO service_completions (incident_id, service, responder_id, category, "
                             "price_cny, subsidy_cny, copay_cny, done_at) VALUES (?, 'meal', 'p1', 'ordinary', 30, 0, "
                             "30, 1790000000)", [iid])
    assert town.get(f"/api/incidents/{theirs}/completion").status_code == 404
    assert county.get(f"/api/incidents/{theirs}/completion").status_code == 200
    assert town.get(f"/api/incidents/{mine}/completion").status_code == 200
    assert town.get(f"/api/incidents/{theirs}/messages").status_code == 404
    assert county.get(f"/api/incidents/{theirs}/messages").status_code == 200


def test_county_records_and_accounts_stay_with_the_county(app: FastAPI) -> None:
    county, town = signed_in(app, "countyadmin"), signed_in(app, "townadmin")
    assert len(county.get("/api/access-log").json()) >= 0 and county.get("/api/access-log").status_code == 200
    refused = town.get("/api/access-log")
    assert refused.status_code == 403 and refused.json()["message"] == "只有全县范围的账号可以进行此操作"
    assert signed_in(app, "town").get("/api/access-log").status_code == 403  # a township supervisor too
    assert town.get("/api/dead-letters").status_code == 403 and county.get("/api/dead-letters").status_code == 200
    assert town.get("/api/devices/credentials").status_code == 200
    assert town.get("/api/aliases").status_code == 200
    # accounts: a township admin sees and manages only accounts limited to its townships, and cannot lift a limit
    listed = {u["username"] for u in town.get("/api/admin/users").json()}
    assert listed == {"town", "townadmin"}
    assert {"county", "countyadmin", "other", "town"} <= {u["username"] for u in county.get("/api/admin/users").json()}
    lifted = town.request("PUT", "/api/admin/users/townadmin/townships", json={"townships": []})
    assert lifted.status_code == 403 and lifted.json()["message"] == "限定乡镇的管理员只能为账号指定本账号范围内的乡镇"
    assert town.request("PUT", "/api/admin/users/town/townships", json={"townships": [T2]}).status_code == 403
    assert town.request("PUT", "/api/admin/users/other/townships", json={"townships": [T1]}).status_code == 404
    assert town.post("/api/admin/users/county/disable").status_code == 404
    new = {"username": "newcounty", "password": "routes-password", "role": "admin"}
    assert town.post("/api/admin/users", json=new).status_code == 403  # an account of the whole county
    assert town.post("/api/admin/users", json={**new, "townships": [T1]}).status_code == 201
    assert town.request("PUT", "/api/admin/users/town/townships", json={"townships": [T1]}).status_code == 200
    assert signed_in(app, "town").get("/api/me").json()["townships"] == [T1]



def test_villages_and_latest_readings_hold_only_the_accounts_own(app: FastAPI) -> None:
    county, town = signed_in(app, "county"), signed_in(app, "town")
    assert {v["village_id"] for v in county.get("/api/villages").json()} == {"V1", "V2"}
    assert {v["village_id"] for v in town.get("/api/villages").json()} == {"V1"}
    app.state.ctx.store.write([Reading(d, Family.WEARABLE, 1_790_000_000.0, 1, {"heart_rate": 70.0})
                               for d in ("W1", "W3")])  # fmt: skip
    assert {r["device_id"] for r in county.get("/api/readings/latest").json()} == {"W1", "W3"}
    assert {r["device_id"] for r in town.get("/api/readings/latest").json()} == {"W1"}
    assert town.get("/api/readings/latest", device_id=["W1", "W3"]).json()[0]["device_id"] == "W1"
    assert len(town.get("/api/readings/latest", device_id=["W1", "W3"]).json()) == 1


def test_live_frames_of_calls_texts_and_the_command_room_follow_the_scope(app: FastAPI) -> None:
    ctx = app.state.ctx
    every = signed_in(app, "county").get("/api/incidents", active="false").json()
    theirs = next(i["id"] for i in every if i["resident_id"] == "R3")
    mine = next(i["id"] for i in every if i["resident_id"] == "R1")
    sites = {"G1": "V1", "G2": "V2"}
    town = FrameFilter(scope_of(ctx.registry, StaffUser("town", "operator", "town", (T1,))), ctx.registry,
                       username="town", sites=sites, incident=ctx.incidents.store.get)  # fmt: skip
    county = FrameFilter(scope_of(ctx.registry, StaffUser("county", "operator", "county")), ctx.registry,
                         username="county", sites=sites, incident=ctx.incidents.store.get)  # fmt: skip
    pop = {"call_id": "c", "line": "8001", "caller": "138****0000", "known": True}
    ours = [frame("call", {**pop, "operator": "someone", "resident": {"resident_id": "R1", "name": "居民R1"}}),
            frame("call", {**pop, "operator": "town", "resident": None}),  # rung on its own line: its pop
            frame("call", {**pop, "operator": "town", "resident": {"resident_id": "R3"}}),
            frame("sms", {"incident_id": mine, "text": "居民R1 跌倒"}),
            frame("gauge", {"id": "G1", "level": 2}), frame("warning", {"area": "V1", "level": 3}),
            frame("draft", {"draft_id": "d", "area": "V1"}), frame("cap", {"area": "V1"}),
            frame("evacuation", {"area": "V1", "tasks": 3}), frame("report", {"village_id": "V1"}),
            frame("relief", {"plan_id": "p", "received": "V1"}),
            frame("relief", {"plan_id": "p", "status": "approved"}),
            frame("teams", {"team_id": "T", "status": "available"})]  # fmt: skip
    others = [frame("call", {**pop, "operator": "someone", "resident": {"resident_id": "R3", "name": "居民R3"}}),
              frame("call", {**pop, "operator": "someone", "resident": None}),
              frame("sms", {"incident_id": theirs, "text": "居民R3 跌倒"}), frame("sms", {"incident_id": None}),
              frame("gauge", {"id": "G2", "level": 2}), frame("gauge", {"id": "G9"}),
              frame("warning", {"area": "V2", "level": 3}), frame("draft", {"draft_id": "d", "area": "V2"}),
              frame("cap", {"area": "V2"}), frame("evacuation", {"area": "V2"}), frame("report", {"village_id": "V2"}),
              frame("relief", {"plan_id": "p", "received": "V2"})]  # fmt: skip
    assert [town.allows(f) for f in ours] == [True] * len(ours)
    assert [town.allows(f) for f in others] == [False] * len(others)
    assert all(county.allows(f) for f in ours + others)
