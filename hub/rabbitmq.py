"""Start and stop a private RabbitMQ with its MQTT plugin (Debian package `rabbitmq-server`), for the benchmark only.

Issue 20 asks for the throughput of both candidate engines measured here. RabbitMQ is not installed by default
(`HUB_EXTRA_APT=rabbitmq-server scripts/setup` adds it); the hub itself runs on Mosquitto or NATS. Debian 12 ships
RabbitMQ 3.10.8 (Erlang 25), whose MQTT plugin speaks MQTT 3.1.1 only and keeps a persistent session's QoS 1
subscription in a queue `mqtt-subscription-<client id>qos1`, of the type `mqtt.durable_queue_type` says: `quorum`
(Raft-replicated on every node of the cluster, written to its WAL before a QoS 1 PUBLISH is acknowledged) or
`classic` (on the node that created it only).

Every node is private: its own node name (`hub<token>-n1@localhost`, registered with the machine's epmd beside any
other node), its own AMQP, MQTT and Erlang distribution ports on 127.0.0.1, its own RABBITMQ_MNESIA_BASE, config,
enabled-plugins file and log folder under `data_dir/<name>`, and a HOME holding the cluster's own Erlang cookie.
The system service (rabbit@localhost on 5672), if any, is never touched. Several nodes form one cluster by classic
peer discovery (each lists the others).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.broker import _die_with_parent, free_port, port_in_use
from hub.processes import BrokerError, log_tail, stop_process, wait_ready

__all__ = ["RabbitCluster", "RabbitNode", "rabbit_version"]

STARTUP_TIMEOUT_S = 90.0  # Erlang boots in 5-15 s alone; three nodes forming a cluster on 2 shared cores take longer
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")  # the scripts that run as the calling user (/usr/sbin's switch users)
LOCAL_DIST = "-kernel inet_dist_use_interface {127,0,0,1}"
PORT_ATTEMPTS = 3
PORT_TAKEN = re.compile(r"already_used|eaddrinuse|address already in use", re.IGNORECASE)


def _script(name: str) -> str:
    path = RABBIT_BIN / name
    if not path.exists():
        raise BrokerError(f"{name} not found", "HUB_EXTRA_APT=rabbitmq-server scripts/setup (Debian's rabbitmq-server)")
    return str(path)


def rabbit_version() -> str:
    """The installed RabbitMQ's version, from its library folder ('' when not installed)."""
    found = sorted(Path("/usr/lib/rabbitmq/lib").glob("rabbitmq_server-*"))
    return found[-1].name.removeprefix("rabbitmq_server-") if found else ""


@dataclass
class RabbitNode:
    """One RabbitMQ node (an Erlang VM) of the cluster."""

    name: str  # the Erlang node name, e.g. hubab12-n1@localhost
    data_dir: Path
    amqp_port: int
    mqtt_port: int
    dist_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """mqtt:// URL of this node's MQTT listener."""
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    @property
    def running(self) -> bool:
        """True while the process lives."""
        return self.process is not None and self.process.poll() is None

    @property
    def log(self) -> Path:
        """The node's main log file."""
        return self.data_dir / "log" / f"{self.name}.log"

    def env(self, home: Path) -> dict[str, str]:
        """The environment of this node's server and of rabbitmqctl talking to it."""
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        return keep | {
            "HOME": str(home),  # .erlang.cookie: the cluster's own
            "RABBITMQ_CONF_ENV_FILE": str(self.data_dir / "rabbitmq-env.conf"),  # not /etc/rabbitmq's
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.data_dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.data_dir / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.data_dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.data_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.data_dir / "log"),
            "RABBITMQ_PID_FILE": str(self.data_dir / "rabbitmq.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": LOCAL_DIST,
            # the script then execs the Erlang VM (as under systemd) instead of running it as its child: the
            # process we hold is the node itself, so SIGKILL kills the node (not only the script, orphaning it)
            "RUNNING_UNDER_SYSTEMD": "true",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def config(self, peers: list[str], queue_type: str, prefetch: int) -> str:
        """The node's rabbitmq.conf (new-style) text."""
        lines = [
            f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}",
            f"mqtt.listeners.tcp.default = 127.0.0.1:{self.mqtt_port}",
            "mqtt.allow_anonymous = true",  # a benchmark broker on 127.0.0.1 (guest, allowed from loopback only)
            f"mqtt.durable_queue_type = {queue_type}",
            # QoS 1 messages in flight to one subscriber (the plugin's default is 10, which throttles a consumer)
            f"mqtt.prefetch = {prefetch}",
            "log.console = false",
            "log.file.level = warning",
            "disk_free_limit.absolute = 50MB",
        ]
        if len(peers) > 1:
            lines.append("cluster_formation.peer_discovery_backend = classic_config")
            lines += [f"cluster_formation.classic_config.nodes.{i + 1} = {p}" for i, p in enumerate(peers)]
        return "\n".join(lines) + "\n"

    def start(self, home: Path, config: str) -> None:
        """Write the files and start the node (readiness is the cluster's business)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "rabbitmq-env.conf").write_text("")
        (self.data_dir / "rabbitmq.conf").write_text(config)
        (self.data_dir / "advanced.config").write_text("[].\n")
        (self.data_dir / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        out = (self.data_dir / "stdout.log").open("ab")
        # cwd: where Erlang writes erl_crash.dump and MnesiaCore files, never the caller's folder
        self.process = subprocess.Popen([_script("rabbitmq-server")], env=self.env(home), stdout=out,
                                        stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, cwd=self.data_dir)
        out.close()

    def accepts(self) -> bool:
        """True when the node's MQTT listener accepts connections (the plugin starts last, after the cluster)."""
        return port_in_use(self.mqtt_port)

    def why_exited(self) -> str:
        """The end of its console output and log."""
        return (log_tail(self.data_dir / "stdout.log", 600) + "\n" + log_tail(self.log, 600)).strip()

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (RabbitMQ shuts down cleanly) or SIGKILL (kill=True: a node that dies)."""
        stop_process(self.process, signal.SIGKILL if kill else signal.SIGTERM, grace_s=30)


@dataclass
class RabbitCluster:
    """`size` RabbitMQ nodes with the MQTT plugin, clustered when size > 1."""

    data_dir: Path
    size: int = 1
    queue_type: str = "quorum"
    prefetch: int = 1000
    nodes: list[RabbitNode] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(3))

    @property
    def home(self) -> Path:
        """The HOME of every node and of rabbitmqctl: holds the cluster's Erlang cookie."""
        return self.data_dir / "home"

    @property
    def urls(self) -> list[str]:
        """The MQTT URLs of every node, in order."""
        return [n.url for n in self.nodes]

    def start(self) -> RabbitCluster:
        """Allocate ports, write configs, start every node and wait until each serves MQTT."""
        if self.queue_type not in ("quorum", "classic"):
            raise ValueError(f"queue_type is quorum or classic, not {self.queue_type!r}")
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(16).upper())
            cookie.chmod(0o400)
        allocate = not self.nodes
        for attempt in range(PORT_ATTEMPTS):
            if allocate:
                self.nodes = [RabbitNode(f"hub{self.token}-n{i + 1}@localhost", self.data_dir / f"n{i + 1}",
                                         free_port(), free_port(), free_port()) for i in range(self.size)]
            try:
                self._start_nodes()
                return self
            except BrokerError as exc:
                self.stop(kill=True)  # no node left running behind a failed start
                # a port chosen free can be taken before the node binds it (tests run side by side): fresh ports
                if not allocate or not PORT_TAKEN.search(str(exc)) or attempt == PORT_ATTEMPTS - 1:
                    raise
                for node in self.nodes:
                    shutil.rmtree(node.data_dir, ignore_errors=True)
        raise AssertionError("unreachable")

    def _start_nodes(self) -> None:
        peers = [n.name for n in self.nodes]
        for node in self.nodes:
            node.start(self.home, node.config(peers, self.queue_type, self.prefetch))
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        for node in self.nodes:
            self._wait(node, deadline)

    def _wait(self, node: RabbitNode, deadline: float) -> None:
        assert node.process is not None
        wait_ready(node.process, node.accepts, node.why_exited, f"rabbitmq {node.name}",
                   max(0.1, deadline - time.monotonic()), lambda: None, poll_s=0.2)

    def ctl(self, *args: str, node: RabbitNode | None = None, timeout_s: float = 60.0) -> str:
        """Run rabbitmqctl against a node (the first running one by default); its standard output."""
        target = node or next(n for n in self.nodes if n.running)
        done = subprocess.run([_script("rabbitmqctl"), "-n", target.name, "-q", *args], env=target.env(self.home),
                              capture_output=True, timeout=timeout_s, check=False, cwd=target.data_dir)
        if done.returncode != 0:
            raise BrokerError(f"rabbitmqctl {' '.join(args)} failed", done.stderr.decode(errors="replace")[-500:])
        return done.stdout.decode(errors="replace")

    def running_nodes(self) -> list[str]:
        """The nodes the cluster says are running (rabbitmqctl cluster_status)."""
        out = self.ctl("cluster_status", "--formatter", "json")
        return sorted(json.loads(out).get("running_nodes", []))

    def queues(self) -> list[dict[str, Any]]:
        """Name, type, durability, messages and leader of every queue (rabbitmqctl list_queues)."""
        out = self.ctl("list_queues", "name", "type", "durable", "messages", "leader", "members", "--formatter",
                       "json")
        return list(json.loads(out))

    def kill(self, node: RabbitNode) -> None:
        """SIGKILL one node."""
        node.stop(kill=True)

    def stop(self, kill: bool = False) -> None:
        """Stop every node."""
        for node in self.nodes:
            with contextlib.suppress(OSError):
                node.stop(kill)

    def remove(self) -> None:
        """Delete the data folder (after stop)."""
        shutil.rmtree(self.data_dir, ignore_errors=True)
