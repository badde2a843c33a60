"""Benchmark (issue 20): MQTT QoS 1 messages per second through a node of a 3-node NATS JetStream cluster, next to
one Mosquitto, in the same run.

Method (the same for every broker; C clients from Debian's mosquitto-clients, so that Python is not what is measured):
a persistent QoS 1 subscriber (`mosquitto_sub -V mqttv311 -c -q 1 -C N`) connects first; then P publishers
(`mosquitto_pub -V mqttv311 -q 1 -l`, each its own device id and topic) put N QoS 1 telemetry-sized messages in all.
The figure is N / (time from the publishers' start to the subscriber's N-th message): every message is stored by the
broker (NATS: in a JetStream stream replicated on 3 nodes, acknowledged to the publisher once a quorum has it),
delivered and acknowledged end to end. Runs: Mosquitto; NATS with publishers and subscriber on one node ("node");
NATS with the publishers spread over the three nodes and the subscriber on the first ("cluster").

Then the hub itself (issue 20: the same worker on each broker, same run): the hub's persistent session is created,
P publishers put H readings of P registered wearables into it as a backlog, and the hub (in this process, DuckDB,
`bench.ingest.hub_rate`) drains it; the figure is H / (time from its connect to the H-th reading stored, seen by
the detectors and acknowledged). A small drain of each kind first, not counted (`warm_up`), pays the first-use
costs of the process (imports, the detectors' set-up), which would otherwise fall on whichever broker came first.
On NATS the hub falls back to MQTT 3.1.1 with a persistent session by itself.

Two kinds of readings for the hub (issue 20, item 4: the per-worker rate acked after detection): vitals alone
(`--hub-messages`), and the simulator's 1 Hz wearable message with its 1 s accelerometer window at 50 Hz
(`--hub-acc-messages`), which the fall detector looks at: the kind that dominates a province's load. Device times lie
within the last hour, and the hub must have stored every reading (a reading refused as stale is acked too, and
would time the rejection path instead).

Run from the repository root: .venv/bin/python -m bench.broker_cluster [--messages 40000] [--publishers 8]
[--hub-messages 20000] [--hub-acc-messages 16000]
The last line is JSON: {"mosquitto_per_s", "nats_node_per_s", "nats_cluster_per_s", "ratio_node", "hub_mosquitto_per_s",
"hub_nats_per_s", "hub_ratio", "hub_acc_mosquitto_per_s", "hub_acc_nats_per_s", "hub_acc_ratio", ...}.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.ingest import TOPIC, create_session, hub_rate, register
from devices.records import DeviceRecord
from hub.broker import Mosquitto
from hub.natscluster import NatsCluster
from simulators.telemetry import SimDevice, wearable_payload

HUB_PAYLOAD = '{"ts":%d,"seq":%d,"heart_rate":%d,"spo2":97,"skin_temp":34.1,"battery":80,"steps":3}'
PAYLOAD = ('{"ts":%d,"seq":%d,"hr":72,"spo2":97,"skin_temp":33.1,"battery":88.5,"steps":1200,'
           '"lat":28.2282,"lon":112.9388}')
Node = tuple[str, int]


def _client(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} not found: run scripts/setup (installs mosquitto-clients)")
    return path


def measure(pub_nodes: list[Node], sub_node: Node, messages: int, publishers: int, tag: str) -> dict[str, float]:
    """P publishers spread over `pub_nodes` put `messages` in all; one persistent subscriber on `sub_node` counts."""
    host, port = sub_node
    sub = subprocess.Popen([_client("mosquitto_sub"), "-h", host, "-p", str(port), "-V", "mqttv311", "-c",
                            "-i", f"bench-sub-{tag}", "-q", "1", "-t", f"bench-{tag}/+/telemetry", "-C", str(messages)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2.0)  # connected and subscribed (NATS creates the session's JetStream consumer)
    per = messages // publishers
    start = time.perf_counter()
    pubs = []
    for p in range(publishers):
        phost, pport = pub_nodes[p % len(pub_nodes)]
        lines = "".join(PAYLOAD % (1_700_000_000 + i, i + 1) + "\n" for i in range(per + (p < messages % publishers)))
        proc = subprocess.Popen([_client("mosquitto_pub"), "-h", phost, "-p", str(pport), "-V", "mqttv311",
                                 "-i", f"bench-pub-{tag}-{p}", "-q", "1", "-l", "-t", f"bench-{tag}/d{p}/telemetry"],
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(lines.encode())
        proc.stdin.close()
        pubs.append(proc)
    for proc in pubs:
        proc.wait(timeout=600)
    published = time.perf_counter()
    try:
        sub.wait(timeout=600)
    except subprocess.TimeoutExpired:
        sub.kill()
        raise SystemExit(f"{tag}: the subscriber did not get {messages} messages in 600 s") from None
    done = time.perf_counter()
    if sub.returncode != 0:
        why = sub.stderr.read().decode(errors="replace") if sub.stderr else ""
        raise SystemExit(f"{tag}: mosquitto_sub exited {sub.returncode}: {why}")
    return {"per_s": round(messages / (done - start)), "publish_per_s": round(messages / (published - start))}


def _session_311(client_id: str, port: int) -> None:
    """The hub's persistent session on a 3.1.1-only broker (NATS), so that the backlog is kept for it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                         clean_session=False)
    subscribed = threading.Event()
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe(TOPIC, qos=1)
    subscribed.wait(30)
    client.disconnect()
    client.loop_stop()


def _drop_session(client_id: str, port: int) -> None:
    """Connect once with a clean session: the broker forgets the hub's session (no copies queued for it later)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                         clean_session=True)
    connected = threading.Event()
    client.on_connect = lambda *_a: connected.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    connected.wait(30)
    client.disconnect()
    client.loop_stop()


def hub_lines(kind: str, device: str, count: int, t0: float) -> str:
    """`count` readings of one wearable, one JSON object a line: vitals alone, or the simulator's 1 Hz message with its
    accelerometer window (which the fall detector looks at)."""
    if kind == "vitals":
        return "".join(HUB_PAYLOAD % (t0 + i, i + 1, 60 + i % 40) + "\n" for i in range(count))
    dev = SimDevice(DeviceRecord(device, "wearable", "wearable", worn_at="wrist"), 28.2, 112.9,
                    random.Random(device))
    return "".join(orjson.dumps(wearable_payload(dev, t0 + i)).decode() + "\n" for i in range(count))


def hub_backlog_rate(data_dir: Path, port: int, messages: int, publishers: int, v5: bool,
                     protocol: Literal["auto", "5", "3.1.1"] = "auto", kind: str = "vitals") -> float:
    """The hub draining a backlog of `messages` readings (`kind`: vitals or acc) from `publishers` registered
    wearables; every reading must be stored (device times within the last hour, so none is refused as stale)."""
    data_dir.mkdir(parents=True)
    ids = register(data_dir, publishers)
    client_id = f"bench-hub-{kind}-{port}"
    if v5:
        create_session(client_id, port)
    else:
        _session_311(client_id, port)
    per = messages // publishers
    t0 = int(time.time()) - 3600
    pubs = []
    for p, device in enumerate(ids):
        lines = hub_lines(kind, device, per, t0)
        proc = subprocess.Popen([_client("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(port), "-V", "mqttv311",
                                 "-i", f"bench-hubpub-{p}", "-q", "1", "-l", "-t", f"eldercare/{device}/telemetry"],
                                stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(lines.encode())
        proc.stdin.close()
        pubs.append(proc)
    for proc in pubs:
        proc.wait(timeout=600)
    try:
        return hub_rate(data_dir, port, per * publishers, client_id=client_id, protocol=protocol)
    finally:
        _drop_session(client_id, port)


def warm_up(tmp: Path, kinds: list[str], publishers: int) -> None:
    """A small drain of each kind on a throw-away Mosquitto, not counted."""
    broker = Mosquitto(tmp / "warm-mosquitto").start()
    try:
        for kind in kinds:
            hub_backlog_rate(tmp / f"warm-{kind}", broker.port, 100 * publishers, publishers, v5=True, kind=kind)
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--publishers", type=int, default=8)
    parser.add_argument("--hub-messages", type=int, default=20_000, help="vitals readings the hub drains")
    parser.add_argument("--hub-acc-messages", type=int, default=16_000,
                        help="readings with a 1 s accelerometer window the hub drains (0: skip)")
    args = parser.parse_args()
    kinds = {"vitals": args.hub_messages, "acc": args.hub_acc_messages}
    kinds = {k: n for k, n in kinds.items() if n > 0}
    hub_mosq: dict[str, float] = {}
    hub_nats: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(Path(tmp), list(kinds), args.publishers)
        mosquitto = Mosquitto(Path(tmp) / "mosquitto").start()
        try:
            node = ("127.0.0.1", mosquitto.port)
            mosq = measure([node], node, args.messages, args.publishers, "mosquitto")
            for kind, count in kinds.items():
                hub_mosq[kind] = hub_backlog_rate(Path(tmp) / f"hub-mosquitto-{kind}", mosquitto.port, count,
                                                  args.publishers, v5=True, kind=kind)
        finally:
            mosquitto.stop()
        print(f"mosquitto: {mosq}, hub {', '.join(f'{k} {v:.0f}/s' for k, v in hub_mosq.items())}", flush=True)
        cluster = NatsCluster(Path(tmp) / "nats").start()
        try:
            first = ("127.0.0.1", cluster.nodes[0].mqtt_port)
            nats_node = measure([first], first, args.messages, args.publishers, "node")
            print(f"nats, one node: {nats_node}", flush=True)
            spread = [("127.0.0.1", n.mqtt_port) for n in cluster.nodes]
            nats_cluster = measure(spread, first, args.messages, args.publishers, "cluster")
            print(f"nats, publishers on three nodes: {nats_cluster}", flush=True)
            for kind, count in kinds.items():
                hub_nats[kind] = hub_backlog_rate(Path(tmp) / f"hub-nats-{kind}", cluster.nodes[0].mqtt_port, count,
                                                  args.publishers, v5=False, kind=kind)
                print(f"hub on a nats node, {kind}: {hub_nats[kind]:.0f}/s "
                      f"(ratio to Mosquitto {hub_nats[kind] / hub_mosq[kind]:.2f})", flush=True)
        finally:
            cluster.stop()
    out: dict[str, object] = {
        "messages": args.messages, "publishers": args.publishers, "mosquitto_per_s": mosq["per_s"],
        "nats_node_per_s": nats_node["per_s"], "nats_cluster_per_s": nats_cluster["per_s"],
        "ratio_node": round(nats_node["per_s"] / mosq["per_s"], 3),
        "ratio_cluster": round(nats_cluster["per_s"] / mosq["per_s"], 3)}
    for kind, count in kinds.items():
        suffix = "" if kind == "vitals" else "_acc"
        out |= {f"hub{suffix}_messages": count, f"hub{suffix}_mosquitto_per_s": round(hub_mosq[kind]),
                f"hub{suffix}_nats_per_s": round(hub_nats[kind]),
                f"hub{suffix}_ratio": round(hub_nats[kind] / hub_mosq[kind], 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
