"""Fault run (issue 20): a persistent QoS 1 subscriber on a 3-node RabbitMQ cluster (quorum queues) loses its node to
SIGKILL mid-stream; what it receives, next to what was published and acknowledged.

4 publishers on the other two nodes put P messages each, one at a time, each acknowledged (a quorum stored it)
before the next, and republish from the start if their connection fails. The subscriber (paho, MQTT 3.1.1,
clean_session false) is on the first node, which also leads its session's quorum queue. After about a third of the
messages its node is SIGKILLed, and it reconnects with the same client id to the second node. Printed per run: unique
messages received against published ("lost" is the difference), deliveries (duplicates are allowed under QoS 1), and
the seconds from the kill to the session being back. The same run against NATS 2.9.10 lost messages in 3 of 6 runs
when the dead node led the consumer (docs/scaling.md).

Run from the repository root: .venv/bin/python -m bench.rabbitmq_failover [--runs 1] [--per-publisher 3000]
[--queue-type quorum|classic]
The last line is JSON: {"runs": [{"published", "unique", "deliveries", "lost", "takeover_s"}, ...]}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.rabbitmq import RabbitCluster

PUBLISHERS = 4


class Subscriber:
    """The persistent subscriber's (publisher, seq) pairs and delivery count, across its reconnection."""

    def __init__(self) -> None:
        self.seen: set[tuple[int, int]] = set()
        self.deliveries = 0
        self.lock = threading.Lock()

    def on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        publisher, seq = bytes(msg.payload).decode().split(":")
        with self.lock:
            self.seen.add((int(publisher), int(seq)))
            self.deliveries += 1

    def connect(self, port: int) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="failover-hub", protocol=mqtt.MQTTv311,
                             clean_session=False)
        client.on_message = self.on_message
        connected = threading.Event()
        client.on_connect = lambda *_a: connected.set()
        client.connect("127.0.0.1", port)
        client.loop_start()
        if not connected.wait(30):
            client.loop_stop()
            raise ConnectionError(f"no CONNACK from port {port}")
        return client


def publish(port: int, publisher: int, count: int) -> None:
    """`count` QoS 1 messages, each acknowledged before the next; from the start again after a failure."""
    while True:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"failover-pub{publisher}",
                             protocol=mqtt.MQTTv311)
        try:
            client.connect("127.0.0.1", port)
            client.loop_start()
            for seq in range(count):
                client.publish(f"failover/{publisher}/t", f"{publisher}:{seq}".encode(), qos=1).wait_for_publish(60)
            client.disconnect()
            return
        except (OSError, RuntimeError, ValueError) as exc:
            print(f"publisher {publisher}: {exc}; publishing again from the start", flush=True)
            time.sleep(1)
        finally:
            client.loop_stop()


def one_run(folder: Path, per: int, queue_type: str) -> dict[str, Any]:
    """One cluster, one kill; the counts."""
    cluster = RabbitCluster(folder, size=3, queue_type=queue_type).start()
    try:
        ports = [n.mqtt_port for n in cluster.nodes]
        sub = Subscriber()
        first = sub.connect(ports[0])
        subscribed = threading.Event()
        first.on_subscribe = lambda *_a: subscribed.set()
        first.subscribe("failover/+/t", qos=1)
        subscribed.wait(30)
        threads = [threading.Thread(target=publish, args=(ports[1 + p % 2], p, per)) for p in range(PUBLISHERS)]
        for thread in threads:
            thread.start()
        while len(sub.seen) < PUBLISHERS * per // 3:
            time.sleep(0.02)
        cluster.kill(cluster.nodes[0])
        killed = time.perf_counter()
        first.loop_stop()  # its paho would dial the dead node again
        second = None
        while second is None and time.perf_counter() - killed < 60:
            try:
                second = sub.connect(ports[1])
            except (OSError, ConnectionError):
                time.sleep(0.5)
        takeover = time.perf_counter() - killed
        for thread in threads:
            thread.join(300)
        deadline = time.monotonic() + 90
        while len(sub.seen) < PUBLISHERS * per and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # late duplicates
        if second is not None:
            second.disconnect()
            second.loop_stop()
    finally:
        cluster.stop()
    published = PUBLISHERS * per
    return {"published": published, "unique": len(sub.seen), "deliveries": sub.deliveries,
            "lost": published - len(sub.seen), "takeover_s": round(takeover, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--per-publisher", type=int, default=3000)
    parser.add_argument("--queue-type", choices=("quorum", "classic"), default="quorum")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            row = one_run(Path(tmp) / f"run{i}", args.per_publisher, args.queue_type)
            print(f"run {i + 1}: {row['unique']} of {row['published']} received ({row['lost']} lost, "
                  f"{row['deliveries'] - row['unique']} duplicates), session back {row['takeover_s']} s after the "
                  "kill", flush=True)
            runs.append(row)
    print(json.dumps({"queue_type": args.queue_type, "runs": runs}))


if __name__ == "__main__":
    main()
