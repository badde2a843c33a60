"""Benchmark: end-to-end stored messages per second, next to a bare paho subscriber and mosquitto_sub (C).

Method (same for all three consumers, in one run, on one private Mosquitto):
1. each consumer first creates its persistent QoS 1 session (clean_start=False) and disconnects;
2. a publisher puts N QoS 1 telemetry messages from D registered wearables into the broker, which queues N copies
   for every absent session (the hub's config lifts Mosquitto's queue limits, so none is dropped);
3. each consumer in turn reconnects and drains its backlog; the time from connect to the N-th message
   (for the hub: to the N-th reading durably stored in DuckDB, handled by the detectors and acknowledged, in
   that order since issue 7) gives messages per second.
Draining a backlog measures each consumer's own ceiling, without a publisher competing for the two cores.

The hub can pass the bare paho subscriber: it still uses paho for the connection, but reads QoS 0/1 PUBLISH
packets straight from its read-ahead buffer (ingest/readahead.py), where the baseline goes through paho's
per-message path (Properties, MQTTMessage, topic matching, on_message), as any paho application does.

A second hub run stores the same backlog into InfluxDB (Debian's influxd, started by the bench on free ports,
line protocol over the v1 /write API): influx_stored_per_s (issue 7).

Run from the repository root: .venv/bin/python -m bench.ingest [--messages 200000] [--devices 1000]
The last line is JSON: {"stored_per_s", "influx_stored_per_s", "bare_paho_per_s", "mosquitto_sub_per_s", "ratio", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Literal

import httpx
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.app import build_hub, serve
from hub.broker import Mosquitto, free_port
from hub.influxd import Influxd
from hub.settings import HttpSettings, MqttSettings, Settings, StoreSettings

TOPIC = "eldercare/+/telemetry"


def register(data_dir: Path, devices: int) -> list[str]:
    """Register `devices` wearables (one resident and home each) in the hub's data folder."""
    registry = Registry(StateDB(data_dir / "state.sqlite"))
    ids = []
    for i in range(devices):
        registry.add_home(Home(f"BH{i}", "bench", 28.2, 112.9), replace=True)
        registry.add_resident(Resident(f"BR{i}", "bench", f"BH{i}"), replace=True)
        registry.add_device(DeviceRecord(f"BW{i:05d}", "wearable", "wearable", resident_id=f"BR{i}",
                                         worn_at="wrist"), replace=True)
        ids.append(f"BW{i:05d}")
    return ids


def _client(client_id: str, v5: bool = True) -> mqtt.Client:
    proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=proto)


def _connect_v5(client: mqtt.Client, port: int) -> None:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 10_000
    client.connect("127.0.0.1", port, clean_start=False, properties=props)


def create_session(client_id: str, port: int) -> None:
    """Connect once with a persistent session and subscribe, so the broker queues for it."""
    client = _client(client_id)
    subscribed = threading.Event()
    client.on_subscribe = lambda *a: subscribed.set()
    _connect_v5(client, port)
    client.loop_start()
    client.subscribe(TOPIC, qos=1)
    subscribed.wait(10)
    client.disconnect()
    client.loop_stop()


def publish(port: int, ids: list[str], count: int) -> None:
    """Publish `count` QoS 1 telemetry messages round-robin over the devices; wait for every PUBACK."""
    client = _client("bench-publisher")
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t = time.time() - 3600
    infos: deque[mqtt.MQTTMessageInfo] = deque()
    for i in range(count):
        body = {"ts": t + i * 0.001, "seq": i, "heart_rate": 60 + i % 40, "spo2": 97, "skin_temp": 34.1,
                "battery": 80, "steps": i % 7}
        infos.append(client.publish(f"eldercare/{ids[i % len(ids)]}/telemetry", orjson.dumps(body), qos=1))
        if len(infos) > 20_000:  # message ids are 16 bit: never have more than that outstanding
            infos.popleft().wait_for_publish(60)
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def bare_paho(port: int, count: int) -> float:
    """Messages/s of a paho subscriber that only counts its backlog."""
    client = _client("bench-bare")
    got = 0
    done = threading.Event()

    def on_message(*_a: object) -> None:
        nonlocal got
        got += 1
        if got >= count:
            done.set()

    client.on_message = on_message
    t0 = time.perf_counter()
    _connect_v5(client, port)
    client.loop_start()
    done.wait(600)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return got / elapsed


def mosquitto_sub(port: int, count: int) -> float:
    """Messages/s of the C client draining the same backlog."""
    binary = shutil.which("mosquitto_sub")
    if binary is None:
        return 0.0
    t0 = time.perf_counter()
    subprocess.run([binary, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-c", "-i", "bench-c", "-V", "5",
                    "-t", TOPIC, "-C", str(count)], stdout=subprocess.DEVNULL, check=True, timeout=600)
    return count / (time.perf_counter() - t0)


def hub_rate(data_dir: Path, port: int, count: int, client_id: str = "bench-hub",
             store: StoreSettings | None = None, protocol: Literal["auto", "5", "3.1.1"] = "auto") -> float:
    """Messages/s from the hub's connect to its count-th stored and acked reading."""
    settings = Settings(mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{port}", client_id=client_id, protocol=protocol),
                        store=store or StoreSettings(data_dir=data_dir), http=HttpSettings(port=free_port()))
    result: dict[str, float] = {}

    async def main() -> None:
        hub = build_hub(settings)
        stop = asyncio.Event()

        async def watch() -> None:
            while hub.ingestor.stats.acked < count:  # stored, seen by the detectors and acknowledged
                await asyncio.sleep(0.005)
            result["elapsed"] = time.perf_counter() - result["t0"]
            stop.set()

        result["t0"] = time.perf_counter()
        watcher = asyncio.create_task(watch())
        try:
            await serve(hub, stop)
        finally:
            watcher.cancel()
            result["stored"] = hub.ingestor.stats.stored
            rejected = dict(hub.ingestor.stats.rejected)
            hub.close()
        if result["stored"] < count:  # a rejected message is acked too: the figure would time rejections
            raise RuntimeError(f"the hub stored {result['stored']:.0f} of {count} readings (rejected: {rejected})")

    asyncio.run(main())
    return count / result["elapsed"]


def influx_rate(data: Path, port: int, count: int) -> float:
    """The hub's rate with InfluxDB as its store (a private influxd), checked against the points it then holds."""
    server = Influxd(data / "influxdb").start()
    try:
        store = StoreSettings(data_dir=data / "hub-influx", backend="influxdb", influx_url=server.url,
                              influx_db="bench")
        rate = hub_rate(data / "hub-influx", port, count, "bench-hub-influx", store)
        q = {"q": "SELECT COUNT(seq) FROM readings", "db": "bench"}
        series = httpx.post(f"{server.url}/query", data=q, timeout=60).json()["results"][0].get("series", [])
        points = int(series[0]["values"][0][1]) if series else 0
        if points < count:
            raise RuntimeError(f"InfluxDB holds {points} points after the hub stored {count}")
    finally:
        server.stop()
    return rate


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000, help="QoS 1 messages per consumer")
    parser.add_argument("--devices", type=int, default=1000, help="registered wearables publishing them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        data = Path(tmp)
        broker = Mosquitto(data / "mosquitto").start()
        try:
            ids = register(data / "hub", args.devices)
            register(data / "hub-influx", args.devices)
            for client_id in ("bench-hub", "bench-bare", "bench-hub-influx"):
                create_session(client_id, broker.port)
            subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-c", "-i",
                            "bench-c", "-V", "5", "-t", TOPIC, "-W", "1"], stdout=subprocess.DEVNULL, check=False)
            t0 = time.perf_counter()
            publish(broker.port, ids, args.messages)
            print(f"published {args.messages} QoS 1 messages in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            bare = bare_paho(broker.port, args.messages)
            print(f"bare paho subscriber: {bare:,.0f} msg/s", file=sys.stderr)
            c_sub = mosquitto_sub(broker.port, args.messages)
            print(f"mosquitto_sub (C):    {c_sub:,.0f} msg/s", file=sys.stderr)
            stored = hub_rate(data / "hub", broker.port, args.messages)
            print(f"hub stored (DuckDB):  {stored:,.0f} msg/s = {stored / bare:.2f} x bare paho", file=sys.stderr)
            influx = influx_rate(data, broker.port, args.messages)
            print(f"hub stored (InfluxDB): {influx:,.0f} msg/s = {influx / bare:.2f} x bare paho", file=sys.stderr)
        finally:
            broker.stop()
    print(json.dumps({"messages": args.messages, "devices": args.devices, "stored_per_s": round(stored),
                      "influx_stored_per_s": round(influx),
                      "bare_paho_per_s": round(bare), "mosquitto_sub_per_s": round(c_sub),
                      "ratio": round(stored / bare, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
