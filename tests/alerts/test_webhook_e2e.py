"""The incident webhook against a real local HTTP receiver that fails twice: one delivery, after backoff, and ingest
keeps storing readings meanwhile (issue 5). The hub runs as a process with HUB_ALERTS__WEBHOOK_URL."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

pytestmark = pytest.mark.integration
FAILURES = 2
SLOW_FAILURE_S = 1.0  # each failing answer also takes a while, so the sender is busy for seconds
READINGS = 40


class Receiver(ThreadingHTTPServer):
    """Answers 500 (slowly) to the first FAILURES POSTs, then 204; records every attempt."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.attempts: list[tuple[float, int, dict[str, Any]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def delivered(self) -> list[tuple[float, dict[str, Any]]]:
        with self.lock:
            return [(t, body) for t, code, body in self.attempts if code == 204]


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            failing = len(self.server.attempts) < FAILURES
            code = 500 if failing else 204
            self.server.attempts.append((time.time(), code, body))
        if failing:
            time.sleep(SLOW_FAILURE_S)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_webhook_retries_with_backoff_and_never_holds_up_ingest(
    hub_factory, mosquitto: Mosquitto, receiver: Receiver
) -> None:
    hub: HubProcess = hub_factory(env={"HUB_ALERTS__WEBHOOK_URL": receiver.url, "HUB_ALERTS__WEBHOOK_TIMEOUT_S": "10"})
    community = build_community(residents=1, terminals=1, villages=1, seed=5)
    db = StateDB(hub.data_dir / "state.sqlite")
    community.register(Registry(db))
    db.close()
    hub.start()
    wearable = next(d.device_id for d in community.devices if d.family == "wearable")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-webhook-wearable")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    now = time.time()
    client.publish(f"eldercare/{wearable}/event", orjson.dumps({"ts": now, "seq": 1, "event": "sos"}), qos=1)
    deadline = time.monotonic() + 10
    while not receiver.attempts and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.attempts, "the webhook was never called"
    for seq in range(2, READINGS + 2):  # while the receiver is failing
        body = {"ts": now + seq * 0.1, "seq": seq, "heart_rate": 72}
        client.publish(f"eldercare/{wearable}/telemetry", orjson.dumps(body), qos=1).wait_for_publish(5)
    assert hub.wait_stored(READINGS, timeout_s=10) >= READINGS
    stored_at = time.time()
    deadline = time.monotonic() + 20
    while not receiver.delivered() and time.monotonic() < deadline:
        time.sleep(0.05)
    [(delivered_at, event)] = [(t, b) for t, b in receiver.delivered() if b["event"] == "opened"]
    assert stored_at < delivered_at  # ingest did not wait for the webhook
    first = receiver.attempts[:3]
    assert [code for _, code, _ in first] == [500, 500, 204]
    assert all(body["event"] == "opened" for _, _, body in first)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(first)]
    assert gaps[0] >= SLOW_FAILURE_S + 0.5 - 0.05 and gaps[1] >= SLOW_FAILURE_S + 1.0 - 0.05  # backoff 0.5 s, 1 s
    assert event["incident"]["device_id"] == wearable and event["incident"]["kind"] == "sos"
    time.sleep(1.0)
    assert [b["event"] for _, b in receiver.delivered()].count("opened") == 1  # delivered once, never repeated
    client.loop_stop()
    client.disconnect()
