"""The store-outage spool (issue 7): pure tests of the on-disk FIFO, then drainer and hub against a real influxd."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from hubproc import HubProcess
from sos import SOS_DEVICES, check_alerts_once, press_sos, register, wait_sos

from devices.models import Family, Reading
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from hub.influxd import Influxd
from ingest.spool import Spool, encode
from ingest.spool_drain import SpoolDrainer
from ingest.store.influx import InfluxStore
from simulators.community import build_community
from simulators.runner import SimOptions, Simulation


def _batch(device: str, first_seq: int, n: int = 10) -> list[Reading]:
    return [
        Reading(device, Family.WEARABLE, 1.7e9 + s, s, {"heart_rate": 60.0 + s % 30})
        for s in range(first_seq, first_seq + n)
    ]


def test_batches_come_out_in_order_and_whole(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", 1 << 20)
    assert spool.empty and spool.peek(100) == ([], [])
    for i in range(5):
        assert spool.append(_batch("W1", i * 10))
    ids, readings = spool.peek(25)  # whole batches only, as many as fit
    assert len(ids) == 2 and [r.seq for r in readings] == list(range(20))
    assert readings[3] == Reading("W1", Family.WEARABLE, 1.7e9 + 3, 3, {"heart_rate": 63.0})
    spool.remove(ids)
    ids, readings = spool.peek(5)  # at least one batch, even if larger than asked
    assert [r.seq for r in readings] == list(range(20, 30))
    assert spool.stats.batches == 3 and spool.stats.drained_batches == 2
    spool.close()


def test_spool_survives_reopen_and_seeds_dedup(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", 1 << 20)
    spool.append(_batch("W1", 0))
    spool.append(_batch("W2", 100, 3))
    size = spool.stats.bytes
    spool.close()
    again = Spool(tmp_path / "spool.sqlite", 1 << 20)
    assert (again.stats.batches, again.stats.bytes) == (2, size)
    assert [r.seq for r in again.peek(1000)[1]] == [*range(10), 100, 101, 102]
    seqs = again.device_seqs()
    assert seqs["W2"] == ([100, 101, 102], 1.7e9 + 102)
    again.remove(again.peek(1000)[0])
    again.close()
    assert Spool(tmp_path / "spool.sqlite", 1 << 20).empty


def test_bound_alarm_and_full(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    one = len(encode(_batch("W1", 0)))
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=10 * one)
    with caplog.at_level(logging.WARNING, "ingest.spool"):
        for i in range(7):
            assert spool.append(_batch("W1", i * 10))
        assert not spool.stats.alarm
        assert spool.append(_batch("W1", 70))  # 8 of 10: the alarm
        assert spool.stats.alarm and "SPOOL ALARM" in caplog.text
        assert spool.append(_batch("W1", 80)) and spool.append(_batch("W1", 90))
        assert not spool.append(_batch("W1", 100))  # full: refused, nothing written
        assert spool.stats.batches == 10 and spool.stats.bytes == 10 * one
        spool.remove(spool.peek(3 * 10)[0])
        assert not spool.stats.alarm and "alarm cleared" in caplog.text
    spool.close()


def test_an_empty_spool_takes_a_batch_larger_than_its_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=100)
    assert spool.append(_batch("W1", 0, 50))
    assert not spool.append(_batch("W1", 50, 1))
    spool.close()


def test_drainer_holds_batches_while_influxdb_is_down_then_writes_them_once(tmp_path: Path, influxdb: Influxd) -> None:
    store = InfluxStore(influxdb.url, "drain", timeout_s=2.0)
    influxdb.stop(kill=True)
    spool = Spool(tmp_path / "spool.sqlite", 1 << 20)
    writer = ThreadPoolExecutor(max_workers=1)
    drainer = SpoolDrainer(spool, store, writer, drain_max=25)

    async def scenario() -> None:
        task = asyncio.create_task(drainer.run())
        for i in range(10):
            await drainer.put(_batch("W1", i * 10))
        await asyncio.sleep(0.5)
        assert spool.stats.batches == 10  # nothing lost, nothing removed while the store is down
        await asyncio.to_thread(influxdb.start)  # same ports and folder
        deadline = time.monotonic() + 20
        while not spool.empty and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.wait([task])

    asyncio.run(scenario())
    assert spool.empty and spool.stats.drained_batches == 10
    assert [r.seq for r in store.range("W1", 0, 2e9)] == list(range(100))
    drainer.close()
    writer.shutdown()
    store.close()


def _influx_per_device(influxdb: Influxd, db: str) -> dict[str, tuple[int, int]]:
    """(count, sum of seq) per device, straight from InfluxDB."""
    q = "SELECT COUNT(seq), SUM(seq) FROM readings GROUP BY device_id"
    body = httpx.post(f"{influxdb.url}/query", data={"q": q, "db": db}, timeout=30).json()["results"][0]
    return {s["tags"]["device_id"]: (int(s["values"][0][1]), int(s["values"][0][2])) for s in body.get("series", [])}


def _spool_stats(hub: HubProcess) -> dict[str, Any]:
    return hub.get("/health")["ingest"]["spool"]  # /api/stats asks the store too


@pytest.mark.integration
def test_influxdb_down_30_s_mid_stream_every_reading_stored_once(
    mosquitto: Mosquitto, influxdb: Influxd, hub_factory: Callable[..., HubProcess]
) -> None:
    env = {"HUB_STORE__BACKEND": "influxdb", "HUB_STORE__INFLUX_URL": influxdb.url, "HUB_STORE__INFLUX_DB": "hub"}
    hub = hub_factory(env=env)
    community = build_community(residents=20, terminals=20, villages=5, seed=11)
    registry = Registry(StateDB(hub.data_dir / "state.sqlite"))
    community.register(registry)
    register(registry, SOS_DEVICES)  # and SOS presses while InfluxDB is down: every one is one alert
    hub.start()
    sim = Simulation(community, "127.0.0.1", mosquitto.port, SimOptions(seed=3, with_acc=False))
    sim.fleet.connect()
    chunks, chunk = 36, 600  # one chunk a second: a 36 s stream
    span = chunk // len(sim.devices) + 1  # simulated seconds per chunk, so device times never repeat
    start = time.time() - 3600

    def stream() -> None:
        t0 = time.monotonic()
        for k in range(chunks):
            sim.burst(chunk, start + k * span)
            time.sleep(max(0.0, t0 + k + 1 - time.monotonic()))

    publisher = threading.Thread(target=stream)
    publisher.start()
    assert hub.wait_stored(1500, timeout_s=20) >= 1500
    influxdb.stop(kill=True)  # SIGKILL mid-stream
    down_at = time.monotonic()
    pressed = threading.Event()
    presser = threading.Thread(target=press_sos, args=(mosquitto.port, start + 1800, pressed))
    presser.start()
    time.sleep(10)
    spooled = _spool_stats(hub)
    assert spooled["batches"] > 0 and not spooled["alarm"]
    stored_while_down = hub.get("/health")["ingest"]["stored"]
    time.sleep(max(0.0, down_at + 30 - time.monotonic()))
    assert hub.get("/health")["ingest"]["stored"] > stored_while_down  # ingest (and acking) kept going
    influxdb.start()  # same ports, same data folder
    back_at = time.monotonic()
    publisher.join(timeout=60)
    presser.join(timeout=60)
    assert pressed.is_set()
    with contextlib.suppress(KeyError):  # Fleet.close can re-register a reused socket fd (simulators/fleet.py)
        sim.fleet.close()
    total = chunks * chunk
    assert sim.fleet.acked == sim.fleet.published  # the broker took every publish (and availability message)
    assert sum(d.seq for d in sim.devices) == total
    deadline = time.monotonic() + 30
    while (_spool_stats(hub)["batches"] or hub.stored_total() < total) and time.monotonic() < deadline:
        time.sleep(0.2)
    drained = _spool_stats(hub)["drained_batches"]
    print(f"spool: {drained} batches drained {time.monotonic() - back_at:.1f} s after influxd restarted")
    time.sleep(1.0)  # a late redelivery would show up now
    expected = {d.record.device_id: (d.seq, d.seq * (d.seq + 1) // 2) for d in sim.devices if d.seq}
    assert _influx_per_device(influxdb, "hub") == expected
    assert hub.stored_total() == total
    assert _spool_stats(hub)["drained_batches"] > 0
    wait_sos(hub.data_dir)
    assert hub.stop() == 0
    check_alerts_once(hub.data_dir)
