"""Issue 14, "How it will be checked", first item: one storm worked from the map in Chromium, with the hub as a real
process on the suite's Mosquitto. The river gauge's readings come over MQTT and a draft appears; the commander raises
it to red, edits the headline and approves it on /command; the CAP message in the feed is valid CAP 1.2 in Chinese.
The commander declares the event, the village's officer files an initial report on /report (phone-sized), the
commander works two people on /evacuation, registers a team on /resources, sends it and follows it to "done", plans
relief and approves it, and the stock falls. Then the hub is killed with SIGKILL, a new one starts on the same data
folder, and every record is there."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from hubproc import HubProcess
from lxml import etree
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 1000}
XSD = Path(__file__).resolve().parents[3] / "shared/standards/cap-1.2.xsd"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
HAN = re.compile(r"[\u4e00-\u9fff]")
EVENT = "storm-walk"
WAREHOUSE = {"warehouse_id": "WH-WALK", "lat": 28.2, "lon": 112.95, "stock": {"tent": 50, "water_l": 2000}}
USERS = {"cmd": ("cmd-password-1", "commander"), "li": ("li-password-1", "reporter")}


class Staff:
    """A signed-in account on the hub's API (session cookie, CSRF header)."""

    def __init__(self, hub: HubProcess, username: str) -> None:
        self.client = httpx.Client(base_url=hub.url, timeout=10)
        password = USERS[username][0]
        self.client.post("/api/login", json={"username": username, "password": password}).raise_for_status()
        self.client.headers["X-CSRF-Token"] = self.client.cookies.get("hub_csrf") or ""

    def post(self, path: str, body: Any = None) -> Any:
        response = self.client.post(path, json=body)
        response.raise_for_status()
        return response.json()


def _wait(fetch: Callable[[], Any], check: Callable[[Any], bool], timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not check(got := fetch()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return got


def _feed_ids(hub: HubProcess) -> list[str]:
    doc = etree.fromstring(httpx.get(f"{hub.url}/cap/alerts.xml", timeout=5).content)
    return [e.findtext(f"{ATOM}id", "").rsplit(":", 1)[-1] for e in doc.findall(f"{ATOM}entry")]


def _sign_in(browser: Browser, url: str, user: str, viewport: dict[str, int], watch: Callable[..., None]) -> Page:
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()  # type: ignore[arg-type]  # a ViewportSize
    page.on("console", watch)
    page.goto(url)
    page.fill("#login-user", user)
    page.fill("#login-pass", USERS[user][0])
    page.click("#login button[type=submit]")
    return page


@pytest.fixture
def gauge(mosquitto: Mosquitto) -> Iterator[Callable[[float], None]]:
    """Publishes T001's river level as the field terminal would."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-storm-walkthrough")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    seq = 0

    def publish(level_m: float) -> None:
        nonlocal seq
        seq += 1
        body = {"ts": time.time(), "seq": seq, "river_level_m": level_m}
        client.publish("disaster/T001/observation", orjson.dumps(body), qos=1).wait_for_publish(5)

    yield publish
    client.loop_stop()
    client.disconnect()


@pytest.fixture
def staff() -> Iterator[Callable[[HubProcess, str], Staff]]:
    """Signs accounts in over the API; their connections are closed at the end."""
    made: list[Staff] = []

    def sign_in(hub: HubProcess, username: str) -> Staff:
        made.append(Staff(hub, username))
        return made[-1]

    yield sign_in
    for one in made:
        one.client.close()


def test_one_storm_worked_in_the_browser_survives_kill_9(
    hub_factory: Any, gauge: Callable[[float], None], staff: Callable[[HubProcess, str], Staff]
) -> None:
    hub: HubProcess = hub_factory()
    community = build_community(residents=8, terminals=1, villages=1, seed=5)  # T001: a river gauge in V01
    village = community.villages[0].village_id
    hub.data_dir.mkdir(parents=True, exist_ok=True)
    db = StateDB(hub.data_dir / "state.sqlite")
    community.register(Registry(db))
    db.close()
    hub.start()
    for name, (password, role) in USERS.items():  # the admin makes the accounts over the API
        hub.post("/api/admin/users", {"username": name, "password": password, "role": role})
    response = httpx.put(f"{hub.url}/api/command/reporters/li", json={"villages": [village]}, cookies=hub.cookies,
                         headers=hub.headers, timeout=10)  # fmt: skip
    response.raise_for_status()
    cmd = staff(hub, "cmd")
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    gauge(30.0)
    gauge(33.2)  # over the warning level: a draft, nothing in the feed
    (draft,) = _wait(lambda: hub.get("/api/command/drafts")["drafts"], bool)
    assert draft["msg_type"] == "Alert" and _feed_ids(hub) == []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # the commander, from the map to the drafts: red, a headline of their own, approved
        page = _sign_in(browser, f"{hub.url}/map", "cmd", DESK, watch)
        expect(page.locator("#main")).to_be_visible(timeout=10_000)
        page.click("a[href='/command']")
        card = page.locator("article.draft")
        expect(card).to_have_count(1, timeout=10_000)
        expect(card.locator(".evidence")).to_contain_text("河道水位")
        card.locator(".lvbtn.lv4").click()
        expect(card).to_have_class("draft lv4")
        headline = f"{community.villages[0].name}红色预警：立即转移"
        card.locator(".f-headline").fill(headline)
        card.locator("button.approve").click()
        expect(page.locator("article.draft")).to_have_count(0, timeout=10_000)
        row = page.locator("#history tbody tr").first
        expect(row).to_contain_text("已发布")
        expect(row).to_contain_text("cmd")
        identifier = row.locator("a").inner_text()
        assert _feed_ids(hub) == [identifier]
        feed = etree.fromstring(httpx.get(f"{hub.url}/cap/alerts.xml", timeout=5).content)
        assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == [headline]  # the feed, in Chinese
        alert = etree.fromstring(httpx.get(f"{hub.url}/cap/alerts/{identifier}.xml", timeout=5).content)
        etree.XMLSchema(etree.parse(str(XSD))).assertValid(alert)
        info = alert.find(f"{CAP}info")
        assert info is not None and info.findtext(f"{CAP}language") == "zh-CN"
        assert info.findtext(f"{CAP}headline") == headline and info.findtext(f"{CAP}severity") == "Extreme"
        assert HAN.search(info.findtext(f"{CAP}event", "")) and HAN.search(info.findtext(f"{CAP}instruction", ""))

        cmd.post("/api/command/events", {"event_id": EVENT, "hazard": "flood", "villages": [village]})
        # the village's officer, on a phone: the initial report
        officer = _sign_in(browser, f"{hub.url}/report", "li", PHONE, watch)
        expect(officer.locator("#village option")).to_have_count(1)
        assert officer.locator("#village").input_value() == village
        expect(officer.locator("#stages [data-stage=initial]")).to_have_attribute("aria-pressed", "true")
        officer.fill("input[data-key=emergency_relocated]", "40")
        officer.fill("input[data-key=trapped]", "2")
        officer.click("#send")
        expect(officer.locator("#result")).to_have_text("初报已提交（第 1 版）")

        # the evacuation list, person by person
        page.goto(f"{hub.url}/evacuation")
        cards = page.locator("li.person")
        expect(cards.first).to_be_visible(timeout=10_000)
        total = cards.count()
        assert total >= 2
        task_a, task_b = cards.nth(0).get_attribute("data-person"), cards.nth(1).get_attribute("data-person")
        a = page.locator(f'li.person[data-person="{task_a}"]')
        b = page.locator(f'li.person[data-person="{task_b}"]')
        a.locator("input.note").fill("老人在家，等车接")
        a.locator("button[data-status=contacted]").click()
        expect(a.locator("[data-state]")).to_have_text("已联系")
        a.locator("button[data-status=moved]").click()
        expect(a.locator("[data-state]")).to_have_text("已转移")
        b.locator("button[data-status=unreachable]").click()
        expect(b.locator("[data-state]")).to_have_text("联系不上")
        expect(page.locator(".area .done")).to_have_text(f"已完成 1/{total} 人")

        # a team and relief: registered, sent, done; planned, approved, the stock falls
        cmd.post("/api/command/warehouses", WAREHOUSE)
        page.goto(f"{hub.url}/resources")
        page.fill("#team-name", "浏阳市蓝天救援队")
        page.fill("#team-lat", "28.21")
        page.fill("#team-lon", "112.91")
        page.locator("#team-caps input[value=water_rescue]").check()
        page.click("#team-form button[type=submit]")
        team = page.locator("#teams tr", has_text="浏阳市蓝天救援队")
        expect(team).to_contain_text("待命", timeout=10_000)
        page.click("#propose")
        expect(page.locator(".plan-optimal li")).not_to_have_count(0, timeout=10_000)
        page.click("#confirm-assign")
        expect(team).to_contain_text("已出发", timeout=10_000)
        team_id = team.get_attribute("data-team")
        team.locator("button[data-move=on_scene]").click()
        expect(team.locator(".status")).to_have_text("已到达现场", timeout=10_000)
        team.locator("button[data-move=done]").click()
        expect(team.locator(".status")).to_have_text("任务完成", timeout=10_000)
        tents = page.locator("[data-warehouse=WH-WALK] tr[data-item=tent] .stock")
        expect(tents).to_have_text("50")
        page.click("#plan-form button[type=submit]")
        plan = page.locator(".plan-draft")
        expect(plan).to_contain_text("帐篷", timeout=10_000)
        plan.locator("button.approve").click()
        expect(page.locator(".plan-approved")).to_have_count(1, timeout=10_000)
        expect(tents).to_have_text("40")  # 40 relocated: ten tents
        browser.close()
    assert violations == []

    before = hub.get("/api/resources")
    hub.kill()  # SIGKILL: no shutdown at all
    again: HubProcess = hub_factory(data_dir=hub.data_dir)
    again.start()
    assert _feed_ids(again) == [identifier] and again.get("/api/command/drafts")["drafts"] == []
    info = etree.fromstring(httpx.get(f"{again.url}/cap/alerts/{identifier}.xml", timeout=5).content).find(f"{CAP}info")
    assert info is not None and info.findtext(f"{CAP}headline") == headline
    state = again.get("/api/command/state")
    assert state["event"]["event_id"] == EVENT
    report = next(v for v in state["villages"] if v["id"] == village)["report"]
    assert (report["trapped"], report["emergency_relocated"], report["stage"]) == (2, 40, "initial")
    (area,) = again.get("/api/evacuation")["areas"]
    people = {p["task_id"]: p for p in area["people"]}
    assert people[task_a]["status"] == "moved" and people[task_b]["status"] == "unreachable"
    assert [(c["status"], c["by"], c["note"]) for c in people[task_a]["history"]] == [
        ("contacted", "cmd", "老人在家，等车接"),
        ("moved", "cmd", ""),
    ]
    after = again.get("/api/resources")
    teams = {t["team_id"]: t for t in after["teams"]}
    assert (teams[team_id]["status"], teams[team_id]["name"]) == ("done", "浏阳市蓝天救援队")
    stock = {w["warehouse_id"]: w["stock"] for w in after["warehouses"]}
    assert stock["WH-WALK"]["tent"] == 40 and stock == {w["warehouse_id"]: w["stock"] for w in before["warehouses"]}
    assert [p["status"] for p in after["plans"]] == ["approved"]
