"""Per-device credentials and the generated ACL, enforced by a real Mosquitto."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.credentials import HUB_USER, Credentials
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto, auth_config

pytestmark = pytest.mark.integration


class Peer:
    """A client that records what it receives."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.refused: str | None = None
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-{user}-{time.monotonic_ns()}",
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, m: self.got.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.ready.wait(5)

    def _on_connect(self, _c: object, _u: object, _f: object, reason: mqtt.ReasonCode, _p: object) -> None:
        if reason.is_failure:
            self.refused = str(reason)
        self.ready.set()

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_a: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        with contextlib.suppress(RuntimeError):  # a denied publish may cost the forger its connection
            info.wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[Mosquitto, Credentials, dict[str, str]]]:
    creds = Credentials(StateDB(tmp_path / "state.sqlite"))
    passwords = {user: creds.issue(user) for user in (HUB_USER, "W-A", "W-B")}
    files = creds.write_broker_files(tmp_path / "broker-auth")
    broker = Mosquitto(tmp_path / "mosquitto", extra_config=auth_config(*files)).start()
    yield broker, creds, passwords
    broker.stop()


def _settle() -> None:
    time.sleep(0.5)


def test_a_device_cannot_publish_as_another_or_read_its_set(secured) -> None:
    broker, _creds, pw = secured
    hub = Peer(broker.port, HUB_USER, pw[HUB_USER])
    hub.subscribe("eldercare/#")
    a = Peer(broker.port, "W-A", pw["W-A"])
    b = Peer(broker.port, "W-B", pw["W-B"])
    assert a.refused is None and b.refused is None and hub.refused is None
    a.subscribe("eldercare/W-A/set")
    a.subscribe("eldercare/W-B/set")  # accepted or not, nothing of B's may reach A
    a.publish("eldercare/W-A/telemetry", b"own")
    # forging from a second connection with A's credentials: Mosquitto answers a v5 client's denied publish
    # with PUBACK 0x87 (not authorised), on which paho drops that connection
    forger = Peer(broker.port, "W-A", pw["W-A"])
    forger.publish("eldercare/W-B/telemetry", b"forged")
    forger.publish("eldercare/W-B/event", b"forged-event")
    hub.publish("eldercare/W-B/set", b"for-b")
    hub.publish("eldercare/W-A/set", b"for-a")
    _settle()
    hub_saw = {p for _t, p in hub.got}
    assert b"own" in hub_saw and not hub_saw & {b"forged", b"forged-event"}
    assert [p for _t, p in a.got] == [b"for-a"]
    for peer in (hub, a, b, forger):
        peer.close()


def test_wrong_password_and_anonymous_are_refused(secured) -> None:
    broker, _creds, _pw = secured
    wrong = Peer(broker.port, "W-A", "not-the-password")
    assert wrong.refused is not None
    wrong.close()
    anonymous = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="anon", protocol=mqtt.MQTTv5)
    refused = threading.Event()
    anonymous.on_connect = lambda _c, _u, _f, reason, _p: reason.is_failure and refused.set()
    anonymous.connect("127.0.0.1", broker.port)
    anonymous.loop_start()
    assert refused.wait(5)
    anonymous.loop_stop()


def test_revoking_a_device_takes_effect_without_restart(secured, tmp_path: Path) -> None:
    broker, creds, pw = secured
    before = Peer(broker.port, "W-B", pw["W-B"])
    assert before.refused is None
    before.close()
    assert creds.revoke("W-B")
    creds.write_broker_files(tmp_path / "broker-auth")
    pid = broker.process.pid if broker.process else None
    broker.reload()
    after = Peer(broker.port, "W-B", pw["W-B"])
    assert after.refused is not None
    assert broker.process is not None and broker.process.pid == pid  # same broker process
    after.close()
    still = Peer(broker.port, "W-A", pw["W-A"])
    assert still.refused is None
    still.close()
