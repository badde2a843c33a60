"""Issue 14, item 1: people sign warnings off. Gauge and report rules draft CAP messages; only what a commander
approved (with edits) reaches /cap/alerts.xml, schema-valid and in Chinese; rejections drop; both are audited."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from hub_api import ApiClient
from lxml import etree

from alerts.disaster.warnings import WarningLevel
from dashboard.app import create_app
from devices.models import Family, Reading
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.drafts import IssuePolicy
from hub.app import Hub, build_hub
from hub.settings import Settings, StoreSettings
from simulators.community import build_community

XSD = Path(__file__).resolve().parents[3] / "shared/standards/cap-1.2.xsd"
ATOM = "{http://www.w3.org/2005/Atom}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
T0 = 1_783_000_000.0
USERS = {"cmd": "commander", "op": "operator", "adm": "admin"}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    assert XSD.exists(), f"CAP 1.2 schema not found at {XSD}"
    return etree.XMLSchema(etree.parse(str(XSD)))


@contextmanager
def drafts_hub(tmp_path: Path) -> Iterator[Hub]:
    """An in-process hub over a small community, with a commander (cmd) and an operator (op)."""
    async def build() -> Hub:
        return build_hub(Settings(store=StoreSettings(data_dir=tmp_path)))

    built = asyncio.run(build())
    build_community(residents=30, terminals=8, villages=4, seed=3).register(built.registry)
    built.registry.devices()
    assert built.ctx.auth is not None
    built.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    for name, role in USERS.items():
        built.ctx.auth.add_user(name, f"{name}-password-1", role)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with drafts_hub(tmp_path) as built:
        yield built


def client(hub: Hub, user: str) -> ApiClient:
    c = ApiClient(create_app(hub.ctx), base_url="http://hub.test")
    c.post("/api/login", json={"username": user, "password": f"{user}-password-1"}).raise_for_status()
    return c


def centre(hub: Hub) -> CommandCentre:
    assert hub.ctx.field_ops is not None
    return hub.ctx.field_ops.centre


def river(hub: Hub, level_m: float, ts: float) -> str:
    """A river gauge's observation along the detector stage's path; returns its village."""
    cc = centre(hub)
    site = next(s for s in sorted(cc.sites.values(), key=lambda s: s.terminal_id) if s.kind == "river_gauge")
    cc.on_detections(cc.warnings.observe(Reading(site.terminal_id, Family.TERMINAL, ts, 1, {"river_level_m": level_m})))
    return site.village_id


def feed_ids(c: ApiClient) -> list[str]:
    doc = etree.fromstring(c.get("/cap/alerts.xml").content)
    return [e.findtext(f"{ATOM}id", "").rsplit(":", 1)[-1] for e in doc.findall(f"{ATOM}entry")]


def audit(hub: Hub, action: str) -> list[dict[str, Any]]:
    assert hub.ctx.incidents is not None
    return [r for r in hub.ctx.incidents.store.audit_log(None, 10_000) if r["action"] == action]


def test_a_gauge_drafts_and_a_commander_approves_with_edits(hub: Hub, schema: etree.XMLSchema) -> None:
    village = river(hub, 33.2, T0)  # over the warning level: the rule drafts, nothing goes out
    op, cmd = client(hub, "op"), client(hub, "cmd")
    assert feed_ids(op) == []
    listed = op.get("/api/command/drafts").json()
    assert listed["policy"] == {"auto_issue_minutes": {}}  # off by default
    (draft,) = listed["drafts"]
    assert draft["area"] == village and draft["status"] == "pending" and draft["msg_type"] == "Alert"
    assert draft["evidence"]["source"] == "gauge" and draft["evidence"]["kind"] == "river_gauge"
    assert "预警" in draft["headline"] and draft["auto_issue_at"] is None
    url = f"/api/command/drafts/{draft['draft_id']}/approve"
    assert op.post(url).status_code == 403  # an operator may look, not sign
    bad = cmd.post(url, json={"level": "purple"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "level"
    assert cmd.post(url, json={"colour": "red"}).status_code == 422  # unknown field
    assert cmd.post(url, json={"polygon": [[28.1, 112.9], [28.2, 112.9]]}).status_code == 422  # two points
    assert cmd.post("/api/command/drafts/nope/approve").status_code == 404
    assert feed_ids(op) == []
    v = centre(hub).villages[village]  # a box of about 10 km around the village: its residents are inside
    ring = [[v.lat - 0.05, v.lon - 0.05], [v.lat + 0.05, v.lon - 0.05], [v.lat + 0.05, v.lon + 0.05],
            [v.lat - 0.05, v.lon + 0.05]]  # fmt: skip
    edits = {"headline": "红色预警（Ⅰ级）：立即转移", "level": "red", "polygon": ring,
             "instruction": "立即转移到避险点。"}  # fmt: skip
    answer = cmd.post(url, json=edits).json()
    assert answer["decision"] == "approved" and answer["colour"] == "red" and answer["decided_by"] == "cmd"
    assert feed_ids(op) == [answer["identifier"]]
    xml = op.get(f"/cap/alerts/{answer['identifier']}.xml").content
    doc = etree.fromstring(xml)
    assert schema.validate(doc), schema.error_log
    info = doc.find(f"{CAP}info")
    assert info is not None and info.findtext(f"{CAP}language") == "zh-CN"
    assert info.findtext(f"{CAP}headline") == edits["headline"] and info.findtext(f"{CAP}severity") == "Extreme"
    assert "红色预警" in info.findtext(f"{CAP}description", "")  # texts follow the new level unless edited
    assert info.findtext(f"{CAP}area/{CAP}polygon", "").startswith(f"{v.lat - 0.05:.6f},{v.lon - 0.05:.6f}")
    assert info.findtext(f"{CAP}event") == "暴雨洪涝"
    assert cmd.post(url).status_code == 409  # decided already
    (row,) = audit(hub, "cap_draft_approved")
    assert row["actor"] == "cmd" and row["detail"]["draft_id"] == draft["draft_id"]
    assert row["detail"]["identifier"] == answer["identifier"] and row["detail"]["edits"]["level"] == 4
    guard_rows = [r for r in audit(hub, "request") if r["detail"]["object"].get("draft_id") == draft["draft_id"]]
    mine = [(r["actor"], r["detail"]["status"]) for r in guard_rows]
    assert mine == [("op", 403), ("cmd", 422), ("cmd", 422), ("cmd", 422), ("cmd", 200), ("cmd", 409)]
    after = op.get("/api/command/drafts").json()
    assert after["drafts"] == [] and after["history"][0]["decided_by"] == "cmd"
    assert after["history"][0]["identifier"] == answer["identifier"]
    assert op.get(f"/api/command/evacuation/{village}").json()["tasks"] >= 1  # evacuation follows the approval


def test_rejected_drafts_send_nothing_and_cancels_are_drafted_too(hub: Hub, schema: etree.XMLSchema) -> None:
    cmd = client(hub, "cmd")
    village = river(hub, 33.2, T0)
    (first,) = cmd.get("/api/command/drafts").json()["drafts"]
    river(hub, 34.5, T0 + 60)  # red before anyone decided: the newer draft supersedes the pending one
    (second,) = cmd.get("/api/command/drafts").json()["drafts"]
    assert second["colour"] == "red" and second["draft_id"] != first["draft_id"]
    assert cmd.post(f"/api/command/drafts/{first['draft_id']}/approve").status_code == 409
    assert cmd.post(f"/api/command/drafts/{second['draft_id']}/reject", json={"note": "x" * 501}).status_code == 422
    rejected = cmd.post(f"/api/command/drafts/{second['draft_id']}/reject", json={"note": "传感器故障"}).json()
    assert rejected["decision"] == "rejected" and feed_ids(cmd) == []
    (row,) = audit(hub, "cap_draft_rejected")
    assert row["detail"]["draft_id"] == second["draft_id"] and row["detail"]["note"] == "传感器故障"
    history = {d["draft_id"]: d["status"] for d in cmd.get("/api/command/drafts").json()["history"]}
    assert history == {first["draft_id"]: "superseded", second["draft_id"]: "rejected"}
    for i in range(80):  # the river falls back before anything went out: no cancel to draft
        river(hub, 29.0, T0 + 120 + i * 60)
    assert centre(hub).warnings.area_level(village) is WarningLevel.NONE
    assert cmd.get("/api/command/drafts").json()["drafts"] == []
    river(hub, 33.2, T0 + 7260)  # a fresh rise, approved this time
    (third,) = cmd.get("/api/command/drafts").json()["drafts"]
    issued = cmd.post(f"/api/command/drafts/{third['draft_id']}/approve").json()["identifier"]
    for i in range(80):  # the river falls back; the level is released after its hold time
        river(hub, 29.0, T0 + 7300 + i * 60)
    (cancel,) = cmd.get("/api/command/drafts").json()["drafts"]
    assert cancel["action"] == "cancel" and cancel["msg_type"] == "Cancel"
    assert feed_ids(cmd) == [issued]  # still in force until the cancel is approved
    done = cmd.post(f"/api/command/drafts/{cancel['draft_id']}/approve").json()
    assert done["msg_type"] == "Cancel" and feed_ids(cmd) == []
    doc = etree.fromstring(cmd.get(f"/cap/alerts/{done['identifier']}.xml").content)
    assert schema.validate(doc), schema.error_log
    assert doc.findtext(f"{CAP}references", "").split(",")[1] == issued


def test_an_initial_village_report_drafts_a_warning(hub: Hub) -> None:
    op = client(hub, "op")
    form = {"event_id": "storm-1", "village_id": "V03", "stage": "initial", "hazard": "landslide",
            "indicators": {"affected_population": 40, "trapped": 2}}  # fmt: skip
    op.post("/api/command/reports", json=form).raise_for_status()
    (draft,) = op.get("/api/command/drafts").json()["drafts"]
    assert draft["area"] == "V03" and draft["colour"] == "yellow" and draft["event"] == "山体滑坡"
    assert draft["evidence"]["source"] == "report" and draft["evidence"]["indicators"]["trapped"] == 2
    assert "信息员" in draft["description"]


def test_auto_issue_policy_is_per_level_and_off_by_default(hub: Hub) -> None:
    cc = centre(hub)
    with pytest.raises(ValueError, match="unknown level"):
        IssuePolicy.of_minutes({"purple": 5})
    assert IssuePolicy.of_minutes({"I": 1}).after_s == {WarningLevel.RED: 60.0}
    village = river(hub, 33.2, T0)  # yellow
    assert cc.advance_drafts(T0 + 86_400) == []  # off: nothing goes out however long it waits
    cc.policy = IssuePolicy.of_minutes({"red": 30})
    assert cc.advance_drafts(T0 + 86_400) == []  # a yellow draft still waits for a person
    river(hub, 34.5, T0 + 60)  # red
    (red,) = cc.drafts.pending()
    assert client(hub, "op").get("/api/command/drafts").json()["drafts"][0]["auto_issue_at"] == T0 + 60 + 1800
    assert cc.advance_drafts(T0 + 60 + 1799) == []
    (auto,) = cc.advance_drafts(T0 + 60 + 1800)
    assert auto.draft_id == red.draft_id and auto.decided_by == "auto-policy"
    (w,) = cc.alerts.active(T0 + 2000)
    assert w.level is WarningLevel.RED and w.geocodes["village"] == village


def test_an_admin_edits_a_stations_thresholds_and_the_rule_uses_them(hub: Hub) -> None:
    cc = centre(hub)
    site = next(s for s in sorted(cc.sites.values(), key=lambda s: s.terminal_id) if s.kind == "river_gauge")
    op, cmd, adm = client(hub, "op"), client(hub, "cmd"), client(hub, "adm")
    listed = {s["station_id"]: s for s in op.get("/api/command/stations").json()}
    assert listed[site.terminal_id]["own"] is None
    assert listed[site.terminal_id]["effective"]["river_level_m"] == [31.5, 32.0, 33.0, 34.0]  # the kind's default
    url = f"/api/command/stations/{site.terminal_id}"
    body = {"warning_level_m": 33.5, "guarantee_level_m": 35.0}
    assert cmd.request("PUT", url, json=body).status_code == 403
    wrong = adm.request("PUT", url, json={"warning_level_m": 35.0, "guarantee_level_m": 33.5})
    assert wrong.status_code == 422 and "guarantee level" in wrong.json()["detail"]
    assert adm.request("PUT", url, json={"rain_1h_mm": [30, 20, 50, 70]}).status_code == 422
    assert adm.request("PUT", "/api/command/stations/NOPE", json=body).status_code == 404
    saved = adm.request("PUT", url, json=body).json()
    assert saved["effective"]["river_level_m"] == [33.0, 33.5, 34.25, 35.0]
    assert saved["own"]["updated_by"] == "adm"
    river(hub, 33.2, T0)  # yellow by the default ladder; only blue (approaching) by this station's own
    (draft,) = op.get("/api/command/drafts").json()["drafts"]
    assert draft["colour"] == "blue" and draft["evidence"]["ladder"]["own"] is True
    rows = [r for r in audit(hub, "request") if r["detail"]["route"] == "/api/command/stations/{station_id}"]
    assert [(r["actor"], r["detail"]["status"]) for r in rows][-1] == ("adm", 200)
    assert rows[-1]["detail"]["object"]["station_id"] == site.terminal_id
