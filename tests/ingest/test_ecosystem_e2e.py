"""zigbee2mqtt and OwnTracks payloads from their documentation through a real Mosquitto into the hub as a process:
readings stored under the registered devices, a water leak and a phone leaving home at night detected."""

from __future__ import annotations

import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from ecosystem_payloads import (
    BRIDGE_STATE,
    CLIMATE,
    DOOR_OPEN,
    HOME_LAT,
    HOME_LON,
    LEAK,
    MOTION,
    PHONE,
    location,
    others,
    register_ecosystem,
)
from hubproc import HubProcess
from paho.mqtt.enums import CallbackAPIVersion

from devices.aliases import AliasBook
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto

pytestmark = pytest.mark.integration
DAY_S, UTC8_S = 86_400, 8 * 3600


def _last_night_23h(now: float) -> int:
    """Yesterday 23:00 at UTC+8 (the detectors' local time): between 1 and 25 hours ago."""
    local_midnight = (int(now) + UTC8_S) // DAY_S * DAY_S - UTC8_S
    return local_midnight - 3600


def _wait(hub: HubProcess, fetch: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = fetch(hub)
        if found:
            return found
        time.sleep(0.2)
    return fetch(hub)


def _publish(port: int, messages: list[tuple[str, bytes, bool]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ecosystem-publisher")
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, payload, retain in messages:
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def test_zigbee2mqtt_and_owntracks_feed_readings_and_detections(mosquitto: Mosquitto, hub_factory) -> None:
    hub: HubProcess = hub_factory()
    db = StateDB(hub.data_dir / "state.sqlite")
    register_ecosystem(Registry(db), AliasBook(db))
    db.close()
    hub.start()
    night = _last_night_23h(time.time())
    phone = "owntracks/grandma/pixel"
    away = location(night, lat=HOME_LAT + 0.01, lon=HOME_LON)  # about 1.1 km north of home, 23:00 local
    _publish(
        mosquitto.port,
        [
            ("zigbee2mqtt/home-e/bridge/state", BRIDGE_STATE, True),
            ("zigbee2mqtt/home-e/kitchen/leak/availability", b'{"state":"online"}', True),
            ("zigbee2mqtt/home-e/front door/availability", b"online", True),
            ("zigbee2mqtt/home-e/hall motion", MOTION, False),
            ("zigbee2mqtt/home-e/front door", DOOR_OPEN, False),
            ("zigbee2mqtt/home-e/bedroom climate", CLIMATE, False),
            ("zigbee2mqtt/home-e/kitchen/leak", LEAK, False),
            ("zigbee2mqtt/home-e/unknown plug", b'{"state":"ON","power":12}', False),
            (phone, location(night - 600), False),
            *[(phone, payload, False) for payload in others(night - 300)],
            (phone, away, False),
            (phone, away, False),  # the same fix again (as a QoS 1 redelivery): same tst, dropped as a duplicate
        ],
    )
    leak = _wait(hub, lambda h: [d for d in h.get("/api/detections") if d["kind"] == "water_leak"])
    assert leak[0]["device_id"] == "Z-LEAK" and leak[0]["detector"] == "home_safety"
    exits = _wait(hub, lambda h: [d for d in h.get("/api/detections") if d["kind"] == "night_exit"])
    assert [(d["detector"], d["subject_id"], d["device_id"]) for d in exits] == [("geofence", "R-E", PHONE)]
    assert exits[0]["features"]["distance_m"] > 1000
    stats = hub.get("/api/stats")
    assert stats["ingest"]["ignored"] == {
        "zigbee2mqtt_bridge": 1,
        "owntracks_transition": 1,
        "owntracks_waypoint": 1,
        "owntracks_lwt": 1,
    }
    assert stats["dead_letters"] == {"unknown_device": 1}
    assert stats["ingest"]["duplicates"] == 1  # the repeated tst is the same fix
    fixes = hub.get(f"/api/devices/{PHONE}/readings", start=night - 3600, end=night + 1)
    assert [(f["ts"], f["values"]["battery"]) for f in fixes] == [(night - 600, 92.0), (night, 92.0)]
    door = hub.get("/api/devices/Z-DOOR/readings")
    assert door[0]["values"] == {"contact": 0.0, "battery": 91.0}
