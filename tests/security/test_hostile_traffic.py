"""Hostile traffic through a real Mosquitto: a flooding device is limited, replays are stored once, the corpus is
dead-lettered, and the other devices' readings all arrive."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest
from corpus import register_corpus_devices
from hostile import flood, hostile_corpus
from hubproc import HubProcess

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community
from simulators.runner import SimOptions, Simulation

pytestmark = pytest.mark.integration
RATE, BURST = 50.0, 500.0


def test_flood_replay_and_corpus_leave_good_traffic_whole(mosquitto: Mosquitto, hub_factory) -> None:
    hub: HubProcess = hub_factory(env={"HUB_INGEST__DEVICE_RATE_PER_S": str(RATE),
                                       "HUB_INGEST__DEVICE_BURST": str(BURST)})
    community = build_community(residents=15, terminals=5, villages=3, seed=21)
    registry = Registry(StateDB(hub.data_dir / "state.sqlite"))
    community.register(registry)
    register_corpus_devices(registry)
    hub.start()
    flooder = community.devices[0].device_id  # a real, registered wearable gone rogue
    stop = threading.Event()
    started = time.monotonic()
    attack = threading.Thread(target=flood, args=(mosquitto.port, flooder, 20_000, stop))
    attack.start()
    corpus_sent = hostile_corpus(mosquitto.port, rounds=2)
    sim = Simulation(community, "127.0.0.1", mosquitto.port, SimOptions(seed=21, with_acc=False))
    sim.devices = [d for d in sim.devices if d.record.device_id != flooder]
    sim.fleet.devices.pop(flooder)
    sim.fleet.connect()
    good = 4000
    sim.burst(good, time.time() - 3600)
    sim.burst(good // 4, time.time() - 1800)  # the same devices again ...
    for dev in sim.devices:
        dev.seq = 0  # ... then a replay of their first messages: duplicates, stored once
    sim.burst(good // 4, time.time() - 3600)
    sim.fleet.close()
    attack.join(timeout=120)
    elapsed = time.monotonic() - started
    stats = hub.stats()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and stats["received"] < 20_000 + corpus_sent + good * 3 // 2:
        time.sleep(0.2)
        stats = hub.stats()
    flooder_cap = BURST + RATE * (elapsed + 5)
    assert stats["rejected"]["rate_limited"] >= 20_000 - flooder_cap
    assert stats["duplicates"] >= good // 4
    letters = hub.get("/api/stats")["dead_letters"]
    assert sum(n for reason, n in letters.items() if reason != "rate_limited") == corpus_sent
    assert 1 <= letters["rate_limited"] <= (time.monotonic() - started) / 10 + 2  # sampled, not 19,000 rows
    assert hub.stop() == 0
    rows, distinct = hub.stored_rows()
    assert rows == distinct  # nothing twice
    con = duckdb.connect(str(hub.data_dir / "telemetry.duckdb"), read_only=True)
    per_source = dict(con.execute("SELECT device_id = ?, count(*) FROM readings GROUP BY 1", [flooder]).fetchall())
    con.close()
    assert per_source[False] == good + good // 4  # every good reading, once
    assert per_source[True] <= flooder_cap  # the flood, capped
