"""Scale-out (issue 7): two hub workers on topic shards of one Mosquitto, one InfluxDB and one PostgreSQL, all real.

Every reading is stored exactly once, each device is handled by the one worker its hash names, and an alert raised
on worker A reaches the websocket of a console connected to worker B (through `hub/events/#`).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hubproc import TEST_USER, HubProcess
from websockets.sync.client import connect

from dashboard.auth import StaffAuth
from dashboard.auth_api import COOKIE
from devices.models import Family
from devices.registry import Registry
from devices.statedb.postgres import PgStateDB
from hub.broker import Mosquitto
from hub.influxd import Influxd
from ingest.shards import shard_of
from simulators.community import build_community
from simulators.runner import SimOptions, Simulation

READINGS = 5000
WORKERS = 2


def _influx_per_device(influxdb: Influxd, db: str) -> dict[str, tuple[int, int]]:
    """(count, sum of seq) per device, straight from InfluxDB."""
    q = "SELECT COUNT(seq), SUM(seq) FROM readings GROUP BY device_id"
    body = httpx.post(f"{influxdb.url}/query", data={"q": q, "db": db}, timeout=30).json()["results"][0]
    return {s["tags"]["device_id"]: (int(s["values"][0][1]), int(s["values"][0][2])) for s in body.get("series", [])}


def _prepare_state(url: str, folder: Path) -> Any:
    """Register the community once, in PostgreSQL, with the tests' staff account."""
    community = build_community(residents=30, terminals=10, villages=3, seed=11)
    db = PgStateDB(url, folder)
    try:
        community.register(Registry(db))
        StaffAuth(db).add_user(*TEST_USER, role="admin")
    finally:
        db.close()
    return community


def _detection_frame(
    hub: HubProcess, device_id: str, timeout_s: float, trigger: Callable[[], None]
) -> dict[str, Any] | None:
    """Listen on `hub`'s websocket, then `trigger()`, and wait for the detection frame of one device."""
    headers = {"Cookie": f"{COOKIE}={hub.cookies[COOKIE]}"}
    deadline = time.monotonic() + timeout_s
    with connect(f"ws://127.0.0.1:{hub.port}/ws", additional_headers=headers) as ws:
        trigger()  # only now: a frame relayed before the socket listened would be missed
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                frame = orjson.loads(ws.recv(timeout=max(0.05, deadline - time.monotonic())))
                if frame["type"] == "detection" and frame["data"]["device_id"] == device_id:
                    return frame["data"]
    return None


@pytest.mark.integration
@pytest.mark.timeout(150)
def test_two_workers_share_the_traffic_and_the_alerts(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: Influxd, postgres: str, hub_factory: Callable[..., HubProcess]
) -> None:
    community = _prepare_state(postgres, tmp_path / "setup")
    assert len(community.devices) >= 100
    common = {
        "HUB_STORE__BACKEND": "influxdb",
        "HUB_STORE__INFLUX_URL": influxdb.url,
        "HUB_STORE__INFLUX_DB": "hub",
        "HUB_STORE__STATE_URL": postgres,
    }
    workers = [
        hub_factory(tmp_path / f"w{i}", client_id=f"hub-w{i}", env=common | {"HUB_MQTT__SHARD": f"{i}/2"})
        for i in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    sim = Simulation(community, "127.0.0.1", mosquitto.port, SimOptions(seed=3, with_acc=False))
    sim.fleet.connect()
    t0 = time.monotonic()
    sim.burst(READINGS, time.time() - 3600)
    expected = {d.record.device_id: (d.seq, d.seq * (d.seq + 1) // 2) for d in sim.devices if d.seq}
    per_worker: Counter[int] = Counter()
    for device_id, (count, _) in expected.items():
        per_worker[shard_of(device_id, WORKERS)] += count
    deadline = time.monotonic() + 60
    while sum(w.stats()["stored"] for w in workers) < READINGS and time.monotonic() < deadline:
        time.sleep(0.2)
    stored = [w.stats()["stored"] for w in workers]
    print(f"two workers stored {stored} of {READINGS} in {time.monotonic() - t0:.1f} s")
    assert stored == [per_worker[i] for i in range(WORKERS)]  # each device on the worker its hash names
    assert all(stored) and sum(stored) == READINGS
    assert _influx_per_device(influxdb, "hub") == expected  # every reading once: count and seq checksum
    assert [w.stats()["duplicates"] for w in workers] == [0, 0]

    wearable = next(
        d
        for d in sim.devices
        if d.record.family == Family.WEARABLE.value and shard_of(d.record.device_id, WORKERS) == 0
    )
    device_id = wearable.record.device_id
    sos = {"ts": time.time(), "seq": 1_000_000, "event": "sos"}

    def press_sos() -> None:
        sim.fleet.publish(device_id, f"eldercare/{device_id}/event", orjson.dumps(sos))
        sim.fleet.pump(0.5)

    frame = _detection_frame(workers[1], device_id, timeout_s=15, trigger=press_sos)
    assert frame is not None and frame["kind"] == "sos" and frame["worker"] == "hub-w0"
    shared = workers[1].get("/api/detections", limit=1000)  # the alert state is shared: B lists what A stored
    assert any(d["device_id"] == device_id and d["kind"] == "sos" for d in shared)
    with contextlib.suppress(KeyError):  # Fleet.close can re-register a reused socket fd (simulators/fleet.py)
        sim.fleet.close()
    assert [w.stop() for w in workers] == [0, 0]
