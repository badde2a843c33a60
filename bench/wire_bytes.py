"""Benchmark (issue 20, sizing inputs): bytes on the wire per message kind, next to the payload's own size.

Each kind's payloads come from the simulator's builders (simulators/telemetry.py, simulators/storm.py), the ones the
load generator sends: a wearable's telemetry with its 1 s accelerometer window at 50 Hz (vitals, battery, position
and the window in one message, as the simulator sends it every second), the same without the window (vitals alone),
a home sensor's state, a terminal's observation, a village report from a terminal, an SOS event. A paho client
(MQTT 3.1.1, QoS 1, as devices talk to a NATS or RabbitMQ cluster) publishes N of each through a byte-counting TCP
relay in front of a private Mosquitto and waits for every PUBACK; the relay counts the bytes each way after the
CONNACK. The figure is MQTT bytes per message (PUBLISH up, PUBACK down), next to the payload's JSON bytes (ratio).
TCP/IP headers are below what a relay sees: add about 52 bytes per segment each way (IPv4 20 + TCP 20 + timestamps
12) when a device sends one message at a time, as a 1 Hz wearable does; docs/scaling.md uses that.

Run from the repository root: .venv/bin/python -m bench.wire_bytes [--messages 200]
The last line is JSON: {kind: {"payload_bytes", "up_bytes", "down_bytes", "ratio"}}.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.records import DeviceRecord
from hub.broker import Mosquitto
from simulators.storm import StormScenario
from simulators.telemetry import SimDevice, home_sensor_payload, terminal_payload, wearable_payload

Builder = Callable[[SimDevice, float], dict[str, Any]]


class Relay:
    """A TCP relay on a free port to `port`, counting the bytes each way."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.up = self.down = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            broker = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, broker, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(broker, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for sock in (src, dst):
                    sock.close()
                return
            if up:
                self.up += len(data)
            else:
                self.down += len(data)
            dst.sendall(data)

    def close(self) -> None:
        """Stop accepting."""
        self._server.close()


def device(kind: str, family: str, i: int) -> SimDevice:
    """A simulated device with the ids the hub's registry uses (W/H/T plus five digits)."""
    prefix = {"wearable": "W", "home_sensor": "H", "terminal": "T"}[family]
    extra: dict[str, Any] = {"worn_at": "wrist"} if family == "wearable" else {}
    record = DeviceRecord(f"{prefix}{i:05d}", family, kind, **extra)
    return SimDevice(record, 28.2, 112.9, random.Random(i))


def report(dev: SimDevice, t: float) -> dict[str, Any]:
    """A village's follow-up report, as the storm scenario files it."""
    return StormScenario([dev.record.village_id or "v1"])._report(dev, t, 1, 3)


KINDS: dict[str, tuple[str, str, str, Builder]] = {
    "wearable_acc_window": ("wearable", "wearable", "telemetry", wearable_payload),
    "wearable_vitals": ("wearable", "wearable", "telemetry", lambda d, t: wearable_payload(d, t, with_acc=False)),
    "home_sensor": ("motion", "home_sensor", "telemetry", home_sensor_payload),
    "terminal_observation": ("rain_gauge", "terminal", "observation", terminal_payload),
    "terminal_report": ("reporter", "terminal", "report", report),
    "sos_event": ("wearable", "wearable", "event",
                  lambda d, t: {"ts": round(t, 3), "seq": d.next_seq(), "event": "sos"}),
}


def measure(relay: Relay, name: str, count: int) -> dict[str, float]:
    """Publish `count` messages of one kind through the relay; bytes per message each way, and the payload's."""
    kind, family, channel, build = KINDS[name]
    dev = device(kind, family, 1)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wire-{name}", protocol=mqtt.MQTTv311)
    connected = threading.Event()
    client.on_connect = lambda *_a: connected.set()
    client.connect("127.0.0.1", relay.port)
    client.loop_start()
    connected.wait(10)
    time.sleep(0.2)
    up0, down0, payload_bytes = relay.up, relay.down, 0
    t = time.time()
    infos = []
    for i in range(count):
        body = orjson.dumps(build(dev, t + i))
        payload_bytes += len(body)
        infos.append(client.publish(dev.topic(channel), body, qos=1))
        infos[-1].wait_for_publish(10)  # one at a time, as a device sends
    time.sleep(0.2)
    up, down = relay.up - up0, relay.down - down0
    client.disconnect()
    client.loop_stop()
    return {"payload_bytes": round(payload_bytes / count, 1), "up_bytes": round(up / count, 1),
            "down_bytes": round(down / count, 1), "ratio": round(up / payload_bytes, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "mosquitto").start()
        relay = Relay(broker.port)
        try:
            for name in KINDS:
                out[name] = measure(relay, name, args.messages)
                row = out[name]
                print(f"{name}: {row['up_bytes']:.0f} bytes up (PUBLISH), {row['down_bytes']:.0f} down (PUBACK); "
                      f"payload {row['payload_bytes']:.0f} bytes (ratio {row['ratio']:.2f})", flush=True)
        finally:
            relay.close()
            broker.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
