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

pytestmark = pytest.mark.skipif(not (RABBIT_BIN / "rabbitmq-server").exists(),
                                reason="RabbitMQ not installed (HUB_EXTRA_APT=rabbitmq-server scripts/setup)")


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
