"""The whole call-centre loop in Debian's Chromium (Playwright, system browser) against a real hub and Mosquitto:
log in, a simulated fall appears in the queue within 2 s, acknowledge, call back, dispatch to the nearest capable
provider, resolve; the audit log shows every step. Saves docs/screenshots/console.png for the README.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from hubproc import HubProcess
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Page, expect, sync_playwright

from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.falls import generate, windows

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
# the README's pictures come from a real demo (scripts/screenshots.py); the test keeps its own in a temp folder
SCREENSHOT = Path(tempfile.gettempdir()) / "hub-test-screenshots" / "console.png"
HOME = (28.2282, 112.9388)
RESPONDERS = [("P-NEAR", "Riverside care station", "emergency_visit,nursing", 0.012),
              ("P-FAR", "County nursing home", "emergency_visit,nursing,medical_escort", 0.06),
              ("P-MEALS", "Canteen", "meals", 0.001)]  # fmt: skip


def _register(data_dir: Path) -> None:
    db = StateDB(data_dir / "state.sqlite")
    reg = Registry(db)
    reg.add_home(Home("H-1", "12 Riverside Lane, Wangcheng", *HOME))
    reg.add_resident(Resident("R-1", "Wang Xiuying", "H-1", national_id="430104194503120027", phone="13807310000",
                              birth_year=1943, lives_alone=1, conditions="hypertension; hip replacement 2019",
                              contacts="son Wang Jun 139****1234 (priority 1)"))  # fmt: skip
    reg.add_device(DeviceRecord("W-1", "wearable", "wearable", resident_id="R-1", worn_at="waist"))
    db.close()


def _publish_fall(port: int) -> float:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="browser-test-W-1")
    client.username_pw_set("W-1")
    client.connect("127.0.0.1", port)
    client.loop_start()
    acc, _impact = generate("fall", 50.0, 3)
    start = time.time() - 30
    for i, window in enumerate(windows(acc, 50.0)):
        body = {"ts": start + i, "seq": i + 1, "acc": window.round(3).tolist(), "acc_hz": 50.0, "heart_rate": 96}
        client.publish("eldercare/W-1/telemetry", orjson.dumps(body), qos=1).wait_for_publish(5)
    sent = time.monotonic()
    client.disconnect()
    client.loop_stop()
    return sent


def _chart_times(page: Page) -> None:
    """The vitals chart in China Standard Time, 24-hour: the legend's time and the axis ticks (uPlot's are am/pm)."""
    page.hover("#vitals .u-over")
    legend = page.locator("#vitals .u-legend").inner_text()
    assert re.search(r"Time\s*20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", legend), legend
    assert page.evaluate("timeTicks(null, [0, 3600, 50400])") == ["08:00", "09:00", "22:00"]
    assert page.evaluate("timeTicks(null, [0, 172800])") == ["01-01 08:00", "01-03 08:00"]


def test_console_loop_in_chromium(hub_factory, mosquitto: Mosquitto, tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    _register(data_dir)
    hub: HubProcess = hub_factory(data_dir, env={"HUB_ALERTS__CANCEL_WINDOW_S": "0", "HUB_UI__LANGUAGE": "en"}).start()
    with httpx.Client(base_url=hub.url, cookies=hub.cookies, headers=hub.headers, timeout=10) as api:
        _loop(hub, api, mosquitto.port)


def _loop(hub: HubProcess, api: httpx.Client, mqtt_port: int) -> None:
    api.post("/api/admin/users", json={"username": "op", "password": "operator-pw", "role": "operator"})
    for rid, name, services, dlat in RESPONDERS:
        body = {"responder_id": rid, "name": name, "kind": "provider", "services": services, "lat": HOME[0] + dlat,
                "lon": HOME[1], "capacity": 3}  # fmt: skip
        assert api.post("/api/responders", json=body).status_code == 201
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1300})
        page.goto(f"{hub.url}/console")
        page.fill("#login-user", "op")
        page.fill("#login-pass", "operator-pw")
        page.click("#login-submit")
        expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
        sent = _publish_fall(mqtt_port)
        item = page.locator("#queue li.critical", has_text="fall")
        item.wait_for(timeout=10_000)
        appeared_s = time.monotonic() - sent
        assert appeared_s <= 2.0, appeared_s
        item.click()
        expect(page.locator("#profile")).to_contain_text("430104********0027")  # masked ID number
        page.fill("#ack-comment", "called her; she cannot get up")
        page.click("#ack")
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "acknowledged")
        page.fill("#callback-note", "son informed")
        page.click("#callback")
        first = page.locator("#candidates tr[data-responder]").first
        expect(first).to_have_attribute("data-responder", "P-NEAR")
        first.locator("button.dispatch").click()
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "dispatched")
        page.wait_for_timeout(500)
        _chart_times(page)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.select_option("#resolve-outcome", "helped")
        page.click("#resolve")
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "resolved")
        actions = page.locator("#audit tr").evaluate_all("rows => rows.map(r => r.dataset.action)")
        browser.close()
    for step in ("opened", "acknowledged", "callback", "dispatched", "offer_offered", "resolved"):
        assert step in actions, (step, actions)
    incident_id = api.get("/api/incidents", params={"active": False}).json()[0]["id"]
    audit = api.get(f"/api/incidents/{incident_id}/audit").json()
    assert [a["actor"] for a in audit if a["action"] in ("acknowledged", "dispatched", "resolved")] == ["op"] * 3
