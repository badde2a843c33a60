"""Benchmark (issue 20): MQTT QoS 1 throughput of RabbitMQ's MQTT plugin, a single node and a 3-node cluster, next to
one Mosquitto in the same run; the other candidate engine beside NATS (bench/broker_cluster.py).

RabbitMQ is opt-in (`HUB_EXTRA_APT=rabbitmq-server scripts/setup`); `hub/rabbitmq.py` starts private nodes on free
ports. Debian 12 ships RabbitMQ 3.10.8: MQTT 3.1.1 only; a persistent session's QoS 1 subscription is a queue of the
type `mqtt.durable_queue_type` (default here: quorum, replicated on every node and written to the Raft WAL before the
publisher's PUBACK; `--queue-type classic` for a queue on one node).

Rows, all QoS 1, end to end (the method of bench/broker_cluster.py, C clients from mosquitto-clients):
- broker: 8 publishers put N messages to one persistent subscriber: Mosquitto; one RabbitMQ node; the 3-node
  RabbitMQ cluster with publishers and subscriber on one node; the cluster with publishers spread over the nodes;
- hub: the hub (in this process, DuckDB, MQTT 3.1.1 with a persistent session) drains a backlog of H readings, each
  stored, seen by the detectors and acknowledged: on Mosquitto and on one node of the RabbitMQ cluster.
- the same broker and hub rows on the 3-node NATS cluster of hub/natscluster.py, so that the two engines' ratio
  comes from one run too (`--no-nats` leaves them out).
The hub's protocol "auto" does not fall back on RabbitMQ 3.10 (it closes an MQTT 5 CONNECT without a CONNACK), so
the hub rows use HUB_MQTT__PROTOCOL=3.1.1 on both brokers, which keeps the ratio a like-for-like one.

Run from the repository root: .venv/bin/python -m bench.rabbitmq [--messages 20000] [--hub-messages 20000]
[--queue-type quorum|classic] [--no-cluster] [--no-nats]
The last line is JSON: {"mosquitto_per_s", "rabbit_node_per_s", "rabbit_cluster_node_per_s",
"rabbit_cluster_spread_per_s", "hub_mosquitto_per_s", "hub_rabbit_per_s", ratios, "rabbitmq_version", ...}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.broker_cluster import hub_backlog_rate, measure, warm_up
from hub.broker import Mosquitto
from hub.natscluster import NatsCluster
from hub.rabbitmq import RabbitCluster, rabbit_version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--publishers", type=int, default=8)
    parser.add_argument("--hub-messages", type=int, default=20_000)
    parser.add_argument("--queue-type", choices=("quorum", "classic"), default="quorum")
    parser.add_argument("--no-cluster", action="store_true", help="only the single RabbitMQ node")
    parser.add_argument("--no-nats", action="store_true", help="without the NATS cluster's rows")
    args = parser.parse_args()
    out: dict[str, object] = {"rabbitmq_version": rabbit_version(), "queue_type": args.queue_type,
                              "messages": args.messages, "hub_messages": args.hub_messages}
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(Path(tmp), ["vitals"], args.publishers)
        mosquitto = Mosquitto(Path(tmp) / "mosquitto").start()
        try:
            node = ("127.0.0.1", mosquitto.port)
            mosq = measure([node], node, args.messages, args.publishers, "mosquitto")["per_s"]
            hub_mosq = hub_backlog_rate(Path(tmp) / "hub-mosquitto", mosquitto.port, args.hub_messages,
                                        args.publishers, v5=False, protocol="3.1.1")
        finally:
            mosquitto.stop()
        print(f"mosquitto: {mosq}/s, hub {hub_mosq:.0f}/s", flush=True)
        out |= {"mosquitto_per_s": mosq, "hub_mosquitto_per_s": round(hub_mosq)}

        t0 = time.perf_counter()
        single = RabbitCluster(Path(tmp) / "rabbit1", size=1, queue_type=args.queue_type).start()
        print(f"rabbitmq {out['rabbitmq_version']}, one node, started in {time.perf_counter() - t0:.0f} s", flush=True)
        try:
            first = ("127.0.0.1", single.nodes[0].mqtt_port)
            rabbit = measure([first], first, args.messages, args.publishers, "rabbit")["per_s"]
        finally:
            single.stop()
        print(f"rabbitmq, one node: {rabbit}/s", flush=True)
        out |= {"rabbit_node_per_s": rabbit, "ratio_node": round(rabbit / mosq, 3)}

        if not args.no_cluster:
            t0 = time.perf_counter()
            cluster = RabbitCluster(Path(tmp) / "rabbit3", size=3, queue_type=args.queue_type).start()
            print(f"rabbitmq cluster of {len(cluster.running_nodes())} started in {time.perf_counter() - t0:.0f} s",
                  flush=True)
            try:
                first = ("127.0.0.1", cluster.nodes[0].mqtt_port)
                on_one = measure([first], first, args.messages, args.publishers, "rnode")["per_s"]
                print(f"rabbitmq cluster, publishers and subscriber on one node: {on_one}/s", flush=True)
                spread = [("127.0.0.1", n.mqtt_port) for n in cluster.nodes]
                spread_rate = measure(spread, first, args.messages, args.publishers, "rspread")["per_s"]
                print(f"rabbitmq cluster, publishers on three nodes: {spread_rate}/s", flush=True)
                hub_rabbit = hub_backlog_rate(Path(tmp) / "hub-rabbit", cluster.nodes[0].mqtt_port,
                                              args.hub_messages, args.publishers, v5=False, protocol="3.1.1")
                print(f"hub on a rabbitmq cluster node: {hub_rabbit:.0f}/s", flush=True)
                members = {len(q.get("members") or []) for q in cluster.queues()}
            finally:
                cluster.stop()
            out |= {"rabbit_cluster_node_per_s": on_one, "rabbit_cluster_spread_per_s": spread_rate,
                    "ratio_cluster_node": round(on_one / mosq, 3), "ratio_cluster_spread": round(spread_rate / mosq, 3),
                    "hub_rabbit_per_s": round(hub_rabbit), "hub_ratio": round(hub_rabbit / hub_mosq, 3),
                    "queue_replicas": sorted(members)}
        if not args.no_nats and not args.no_cluster:
            out |= nats_rows(Path(tmp), args, out)
    print(json.dumps(out))


def nats_rows(tmp: Path, args: argparse.Namespace, out: dict[str, object]) -> dict[str, object]:
    """The same rows on the 3-node NATS cluster (bench/broker_cluster.py's engine), for a ratio in one run."""
    cluster = NatsCluster(tmp / "nats").start()
    try:
        first = ("127.0.0.1", cluster.nodes[0].mqtt_port)
        on_one = measure([first], first, args.messages, args.publishers, "nnode")["per_s"]
        spread = [("127.0.0.1", n.mqtt_port) for n in cluster.nodes]
        spread_rate = measure(spread, first, args.messages, args.publishers, "nspread")["per_s"]
        hub = hub_backlog_rate(tmp / "hub-nats", cluster.nodes[0].mqtt_port, args.hub_messages, args.publishers,
                               v5=False, protocol="3.1.1")
    finally:
        cluster.stop()
    print(f"nats cluster: one node {on_one}/s, publishers on three nodes {spread_rate}/s, hub {hub:.0f}/s", flush=True)
    rows: dict[str, object] = {"nats_cluster_node_per_s": on_one, "nats_cluster_spread_per_s": spread_rate,
                               "hub_nats_per_s": round(hub)}
    if "rabbit_cluster_node_per_s" in out:
        rows |= {"rabbit_to_nats_node": round(float(str(out["rabbit_cluster_node_per_s"])) / on_one, 3),
                 "rabbit_to_nats_spread": round(float(str(out["rabbit_cluster_spread_per_s"])) / spread_rate, 3),
                 "hub_rabbit_to_nats": round(float(str(out["hub_rabbit_per_s"])) / hub, 3)}
    return rows


if __name__ == "__main__":
    main()
