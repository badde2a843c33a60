"""The command REST in process: CAP feed and alerts (Atom + XSD-valid CAP), import, clustered markers, reports,
evacuation tasks, teams and relief, with the staff roles of issue 5."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from argon2 import PasswordHasher
from hub_api import ApiClient
from lxml import etree

from alerts.disaster.cap import build_alert, issue
from alerts.disaster.warnings import WarningLevel
from dashboard.app import create_app
from devices.models import Family, Reading
from dispatch.disaster.areas import Site
from dispatch.disaster.drafts import DraftEdits
from hub.app import Hub, build_hub
from hub.settings import Settings, StoreSettings
from simulators.community import build_community

XSD = Path(__file__).resolve().parents[3] / "shared/standards/cap-1.2.xsd"
ATOM = "{http://www.w3.org/2005/Atom}"
T0 = 1_783_000_000.0
USERS = {"cmd": "commander", "op": "operator"}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    assert XSD.exists(), f"CAP 1.2 schema not found at {XSD}"
    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    async def build() -> Hub:
        return build_hub(Settings(store=StoreSettings(data_dir=tmp_path)))

    built = asyncio.run(build())
    build_community(residents=30, terminals=8, villages=4, seed=3).register(built.registry)
    built.registry.devices()  # refresh: the command centre learns villages, terminals and residents
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


def raise_river(hub: Hub, level_m: float, ts: float) -> str:
    """A river gauge's observation along the stage's path; returns its village."""
    assert hub.ctx.field_ops is not None
    cc = hub.ctx.field_ops.centre
    site = next(s for s in cc.sites.values() if s.kind == "river_gauge")
    cc.on_detections(cc.warnings.observe(Reading(site.terminal_id, Family.TERMINAL, ts, 1, {"river_level_m": level_m})))
    for draft in cc.drafts.pending():  # issue 14: a commander signs the warning off
        cc.approve(draft.draft_id, "cmd", DraftEdits(), ts)
    return site.village_id


def test_feed_is_atom_linking_to_valid_cap(hub: Hub, schema: etree.XMLSchema) -> None:
    village = raise_river(hub, 33.2, T0)
    c = client(hub, "op")
    feed = etree.fromstring(c.get("/cap/alerts.xml").content)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert feed.findtext(f"{ATOM}{name}")
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    href = entries[0].find(f"{ATOM}link[@rel='alternate']").get("href")
    assert href.startswith("http://hub.test/cap/alerts/")
    doc = etree.fromstring(c.get(href.removeprefix("http://hub.test")).content)
    assert schema.validate(doc), schema.error_log
    assert "Severe" in etree.tostring(doc).decode() and village in etree.tostring(doc).decode()
    state = c.get("/api/command/state").json()
    assert [(a["area"], a["colour"]) for a in state["areas"]] == [(village, "orange")]
    assert c.get("/cap/alerts/nope.xml").status_code == 404


def test_import_needs_the_commander_and_raises_the_area(hub: Hub) -> None:
    v02 = next(v for v in hub.registry.villages() if v.village_id == "V02").name  # a real village (issue 14)
    outside = issue("cma-1", "weather@hunan.example", T0, WarningLevel.RED, event="暴雨", area_desc=v02,
                    shapes=())  # fmt: skip
    xml = build_alert(outside)
    assert client(hub, "op").post("/api/cap/import", content=xml).status_code == 403
    c = client(hub, "cmd")
    answer = c.post("/api/cap/import", content=xml).json()
    assert answer["areas"] == ["V02"] and answer["levels"] == {"V02": 4}
    assert c.post("/api/cap/import", content=b"<not-cap/>").status_code == 422
    assert c.get("/api/command/evacuation/V02").json()["tasks"] == 0  # a draft: nobody has approved it yet
    (drafted,) = c.get("/api/command/drafts").json()["drafts"]
    assert drafted["area"] == "V02" and drafted["evidence"]["source"] == "external"
    c.post(f"/api/command/drafts/{drafted['draft_id']}/approve").raise_for_status()
    evac = c.get("/api/command/evacuation/V02").json()
    assert evac["tasks"] >= 1 and evac["list"][0]["kind"] == "evacuate"
    task = evac["list"][0]["task_id"]
    moved = client(hub, "op").post(f"/api/command/tasks/{task}", json={"state": "relocated"}).json()
    assert moved["state"] == "relocated"
    draft = c.get("/api/command/reports/draft", event_id="e1", village_id="V02").json()
    assert draft["indicators"]["emergency_relocated"] == 1


def test_markers_cluster_ten_thousand_gauges(hub: Hub) -> None:
    assert hub.ctx.field_ops is not None
    cc = hub.ctx.field_ops.centre
    for i in range(10_000):
        site = Site(f"X{i:05d}", "river_gauge", "V01", 28.0 + (i // 100) * 0.004, 112.8 + (i % 100) * 0.004)
        cc.add_site(site)
        cc.gauge_levels[site.terminal_id] = i % 5
    c = client(hub, "op")
    wide = c.get("/api/command/markers", bbox="112.7,27.9,113.6,28.7", zoom=11).json()  # the county (issue 14)
    assert wide["total"] == 10_008  # the community's own 8 terminals too
    assert sum(k["count"] for k in wide["clusters"]) + len(wide["markers"]) == wide["total"]
    assert 0 < len(wide["clusters"]) <= 600
    assert all(sum(k["levels"]) == k["count"] and k["levels"][k["level"]] > 0 for k in wide["clusters"])
    close = c.get("/api/command/markers", bbox="112.8,28.0,112.81,28.01", zoom=16).json()
    assert close["clusters"] == [] and 0 < len(close["markers"]) == close["total"] <= 9
    assert c.get("/api/command/markers", bbox="1,2,3", zoom=3).status_code == 422
    assert len(c.get("/api/command/geojson").json()["features"]) >= 9


def test_report_form_rollup_exports_teams_and_relief(hub: Hub) -> None:
    op, cmd = client(hub, "op"), client(hub, "cmd")
    form = {"event_id": "storm-1", "village_id": "V01", "stage": "initial", "hazard": "flood",
            "indicators": {"affected_population": "40", "trapped": 2, "emergency_relocated": 12}}  # fmt: skip
    event = {"event_id": "storm-1", "hazard": "flood", "villages": ["V01", "V02"]}
    assert op.post("/api/command/events", json=event).status_code == 403  # issue 14: commanders declare events
    cmd.post("/api/command/events", json=event).raise_for_status()
    assert op.post("/api/command/reports", json=form | {"ts": T0}).status_code == 422  # the hub sets the time
    assert op.post("/api/command/reports", json=form | {"village_id": "V99"}).status_code == 422  # not registered
    assert op.post("/api/command/reports", json=form | {"note": "x" * 2001}).status_code == 422
    assert op.post("/api/command/reports", json=form).json()["version"] == 1
    assert op.post("/api/command/reports", json=form | {"stage": "bogus"}).status_code == 422
    rows = list(csv.reader(io.StringIO(op.get("/api/command/reports/storm-1/rollup.csv").content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["层级", "县（区）", "乡镇（街道）", "村（社区）"] and rows[1][0] == "县"  # issue 18
    book = openpyxl.load_workbook(io.BytesIO(op.get("/api/command/reports/storm-1/rollup.xlsx").content))
    assert book.active is not None and book.active.max_row == 4
    raise_river(hub, 34.5, T0)
    team = {"team_id": "TM1", "lat": 28.2, "lon": 112.9, "capabilities": ["water_rescue"]}
    assert op.post("/api/command/teams", json=team).status_code == 403
    cmd.post("/api/command/teams", json=team).raise_for_status()
    assert cmd.post("/api/command/assign").json()["pairs"]
    depot = {
        "warehouse_id": "W1",
        "lat": 28.2,
        "lon": 112.95,
        "stock": {"water_l": 1000, "food_kg": 100, "blanket": 50},
    }
    cmd.post("/api/command/warehouses", json=depot).raise_for_status()
    plan = cmd.post("/api/command/relief/plan").json()
    assert plan["status"] == "draft" and any(s["village_id"] == "V01" for s in plan["shipments"])
    assert op.post("/api/command/relief/approve").status_code == 403
    assert cmd.post("/api/command/relief/approve").json()["approved_by"] == "cmd"
    state = op.get("/api/command/state").json()
    assert state["relief"]["status"] == "approved" and state["teams"][0]["status"] == "en_route"
    assert next(v for v in state["villages"] if v["id"] == "V01")["report"]["trapped"] == 2
