"""End to end through a real Mosquitto and the hub as a real process: nothing lost, nothing doubled."""

from __future__ import annotations

import threading
import time
from collections import Counter

import orjson
import paho.mqtt.client as mqtt
import pytest
from corpus import malformed, register_corpus_devices
from hubproc import HubProcess
from paho.mqtt.enums import CallbackAPIVersion

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community
from simulators.runner import SimOptions, Simulation

pytestmark = pytest.mark.integration


def _community_hub(hub_factory, residents: int = 20, terminals: int = 20):
    hub: HubProcess = hub_factory()
    community = build_community(residents=residents, terminals=terminals, villages=5, seed=11)
    registry = Registry(StateDB(hub.data_dir / "state.sqlite"))
    community.register(registry)
    register_corpus_devices(registry)
    return hub, community


def test_ten_thousand_simulated_readings_stored_exactly_once(mosquitto: Mosquitto, hub_factory) -> None:
    hub, community = _community_hub(hub_factory)
    assert len(community.devices) >= 100
    hub.start()
    sim = Simulation(community, "127.0.0.1", mosquitto.port, SimOptions(seed=3))
    sim.fleet.connect()
    sim.burst(10_000, start_ts=time.time() - 3600)
    sim.fleet.close()
    assert hub.wait_total(10_000) == 10_000
    assert hub.stop() == 0
    assert hub.stored_rows() == (10_000, 10_000)


def test_hub_killed_mid_stream_loses_and_doubles_nothing(mosquitto: Mosquitto, hub_factory) -> None:
    hub, community = _community_hub(hub_factory)
    hub.start()
    sim = Simulation(community, "127.0.0.1", mosquitto.port, SimOptions(seed=5))
    sim.fleet.connect()
    total = 20_000
    publisher = threading.Thread(target=sim.burst, args=(total, time.time() - 3600))
    publisher.start()
    assert hub.wait_stored(3000, timeout_s=60) >= 3000
    hub.kill()  # SIGKILL mid-stream: no shutdown code runs
    publisher.join(timeout=120)
    sim.fleet.close()
    assert sim.fleet.acked == sim.fleet.published  # the broker took everything while the hub was dead
    hub.start()  # same data folder, same client id: the broker resumes the session
    assert hub.wait_total(total, timeout_s=90) == total
    time.sleep(1.0)  # anything redelivered late would now show up as a duplicate row
    assert hub.stop() == 0
    assert hub.stored_rows() == (total, total)


def _raw_client(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="corpus-publisher")
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_malformed_corpus_is_dead_lettered_while_good_traffic_flows(mosquitto: Mosquitto, hub_factory) -> None:
    hub, community = _community_hub(hub_factory)
    hub.start()
    # the hub subscribes to its two domains only: a topic elsewhere never reaches it
    corpus = [c for c in malformed() if c[1].startswith(("eldercare/", "disaster/"))]
    assert len(corpus) >= 20
    sim = Simulation(community, "127.0.0.1", mosquitto.port, SimOptions(seed=9))
    sim.fleet.connect()
    good = threading.Thread(target=sim.burst, args=(3000, time.time() - 3600))
    good.start()
    bad = _raw_client(mosquitto.port)
    for _ in range(3):
        for _name, topic, payload, _reason in corpus:
            bad.publish(topic, payload, qos=1).wait_for_publish(5)
    good.join(timeout=60)
    sim.fleet.close()
    bad.loop_stop()
    assert hub.wait_total(3000) == 3000
    expected = Counter({reason: 0 for *_, reason in corpus})
    for *_, reason in corpus:
        expected[reason] += 3
    deadline = time.monotonic() + 20
    while hub.get("/api/stats")["dead_letters"] != dict(expected) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert hub.get("/api/stats")["dead_letters"] == dict(expected)
    letters = hub.get("/api/dead-letters", limit=1000)
    assert len(letters) == 3 * len(corpus)
    assert all(letter["reason"] and letter["detail"] and letter["topic"] for letter in letters)
    assert hub.get("/health")["status"] == "ok"
    # the hub is still alive and ingesting after all of that
    hub_device = community.devices[0]
    fresh = _raw_client(mosquitto.port)
    body = {"ts": time.time(), "seq": 10_000_000, "battery": 50}
    topic = f"eldercare/{hub_device.device_id}/telemetry"
    fresh.publish(topic, orjson.dumps(body), qos=1).wait_for_publish(5)
    fresh.loop_stop()
    assert hub.wait_total(3001) == 3001


def test_messages_with_mqtt5_properties_take_paho_s_path_and_are_stored_once(mosquitto: Mosquitto, hub_factory) -> None:
    """The fast path hands PUBLISH packets with properties to paho: a mixed stream is still stored exactly once."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    hub, community = _community_hub(hub_factory)
    hub.start()
    wearable = next(d for d in community.devices if d.family == "wearable")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="props-publisher", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    tagged = Properties(PacketTypes.PUBLISH)
    tagged.UserProperty = ("gateway", "gw-7")
    t0 = time.time() - 600
    infos = []
    for seq in range(600):
        body = orjson.dumps({"ts": t0 + seq, "seq": seq, "heart_rate": 70, "acc_hz": 50,
                             "acc": [[0.0, 0.0, 1.0]] * (1024 if seq % 7 == 0 else 1)})  # fmt: skip
        props = tagged if seq % 3 == 0 else None
        infos.append(client.publish(f"eldercare/{wearable.device_id}/telemetry", body, qos=1, properties=props))
    for info in infos:
        info.wait_for_publish(10)
    client.loop_stop()
    assert hub.wait_total(600) == 600
    assert hub.stop() == 0
    assert hub.stored_rows() == (600, 600)
