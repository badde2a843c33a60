"""A paho client for the identity and TLS tests: records its CONNACK, disconnects and messages, with timestamps."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Peer:
    """Connects as `user` (or anonymously) and waits for the CONNACK."""

    def __init__(self, port: int, user: str | None, password: str | None, ca: Path | None = None,
                 cert: tuple[Path, Path] | None = None, client_id: str = "") -> None:
        self.got: list[tuple[str, bytes]] = []
        self.accepted: bool | None = None
        self.reason = ""
        self.disconnected_at: float | None = None
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                                  client_id=client_id or f"peer-{user}-{time.monotonic_ns()}")
        if user is not None:
            self.client.username_pw_set(user, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca), certfile=str(cert[0]) if cert else None,
                                keyfile=str(cert[1]) if cert else None)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = lambda _c, _u, m: self.got.append((m.topic, m.payload))
        self.client.reconnect_delay_set(60, 120)  # a cut session stays cut while the test looks
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.ready.wait(5)

    def _on_connect(self, _c: object, _u: object, _f: object, reason: mqtt.ReasonCode, _p: object) -> None:
        self.accepted = not reason.is_failure
        self.reason = str(reason)
        self.ready.set()

    def _on_disconnect(self, *_args: object) -> None:
        if self.disconnected_at is None:
            self.disconnected_at = time.monotonic()
        self.ready.set()

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_a: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def publish(self, topic: str, payload: bytes, wait_s: float = 5.0) -> bool:
        """True when the broker acknowledged the publish (QoS 1)."""
        info = self.client.publish(topic, payload, qos=1)
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(wait_s)
            return info.is_published()
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(predicate: object, timeout_s: float = 5.0) -> bool:
    """Poll `predicate()` until true or the timeout passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
