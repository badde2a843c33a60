"""Hostile publishers for the security tests and bench/hostile.py: a flooding device, replays, the corpus."""

from __future__ import annotations

import threading
import time
from collections import deque

import orjson
import paho.mqtt.client as mqtt
from corpus import malformed
from paho.mqtt.enums import CallbackAPIVersion


def raw_client(port: int, client_id: str) -> mqtt.Client:
    """A connected paho client with a running network thread."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def flood(port: int, device_id: str, count: int, stop: threading.Event) -> int:
    """Publish `count` valid telemetry messages from one device as fast as possible (distinct seqs)."""
    client = raw_client(port, f"flood-{device_id}")
    pending: deque[mqtt.MQTTMessageInfo] = deque()
    t = time.time() - 600
    sent = 0
    for seq in range(count):
        if stop.is_set():
            break
        body = orjson.dumps({"ts": t + seq * 0.001, "seq": seq, "heart_rate": 70, "battery": 90})
        pending.append(client.publish(f"eldercare/{device_id}/telemetry", body, qos=1))
        sent += 1
        if len(pending) > 5000:
            pending.popleft().wait_for_publish(30)
    for info in pending:
        info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()
    return sent


def hostile_corpus(port: int, rounds: int) -> int:
    """Publish every malformed message of the corpus `rounds` times; returns how many."""
    client = raw_client(port, "hostile-corpus")
    corpus = [c for c in malformed() if c[1].startswith(("eldercare/", "disaster/"))]
    for _ in range(rounds):
        for _name, topic, payload, _reason in corpus:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    return rounds * len(corpus)
