"""The private RabbitMQ launcher of the engine benchmark (hub/rabbitmq.py, issue 20): a real node on free ports.

RabbitMQ is opt-in (`HUB_EXTRA_APT=rabbitmq-server scripts/setup`): without it the test is skipped.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.rabbitmq import RABBIT_BIN, RabbitCluster, rabbit_version

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (RABBIT_BIN / "rabbitmq-server").exists(),
                                 reason="RabbitMQ not installed (HUB_EXTRA_APT=rabbitmq-server scripts/setup)")]


def _client(client_id: str, clean: bool) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=clean)


def test_a_persistent_session_keeps_qos1_messages_in_a_quorum_queue(tmp_path: Path) -> None:
    cluster = RabbitCluster(tmp_path / "rabbit", size=1).start()
    try:
        port = cluster.nodes[0].mqtt_port
        got: list[bytes] = []
        done, subscribed = threading.Event(), threading.Event()

        def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
            got.append(bytes(msg.payload))
            if len(got) == 5:
                done.set()

        sub = _client("t-sub", clean=False)
        sub.on_subscribe = lambda *_a: subscribed.set()
        sub.connect("127.0.0.1", port)
        sub.loop_start()
        sub.subscribe("eldercare/+/telemetry", qos=1)
        assert subscribed.wait(30)
        sub.disconnect()
        sub.loop_stop()

        pub = _client("t-pub", clean=True)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        for i in range(5):  # published while the subscriber is away: its session's queue keeps them
            pub.publish("eldercare/W1/telemetry", f'{{"seq":{i}}}'.encode(), qos=1).wait_for_publish(30)
        pub.disconnect()
        pub.loop_stop()

        queue: dict[str, Any] = {}
        for _ in range(30):  # the queue's counters reach list_queues a few seconds late
            queue = {str(q["name"]): q for q in cluster.queues()}["mqtt-subscription-t-subqos1"]
            if queue["messages"] == 5:
                break
            time.sleep(1)
        assert (queue["type"], queue["durable"], queue["messages"]) == ("quorum", True, 5)

        back = _client("t-sub", clean=False)
        back.on_message = on_message
        back.connect("127.0.0.1", port)
        back.loop_start()
        assert done.wait(30), f"got {got}"
        back.disconnect()
        back.loop_stop()
        assert got == [f'{{"seq":{i}}}'.encode() for i in range(5)]
        assert cluster.running_nodes() == [cluster.nodes[0].name]
        assert rabbit_version()
    finally:
        cluster.stop()
    assert not cluster.nodes[0].running


class _Counter:
    """A persistent QoS 1 subscriber's (publisher, seq) pairs, across its reconnections."""

    def __init__(self) -> None:
        self.seen: set[tuple[int, int]] = set()
        self.lock = threading.Lock()

    def on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        publisher, seq = bytes(msg.payload).decode().split(":")
        with self.lock:
            self.seen.add((int(publisher), int(seq)))

    def connect(self, port: int) -> mqtt.Client:
        client = _client("t-hub", clean=False)
        client.on_message = self.on_message
        connected = threading.Event()
        client.on_connect = lambda *_a: connected.set()
        client.connect("127.0.0.1", port)
        client.loop_start()
        assert connected.wait(30)
        return client


def _publish(port: int, publisher: int, count: int) -> None:
    client = _client(f"t-pub{publisher}", clean=True)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for seq in range(count):  # each acknowledged (stored by a quorum) before the next, as a device sends
        client.publish(f"eldercare/W{publisher}/telemetry", f"{publisher}:{seq}".encode(), qos=1).wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def test_a_session_survives_the_death_of_its_node(tmp_path: Path) -> None:
    """Issue 20: QoS 1 messages acknowledged to their publishers, waiting in a persistent session whose node (the
    leader of its quorum queue) is then SIGKILLed, all reach the subscriber when it takes the session over on another
    node. With `queue_type="classic"` the queue lives on the dead node only and this fails."""
    cluster = RabbitCluster(tmp_path / "rabbit", size=3).start()
    try:
        ports = [n.mqtt_port for n in cluster.nodes]
        counter = _Counter()
        first = counter.connect(ports[0])
        subscribed = threading.Event()
        first.on_subscribe = lambda *_a: subscribed.set()
        first.subscribe("eldercare/+/telemetry", qos=1)
        assert subscribed.wait(30)
        queue = {q["name"]: q for q in cluster.queues()}["mqtt-subscription-t-hubqos1"]
        assert len(queue["members"]) == 3 and queue["leader"] == cluster.nodes[0].name

        per = 300
        _publish(ports[1], 0, per)  # live: the subscriber takes these as they come
        first.disconnect()
        first.loop_stop()
        publishers = [threading.Thread(target=_publish, args=(ports[1 + p % 2], p, per)) for p in (1, 2)]
        for thread in publishers:  # a backlog in the session while its subscriber is away
            thread.start()
        for thread in publishers:
            thread.join(120)
        cluster.kill(cluster.nodes[0])
        second = counter.connect(ports[1])  # same client id, clean_session false: the session taken over
        deadline = time.monotonic() + 60
        while len(counter.seen) < 3 * per and time.monotonic() < deadline:
            time.sleep(0.1)
        second.disconnect()
        second.loop_stop()
        missing = {(p, s) for p in range(3) for s in range(per)} - counter.seen
        assert not missing, f"{len(missing)} acknowledged messages never delivered, e.g. {sorted(missing)[:5]}"
    finally:
        cluster.stop()
