"""A simulated wearable falls, through a real Mosquitto and the hub process: alert, evidence, downlink, cancel."""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from hubproc import HubProcess
from paho.mqtt.enums import CallbackAPIVersion

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community
from simulators.falls import generate, windows

pytestmark = pytest.mark.integration
RATE_HZ = 50.0
CANCEL_S = 3.0


class Wearable:
    """A device client: publishes its windows and events, records what the hub sends to its /set topic."""

    def __init__(self, device_id: str, port: int) -> None:
        self.device_id = device_id
        self.downlinks: list[dict[str, Any]] = []
        self.seq = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{device_id}")
        self.client.username_pw_set(device_id)
        subscribed = threading.Event()
        self.client.on_message = lambda _c, _u, msg: self.downlinks.append(orjson.loads(msg.payload))
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(f"eldercare/{device_id}/set", qos=1)
        assert subscribed.wait(5)

    def send(self, channel: str, body: dict[str, Any]) -> None:
        self.seq += 1
        payload = orjson.dumps({**body, "seq": self.seq})
        self.client.publish(f"eldercare/{self.device_id}/{channel}", payload, qos=1).wait_for_publish(5)

    def replay(self, kind: str, start_ts: float, seed: int = 1) -> float:
        """Publish a synthetic trace as 1-s windows; returns the impact's device time."""
        acc, impact = generate(kind, RATE_HZ, seed)
        for i, window in enumerate(windows(acc, RATE_HZ)):
            self.send("telemetry", {"ts": start_ts + i, "acc": window.round(3).tolist(), "acc_hz": RATE_HZ})
        return start_ts + (impact or 0) / RATE_HZ

    def commands(self) -> list[str]:
        return [d["cmd"] for d in self.downlinks]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _falls(hub: HubProcess, device_id: str) -> list[dict[str, Any]]:
    return [d for d in hub.get("/api/detections", limit=1000) if d["device_id"] == device_id and d["kind"] == "fall"]


def _wait(predicate: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.1)


@pytest.fixture
def fall_hub(hub_factory) -> tuple[HubProcess, list[str]]:
    hub: HubProcess = hub_factory(env={"HUB_ALERTS__CANCEL_WINDOW_S": str(CANCEL_S)})
    community = build_community(residents=4, terminals=1, villages=1, seed=2)
    community.register(Registry(StateDB(hub.data_dir / "state.sqlite")))
    hub.start()
    return hub, [d.device_id for d in community.devices if d.family == "wearable"]


def test_fall_becomes_one_alert_with_evidence_and_downlinks(fall_hub, mosquitto: Mosquitto) -> None:
    hub, wearables = fall_hub
    dev = Wearable(wearables[0], mosquitto.port)
    impact = dev.replay("fall", time.time() - 30)
    _wait(lambda: _falls(hub, dev.device_id), 15)
    [alert] = _falls(hub, dev.device_id)
    assert abs(alert["ts"] - impact) < 0.5
    assert alert["severity"] == "critical" and alert["subject_id"].startswith("R")
    assert alert["features"]["peak_g"] > 2.5
    _wait(lambda: "help_coming" in dev.commands(), 5)
    assert dev.commands()[:2] == ["fall_seen", "help_coming"]
    clip = hub.get(f"/api/evidence/{dev.device_id}", impact_ts=alert["ts"])
    assert len(clip["t"]) >= 10 * RATE_HZ and min(clip["t"]) < 1.0  # from 5 s before the impact onwards
    assert max(max(abs(v) for v in row) for row in clip["xyz"]) > 2.5  # the impact is in the clip
    time.sleep(CANCEL_S + 1)
    assert len(_falls(hub, dev.device_id)) == 1  # latched: one alert per fall
    dev.close()


def test_im_ok_inside_the_window_suppresses_the_alert(fall_hub, mosquitto: Mosquitto) -> None:
    hub, wearables = fall_hub
    dev = Wearable(wearables[1], mosquitto.port)
    impact = dev.replay("fall", time.time() - 30)
    _wait(lambda: "fall_seen" in dev.commands(), 10)
    dev.send("event", {"ts": impact + 5, "event": "ok"})
    _wait(lambda: "fall_cancelled" in dev.commands(), 5)
    time.sleep(CANCEL_S + 1)
    assert _falls(hub, dev.device_id) == []
    assert "help_coming" not in dev.commands()
    dev.close()


def test_device_fall_event_and_hub_detection_are_one_alert(fall_hub, mosquitto: Mosquitto) -> None:
    hub, wearables = fall_hub
    dev = Wearable(wearables[2], mosquitto.port)
    start = time.time() - 30
    dev.send("event", {"ts": start + 4, "event": "fall"})
    dev.replay("fall", start)
    _wait(lambda: _falls(hub, dev.device_id), 15)
    time.sleep(CANCEL_S + 1)
    [alert] = _falls(hub, dev.device_id)
    assert alert["features"].get("source_device") == 1.0 and alert["features"].get("source_hub") == 1.0
    dev.close()


def test_fall_like_activity_raises_nothing(fall_hub, mosquitto: Mosquitto) -> None:
    hub, wearables = fall_hub
    dev = Wearable(wearables[3], mosquitto.port)
    dev.replay("sit_down_hard", time.time() - 30, seed=4)
    dev.replay("lie_down", time.time() - 15, seed=5)
    time.sleep(CANCEL_S + 2)
    assert _falls(hub, dev.device_id) == [] and "fall_seen" not in dev.commands()
    dev.close()
