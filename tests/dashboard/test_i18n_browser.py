"""Issue 18 in Debian's Chromium against a real hub and Mosquitto: every page (sign-in, console with an incident
and a resident search, command map, live feed, the admins' device page with a credential issued and a refused one,
statistics, the draft review, the escalation policies; the officers' report form has its own test)
in zh-CN and in en; every visible text node that is not data
(names, addresses, ids: marked translate="no") comes from the catalogue of the page's language, and no English is
left on the Chinese pages. The switch on the page saves the language with the account.

Screenshots of both languages go to $HUB_SCREENSHOT_DIR (docs/screenshots for the README), else a temp folder.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from hubproc import HubProcess
from page_text import SKIP, VISIBLE_TEXT, foreign
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Page, expect, sync_playwright

from dashboard.i18n_api import CATALOGUE
from devices.names import syllables
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = Path(os.environ.get("HUB_SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "hub-test-screenshots")



def _community(data_dir: Path) -> None:
    db = StateDB(data_dir / "state.sqlite")
    build_community(residents=12, terminals=4, villages=5, seed=7).register(Registry(db))
    db.close()


def _sos(port: int, device: str) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"i18n-test-{device}")
    client.username_pw_set(device)
    client.connect("127.0.0.1", port)
    client.loop_start()
    body = {"ts": time.time(), "seq": 1, "event": "sos"}
    client.publish(f"eldercare/{device}/event", orjson.dumps(body), qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def _check(page: Page, language: str, name: str) -> None:
    page.wait_for_function("() => document.documentElement.dataset.i18n === 'ready'", timeout=10_000)
    page.wait_for_timeout(700)
    texts: list[str] = page.evaluate(VISIBLE_TEXT, SKIP)
    assert page.evaluate("document.documentElement.lang") == language
    bad = foreign(texts, language)
    assert bad == [], f"{name} in {language}: texts not from its catalogue: {bad}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{'zh' if language == 'zh-CN' else 'en'}.png"), full_page=True)


def _pages(page: Page, url: str, language: str, resident: dict[str, Any]) -> None:
    page.goto(f"{url}/console")
    item = page.locator("#queue li.critical").first
    item.wait_for(timeout=15_000)
    expect(item.locator(".kind")).to_have_text("SOS 求助" if language == "zh-CN" else "SOS")
    item.click()
    expect(page.locator("#profile")).to_contain_text(resident["name"])
    page.fill("#search-q", resident["initials"])
    page.click("#search button")
    expect(page.locator(f'#search-results li[data-resident="{resident["resident_id"]}"]')).to_be_visible()
    _check(page, language, "console")
    page.goto(f"{url}/map")
    page.wait_for_function("() => window.mapStats && window.mapStats.refreshes > 0", timeout=15_000)
    _check(page, language, "map")
    page.goto(f"{url}/live")
    expect(page.locator("#conn")).to_have_class("ok", timeout=10_000)
    _check(page, language, "live")


def _devices(page: Page, url: str, language: str, device: str) -> None:
    """The admins' device page: issue a password (shown once), then a refusal for an unregistered device."""
    page.goto(f"{url}/devices")
    expect(page.locator("#devices-main")).to_be_visible(timeout=10_000)
    page.fill("#issue-id", device)
    page.click("#issue")
    expect(page.locator("#issued")).to_be_visible(timeout=10_000)
    state = CATALOGUE.text("devices.state.active", language)
    expect(page.locator(f'tr[data-device="{device}"] .state')).to_have_text(state)
    page.fill("#issue-id", "NOPE9")
    page.click("#issue")
    refused = CATALOGUE.text("devices.error.not_registered", language, device="NOPE9")
    expect(page.locator("#error")).to_have_text(refused)  # the API's error in the reader's language
    _check(page, language, "devices")


def _command_and_escalation(page: Page, url: str, language: str) -> None:
    """The commanders' draft review page (with the admins' station thresholds) and the escalation policies."""
    page.goto(f"{url}/command")
    page.wait_for_function("() => window.commandStats !== undefined", timeout=15_000)
    _check(page, language, "command")
    page.goto(f"{url}/escalation")
    expect(page.locator("#policies > *").first).to_be_visible(timeout=15_000)
    _check(page, language, "escalation")


def _insights(page: Page, url: str, language: str) -> None:
    """The statistics page over today's incident, then a period that ends before it starts (refused in words)."""
    page.goto(f"{url}/insights")
    expect(page.locator("#response-table table")).to_be_visible(timeout=15_000)
    _check(page, language, "insights")
    page.fill("#from", "2026-11-05")
    page.fill("#to", "2026-11-03")
    page.click("#filters button[type=submit]")
    refused = CATALOGUE.text("insights.error.period_order", language, first="2026-11-05", last="2026-11-03")
    expect(page.locator("#error")).to_have_text(refused)


def test_every_page_in_chinese_and_english(hub_factory, mosquitto: Mosquitto, tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    _community(data_dir)
    hub: HubProcess = hub_factory(data_dir).start()  # HUB_UI__LANGUAGE unset: zh-CN
    with httpx.Client(base_url=hub.url, cookies=hub.cookies, headers=hub.headers, timeout=10) as api:
        api.post("/api/admin/users", json={"username": "op", "password": "operator-pw", "role": "operator",
                                           "display_name": "李值班"}).raise_for_status()  # fmt: skip
        api.post("/api/admin/users", json={"username": "adm", "password": "admin-pw-18", "role": "admin",
                                           "display_name": "王管理"}).raise_for_status()  # fmt: skip
        first = next(r for r in api.get("/api/residents").json() if r["resident_id"] == "R00001")
        initials = "".join(s[0] for s in syllables(first["name"]))  # 黄建国 -> hjg
        _sos(mosquitto.port, "W00001")
    resident = {"resident_id": "R00001", "name": first["name"], "initials": initials}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(f"{hub.url}/console")  # the sign-in form, in the hub's language
        expect(page.locator("#login")).to_be_visible(timeout=10_000)
        _check(page, "zh-CN", "signin")
        page.fill("#login-user", "op")
        page.fill("#login-pass", "operator-pw")
        page.click("#login-submit")
        expect(page.locator("#who")).to_contain_text("值班员", timeout=10_000)
        _pages(page, hub.url, "zh-CN", resident)
        page.goto(f"{hub.url}/console")
        page.wait_for_function("() => document.documentElement.dataset.i18n === 'ready'", timeout=10_000)
        page.select_option("#lang", "en")  # saved with the account, the page reloads in English
        expect(page.locator("#who")).to_contain_text("operator", timeout=10_000)
        _pages(page, hub.url, "en", resident)
        page.goto(f"{hub.url}/console")
        page.click("#logout")
        expect(page.locator("#login")).to_be_visible(timeout=10_000)
        page.reload()  # signed out: the choice made on this browser
        expect(page.locator("#login")).to_be_visible(timeout=10_000)
        _check(page, "en", "signin")
        admin = browser.new_page(viewport={"width": 1200, "height": 800})
        admin.goto(f"{hub.url}/console")
        admin.fill("#login-user", "adm")
        admin.fill("#login-pass", "admin-pw-18")
        admin.click("#login-submit")
        expect(admin.locator("#who")).to_contain_text("管理员", timeout=10_000)
        _devices(admin, hub.url, "zh-CN", "W00003")
        _insights(admin, hub.url, "zh-CN")
        _command_and_escalation(admin, hub.url, "zh-CN")
        admin.select_option("#lang", "en")  # saved with the admin's account, the page reloads in English
        expect(admin.locator("#who")).to_contain_text("admin", timeout=10_000)
        _devices(admin, hub.url, "en", "W00004")
        _insights(admin, hub.url, "en")
        _command_and_escalation(admin, hub.url, "en")
        browser.close()
    with httpx.Client(base_url=hub.url, timeout=10) as anon:
        anon.post("/api/login", json={"username": "op", "password": "operator-pw"}).raise_for_status()
        assert anon.get("/api/i18n").json()["language"] == "en"  # kept with the account
