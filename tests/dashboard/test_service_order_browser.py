"""A green key in Debian's Chromium against a real hub and Mosquitto: the queue shows a service order with its slot
(issue 5), and it is dispatched to the provider of that service like any incident."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from hubproc import TEST_USER, HubProcess
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import expect, sync_playwright

from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.responders import Responder, ResponderRegistry
from hub.broker import Mosquitto

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def _register(data_dir: Path, opens: int) -> None:
    db = StateDB(data_dir / "state.sqlite")
    reg = Registry(db)
    reg.add_home(Home("H-1", "3 Orchard Lane", 28.2282, 112.9388))
    reg.add_resident(Resident("R-1", "Chen Gui", "H-1"))
    reg.add_device(DeviceRecord("W-1", "wearable", "wearable", resident_id="R-1", worn_at="wrist"))
    hours = f"{opens:02d}:00-{(opens + 3) % 24:02d}:00"
    ResponderRegistry(db).add(Responder("P-MEALS", "Canteen", "provider", "meals", 28.229, 112.9388, hours=hours))
    db.close()


def _green_key(port: int) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="browser-test-green-key")
    client.connect("127.0.0.1", port)
    client.loop_start()
    body = {"ts": time.time(), "seq": 1, "event": "service_request", "service": "meals"}
    client.publish("eldercare/W-1/event", orjson.dumps(body), qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_service_order_in_the_console_queue(hub_factory, mosquitto: Mosquitto, tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    opens = (time.localtime().tm_hour + 2) % 24
    _register(data_dir, opens)
    hub: HubProcess = hub_factory(data_dir, env={"HUB_UI__LANGUAGE": "en"}).start()  # the English texts below
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{hub.url}/console")
        page.fill("#login-user", TEST_USER[0])
        page.fill("#login-pass", TEST_USER[1])
        page.click("#login-submit")
        expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
        _green_key(mosquitto.port)
        item = page.locator("#queue li", has_text="Service order: meals")
        item.wait_for(timeout=10_000)  # from the websocket frame
        slot = item.locator(".order").inner_text()
        page.reload()
        expect(page.locator("#queue li .order")).to_have_text(slot, timeout=10_000)  # and from the REST queue
        page.locator("#queue li", has_text="Service order: meals").click()
        first = page.locator("#candidates tr[data-responder]").first
        expect(first).to_have_attribute("data-responder", "P-MEALS")
        first.locator("button.dispatch").click()
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "dispatched")
        browser.close()
    [order] = [i["service_order"] for i in hub.get("/api/incidents") if i["kind"] == "service_request"]
    assert time.localtime(order["scheduled_at"]).tm_hour == opens and order["responder_id"] == "P-MEALS"
