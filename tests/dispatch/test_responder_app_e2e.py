"""A responder app over a real Mosquitto and the hub process: fall -> incident -> dispatch -> offer -> statuses."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from hubproc import HubProcess
from paho.mqtt.enums import CallbackAPIVersion

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.responders import Responder, ResponderRegistry
from hub.broker import Mosquitto
from simulators.community import build_community

pytestmark = pytest.mark.integration


class MqttClient:
    """A device or a responder app: publishes, and records what arrives on its subscription."""

    def __init__(self, name: str, port: int, subscription: str | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{name}")
        self.client.username_pw_set(name)
        subscribed = threading.Event()
        self.client.on_message = lambda _c, _u, msg: self.received.append(orjson.loads(msg.payload))
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if subscription:
            self.client.subscribe(subscription, qos=1)
            assert subscribed.wait(5)

    def send(self, topic: str, body: dict[str, Any]) -> None:
        self.client.publish(topic, orjson.dumps(body), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(predicate: Any, timeout_s: float) -> Any:
    """Poll until `predicate()` is truthy; returns its last value."""
    deadline = time.monotonic() + timeout_s
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(0.1)
        value = predicate()
    return value


def post(hub: HubProcess, path: str, body: dict[str, Any]) -> Any:
    """POST JSON as the signed-in test user."""
    csrf = {"X-CSRF-Token": hub.cookies.get("hub_csrf", "")}  # where the CSRF guard (issue 8) is on
    response = httpx.post(f"{hub.url}{path}", json=body, cookies=hub.cookies, headers=csrf, timeout=10)
    response.raise_for_status()
    return response.json()


def test_responder_app_answers_an_offer_over_mqtt(hub_factory, mosquitto: Mosquitto) -> None:
    hub: HubProcess = hub_factory(env={"HUB_ALERTS__CANCEL_WINDOW_S": "1"})
    community = build_community(residents=2, terminals=1, villages=1, seed=3)
    db = StateDB(hub.data_dir / "state.sqlite")
    community.register(Registry(db))
    home = community.homes[0]
    ResponderRegistry(db).add(Responder("P-1", "Care Co", "provider", "emergency_visit", home.lat + 0.01, home.lon))
    db.close()
    hub.start()
    resident = next(r for r in community.residents if r.home_id == home.home_id)
    wearable = next(d for d in community.devices if d.family == "wearable" and d.resident_id == resident.resident_id)
    app = MqttClient("P-1", mosquitto.port, "responders/P-1/offer")
    other = MqttClient("P-2", mosquitto.port)
    device = MqttClient(wearable.device_id, mosquitto.port)
    device.send(f"eldercare/{wearable.device_id}/event", {"ts": time.time(), "seq": 1, "event": "fall"})

    [incident] = wait_for(lambda: [i for i in hub.get("/api/incidents") if i["device_id"] == wearable.device_id], 20)
    assert incident["kind"] == "fall" and incident["state"] == "open"
    post(hub, f"/api/incidents/{incident['id']}/dispatch", {"responder_id": "P-1"})
    [offer] = wait_for(lambda: app.received, 10)
    assert offer["incident_id"] == incident["id"] and offer["kind"] == "fall"

    other.send("responders/P-2/status", {"offer_id": offer["offer_id"], "status": "accepted", "ts": time.time()})
    for status in ("accepted", "en_route", "on_scene", "done"):
        app.send("responders/P-1/status", {"offer_id": offer["offer_id"], "status": status, "ts": time.time()})
    path = f"/api/incidents/{incident['id']}"
    view = wait_for(lambda: (v := hub.get(path))["offers"][0]["state"] == "done" and v, 15)
    assert view["state"] == "on_scene" and view["responder_id"] == "P-1"
    by_app = [(a["action"], a["detail"].get("status")) for a in view["audit"] if a["actor"] == "responder:P-1"]
    recorded = [s for action, s in by_app if action == "offer_status_recorded"]
    assert recorded == ["accepted", "en_route", "on_scene", "done"]
    assert {"offer_accepted", "offer_en_route", "offer_on_scene", "offer_done", "on_scene"} <= {a for a, _ in by_app}
    [dead] = wait_for(lambda: hub.get("/api/dead-letters", reason="responder_mismatch"), 5)
    assert dead["topic"] == "responders/P-2/status"
    for client in (app, other, device):
        client.close()


def test_green_key_service_order_is_queued_with_its_slot_and_runs_its_lifecycle(
    hub_factory, mosquitto: Mosquitto
) -> None:
    hub: HubProcess = hub_factory()
    community = build_community(residents=1, terminals=1, villages=1, seed=4)
    db = StateDB(hub.data_dir / "state.sqlite")
    community.register(Registry(db))
    home = community.homes[0]
    opens = (time.localtime().tm_hour + 2) % 24
    hours = f"{opens:02d}:00-{(opens + 3) % 24:02d}:00"
    ResponderRegistry(db).add(Responder("M-1", "Meals Co", "provider", "meals", home.lat, home.lon, hours=hours))
    db.close()
    hub.start()
    wearable = next(d.device_id for d in community.devices if d.family == "wearable")
    app = MqttClient("M-1", mosquitto.port, "responders/M-1/offer")
    device = MqttClient(wearable, mosquitto.port)
    device.send(
        f"eldercare/{wearable}/event", {"ts": time.time(), "seq": 1, "event": "service_request", "service": "meals"}
    )

    [queued] = wait_for(lambda: [i for i in hub.get("/api/incidents") if i["device_id"] == wearable], 15)
    order = queued["service_order"]
    assert queued["kind"] == "service_request" and order["service"] == "meals" and order["responder_id"] == "M-1"
    slot = time.localtime(order["scheduled_at"])
    assert (slot.tm_hour, slot.tm_min) == (opens, 0) and 0 < order["scheduled_at"] - time.time() <= 2 * 3600
    incident_id = queued["id"]
    post(hub, f"/api/incidents/{incident_id}/acknowledge", {"comment": "lunch delivery"})
    post(hub, f"/api/incidents/{incident_id}/dispatch", {"responder_id": "M-1"})
    [offer] = wait_for(lambda: app.received, 10)
    assert offer["service"] == "meals" and offer["scheduled_at"] == order["scheduled_at"]
    for status in ("accepted", "en_route", "on_scene", "done"):
        app.send("responders/M-1/status", {"offer_id": offer["offer_id"], "status": status, "ts": time.time()})
    path = f"/api/incidents/{incident_id}"
    wait_for(lambda: hub.get(path)["offers"][0]["state"] == "done", 15)
    post(hub, f"{path}/resolve", {"outcome": "service_done"})
    post(hub, f"{path}/close", {})
    view = hub.get(path)
    assert view["state"] == "closed" and view["service_order"] == order
    steps = [a["action"] for a in view["audit"] if not a["action"].startswith("offer_")]
    assert steps == ["opened", "acknowledged", "dispatched", "on_scene", "resolved", "closed"]
    for client in (app, device):
        client.close()
