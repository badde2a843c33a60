"""Benchmark (issue 20, sizing inputs): store write rates and bytes per reading on disk, each next to a baseline from
the same run.

InfluxDB (the real `influxd` of hub/influxd.py, Debian's 1.6.7):
- points/s through the hub's store writer (`InfluxStore.write`: line-protocol encoding and one /write per batch) at
  several batch sizes, next to the same points pre-encoded and POSTed raw (the server's rate for one client): the
  ratio is what the hub's encoder costs. The hub writes batches of up to HUB_INGEST__BATCH_MAX (5,000) readings,
  flushed every 50 ms, so a worker at 1,000 readings/s writes batches of about 50;
- the server's rate with `--clients` raw writers in parallel (several workers writing to one InfluxDB);
- bytes on disk per reading: D wearables x S seconds of the simulator's wearable readings (kind "full": vitals,
  battery, position, steps and the peak |a| of its accelerometer window, every metric the hub stores of the
  simulator's 1 Hz message; kind "acc": a message with the window alone, of which the store keeps the peak), device
  time 1 s apart with a few ms of jitter, written, then snapshotted from the WAL into TSM files and fully compacted
  (the config makes both happen within seconds), twice: the growth of the data folder (TSM and tsi1 index) over
  the second step's points is the cost of one more reading, next to the line protocol it was sent as.
PostgreSQL (hub/pgserver.py with fsync and synchronous_commit on, DURABLE; and again with the test server's fsync
off, which isolates the disk's flush latency) next to the hub's default SQLite state database (WAL,
synchronous=NORMAL, which does not flush each commit), same code, same run:
- alerts/s: detections through the hub's sinks in order (DetectionLog, then IncidentService), each opening an
  incident for its resident (a detection row, an incident, its alert and an audit row), then a second alert for each
  that joins the open incident (update, alert, audit);
- device messages/s (SOS keys, green keys, village reports: Journal.write, keyed by device and seq) in batches;
- pending-fall writes/s (PendingFallStore.save, one per fall, as the fall detector saves them before the ack).

Run from the repository root: .venv/bin/python -m bench.store_writes [--points 40000] [--devices 500]
[--disk-kinds full,acc] [--disk-devices 20] [--seconds 1000] [--alerts 200] [--clients 4] [--skip-influx]
[--skip-postgres]
The last line is JSON with every figure and ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from alerts.detection import Detection, Severity
from alerts.falls.flow import PendingFall
from alerts.falls.store import PendingFallStore
from alerts.incidents.service import IncidentService
from alerts.log import DetectionLog
from devices.models import DeviceEvent, Family, Reading
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.schemas import STORED_METRICS
from devices.statedb.postgres import PgStateDB
from devices.statedb.sqlite import StateDB
from hub.influxd import Influxd
from hub.pgserver import DURABLE, SETTINGS, PostgresServer
from ingest.journal import Journal
from ingest.store.influx import InfluxStore
from ingest.store.line_protocol import encode
from simulators.telemetry import SimDevice, _acc_window, wearable_payload

BATCHES = (50, 500, 5000)
# InfluxDB 1.x keeps new points in its WAL and cache, snapshots a cold cache into TSM files and compacts them fully
# after hours by default; these make both happen within seconds, so the bytes on disk are the long-term ones.
FAST_COMPACTION = ('index-version = "tsi1"', 'cache-snapshot-write-cold-duration = "1s"',
                   'compact-full-write-cold-duration = "2s"')


def wearables(count: int, prefix: str, seed: int = 7) -> list[SimDevice]:
    """`count` simulated wearables (their own rng, resting heart rate and position)."""
    rng = random.Random(seed)
    return [SimDevice(DeviceRecord(f"{prefix}{i:06d}", "wearable", "wearable", resident_id=f"R{i}"),
                      28.2 + rng.uniform(-0.3, 0.3), 112.9 + rng.uniform(-0.3, 0.3), random.Random(rng.getrandbits(32)),
                      baseline_hr=rng.gauss(72, 6)) for i in range(count)]


def peaks(rng: random.Random, count: int = 2000) -> list[float]:
    """Peak |a| of `count` simulated accelerometer windows (drawn from, rather than one window per reading: speed)."""
    out = []
    for _ in range(count):
        window = _acc_window(rng, rng.random() < 0.3)
        out.append(max((x * x + y * y + z * z) ** 0.5 for x, y, z in window))
    return out


def readings(devices: list[SimDevice], seconds: int, t0: float, pool: list[float], kind: str = "full") -> list[Reading]:
    """Every device's 1 Hz wearable readings over `seconds`, as the hub's decoder makes them (values as floats).

    kind "full": the simulator's message (vitals, battery, position, steps and the window's peak |a|); "acc": a
    message carrying only the accelerometer window (its peak |a| is all the store keeps of it)."""
    rng = random.Random(11)
    out = []
    offsets = [rng.uniform(0, 1) for _ in devices]
    for s in range(seconds):
        for dev, offset in zip(devices, offsets, strict=True):
            t = t0 + s + offset + rng.gauss(0, 0.004)  # a device's clock ticks with a few ms of jitter
            body = wearable_payload(dev, t, with_acc=False)
            values = {k: float(body[k]) for k in STORED_METRICS if k in body} if kind == "full" else {}
            values["acc_peak_g"] = round(rng.choice(pool), 4)
            out.append(Reading(dev.record.device_id, Family.WEARABLE, body["ts"], body["seq"], values))
    return out


def rate(count: int, work: Callable[[], None]) -> float:
    """count / seconds taken by work()."""
    t0 = time.perf_counter()
    work()
    return count / (time.perf_counter() - t0)


def raw_writes(url: str, bodies: list[bytes], db: str) -> None:
    """POST pre-encoded bodies to /write, one after the other (the baseline client)."""
    with httpx.Client(base_url=url, timeout=60) as http:
        for body in bodies:
            answer = http.post("/write", params={"db": db, "precision": "ns"}, content=body)
            if answer.status_code >= 300:
                raise RuntimeError(f"/write answered {answer.status_code}: {answer.text[:200]}")


def interleaved(url: str, store: InfluxStore, raw: list[Reading], hub: list[Reading],
                batch: int) -> tuple[float, float]:
    """Seconds spent by the raw client and by the hub's writer, batch by batch in turn (so load drift hits both)."""
    raw_s = hub_s = 0.0
    with httpx.Client(base_url=url, timeout=60) as http:
        for i in range(0, max(len(raw), len(hub)), batch):
            body = encode(raw[i:i + batch])
            t0 = time.perf_counter()
            answer = http.post("/write", params={"db": "raw", "precision": "ns"}, content=body)
            t1 = time.perf_counter()
            store.write(hub[i:i + batch])
            hub_s += time.perf_counter() - t1
            raw_s += t1 - t0
            if answer.status_code >= 300:
                raise RuntimeError(f"/write answered {answer.status_code}: {answer.text[:200]}")
    return raw_s, hub_s


def data_bytes(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def wait_compacted(server: Influxd, timeout_s: float = 60.0) -> None:
    """Until the WAL is empty of points and the TSM files stop changing."""
    wal, data = server.data_dir / "wal", server.data_dir / "data"
    deadline, last, steady = time.monotonic() + timeout_s, -1, 0
    while time.monotonic() < deadline:
        time.sleep(1.0)
        tsm = sorted((p.name, p.stat().st_size) for p in data.rglob("*.tsm"))
        size = hash(tuple(tsm))
        walsize = sum(p.stat().st_size for p in wal.rglob("*.wal"))
        steady = steady + 1 if size == last and walsize < 4096 and tsm else 0
        last = size
        if steady >= 3:
            return


def influx_figures(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Write rates by batch size and the bytes per reading on disk."""
    out: dict[str, Any] = {}
    pool = peaks(random.Random(3))
    server = Influxd(tmp / "influxdb", data_settings=FAST_COMPACTION).start()
    try:
        store = InfluxStore(server.url, "hub")
        httpx.post(f"{server.url}/query", data={"q": 'CREATE DATABASE "raw"'}, timeout=30)
        seconds = max(1, args.points // args.devices)
        t0 = time.time() - 86_400
        for batch in BATCHES:
            hub_points = readings(wearables(args.devices, f"H{batch}-"), seconds, t0, pool)
            raw_points = readings(wearables(args.devices, f"B{batch}-"), seconds, t0, pool)
            base_s, hub_s = interleaved(server.url, store, raw_points, hub_points, batch)
            base, hub = len(raw_points) / base_s, len(hub_points) / hub_s
            out[f"influx_raw_batch{batch}_per_s"] = round(base)
            out[f"influx_hub_batch{batch}_per_s"] = round(hub)
            out[f"influx_hub_batch{batch}_ratio"] = round(hub / base, 3)
            print(f"InfluxDB, batches of {batch}: hub writer {hub:,.0f} points/s, raw POST {base:,.0f} "
                  f"(ratio {hub / base:.2f})", flush=True)
        out |= parallel_rate(server, args, pool, t0, seconds)
        store.close()
    finally:
        server.stop()
    for kind in args.disk_kinds.split(","):
        out |= disk_per_reading(tmp, args, pool, kind)
    return out


def parallel_rate(server: Influxd, args: argparse.Namespace, pool: list[float], t0: float,
                  seconds: int) -> dict[str, Any]:
    """The server's points/s with `clients` raw writers at 5,000-point batches, next to one alone (same run)."""
    points = [readings(wearables(args.devices, f"P{c}-"), seconds, t0, pool) for c in range(args.clients)]
    bodies = [[encode(p[i:i + 5000]) for i in range(0, len(p), 5000)] for p in points]
    threads = [threading.Thread(target=raw_writes, args=(server.url, b, "raw")) for b in bodies]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    together = sum(len(p) for p in points) / (time.perf_counter() - start)
    print(f"InfluxDB, {args.clients} raw writers in parallel: {together:,.0f} points/s", flush=True)
    return {"influx_parallel_clients": args.clients, "influx_parallel_per_s": round(together)}


def disk_per_reading(tmp: Path, args: argparse.Namespace, pool: list[float], kind: str) -> dict[str, Any]:
    """Bytes in InfluxDB's data folder per stored wearable reading, after full compaction, on a fresh server.

    The same wearables write `seconds` of readings twice; the folder is measured after each, compacted. The second
    step's growth over its points is the cost of one more reading (what a day or a year of readings adds); the
    first step also holds what each series costs once (the tsi1 index, the shard's files).
    """
    server = Influxd(tmp / f"influx-disk-{kind}", data_settings=FAST_COMPACTION).start()
    devices = wearables(args.disk_devices, "W")
    sizes, counts, sent = [], [], 0
    try:
        store = InfluxStore(server.url, "hub")
        t0 = time.time() - 3 * 86_400
        for step in range(2):
            points = readings(devices, args.seconds, t0 + step * args.seconds, pool, kind)
            for i in range(0, len(points), 5000):
                store.write(points[i:i + 5000])
                sent += len(encode(points[i:i + 5000])) + 1
            wait_compacted(server)
            sizes.append(data_bytes(server.data_dir / "data"))
            counts.append(store.count())
        store.close()
    finally:
        server.stop()
    if counts[-1] != 2 * args.disk_devices * args.seconds:
        raise RuntimeError(f"InfluxDB holds {counts[-1]} points, {2 * args.disk_devices * args.seconds} written")
    marginal = (sizes[1] - sizes[0]) / (counts[1] - counts[0])
    line_bytes = sent / counts[-1]
    print(f"InfluxDB on disk, {kind} readings: {marginal:.2f} bytes per more reading ({args.disk_devices} wearables "
          f"at 1 Hz, "
          f"{args.seconds} s then {args.seconds} s more; {sizes[0] / counts[0]:.1f} bytes per reading after the first "
          f"step, series overhead included); line protocol sent {line_bytes:.0f} bytes a reading "
          f"(ratio {marginal / line_bytes:.3f})", flush=True)
    return {f"influx_disk_{kind}_points": counts[-1], f"influx_disk_{kind}_bytes_per_reading": round(marginal, 2),
            f"influx_disk_{kind}_first_step_bytes_per_reading": round(sizes[0] / counts[0], 2),
            f"influx_line_{kind}_bytes_per_reading": round(line_bytes, 1),
            f"influx_disk_{kind}_ratio": round(marginal / line_bytes, 4)}


class _Frames:
    """The live bus, counted and dropped."""

    def __init__(self) -> None:
        self.frames = 0

    def publish(self, kind: str, data: Any) -> None:
        self.frames += 1


def register(db: StateDB, count: int) -> list[str]:
    """`count` wearables, each of a resident in a home (what an alert's subject is looked up in)."""
    registry = Registry(db)
    for i in range(count):
        registry.add_home(Home(f"SH{i}", "bench", 28.2, 112.9), replace=True)
        registry.add_resident(Resident(f"SR{i}", "bench", f"SH{i}"), replace=True)
        registry.add_device(DeviceRecord(f"SW{i:05d}", "wearable", "wearable", resident_id=f"SR{i}",
                                         worn_at="wrist"), replace=True)
    return [f"SW{i:05d}" for i in range(count)]


def state_figures(db: StateDB, alerts: int, tag: str) -> dict[str, float]:
    """alerts/s (opening, then joining), device messages/s and pending-fall writes/s on one state database."""
    ids = register(db, alerts)
    registry = Registry(db)
    log, incidents = DetectionLog(db, _Frames()), IncidentService(db, registry)
    now = time.time()

    def alert_batch(kind: str, offset: float) -> list[Detection]:
        return [Detection("vitals", kind, f"SR{i}", device, now + offset + i * 0.001, Severity.CRITICAL, 0.9,
                          {"value": 88.0}, "bench") for i, device in enumerate(ids)]

    def sink(detections: list[Detection]) -> None:
        for i in range(0, len(detections), 50):  # the detector stage hands over what one batch of readings raised
            log(detections[i:i + 50])
            incidents.on_detections(detections[i:i + 50])

    opened = rate(alerts, lambda: sink(alert_batch("spo2_low", 0.0)))
    joined = rate(alerts, lambda: sink(alert_batch("heart_rate_high", 1.0)))
    journal = Journal(db)
    events = [DeviceEvent(ids[i % len(ids)], now + i * 0.01, 1_000_000 + i, "sos", {"key": "red"})
              for i in range(alerts * 5)]

    def write_events() -> None:
        for i in range(0, len(events), 100):  # the ingest stage's batches of events and reports
            journal.write([], events[i:i + 100])

    messages = rate(len(events), write_events)
    falls = PendingFallStore(db)
    pending = [PendingFall(device, now, now + 30, Detection("fall", "fall", f"SR{i}", device, now, Severity.CRITICAL),
                           {"wearable"}) for i, device in enumerate(ids)]

    def save_falls() -> None:
        for p in pending:  # the fall detector saves the falls a batch changed: one here
            falls.save({p.device_id: p})

    fall_rate = rate(len(pending), save_falls)
    counted = db.execute("SELECT count(*) AS n FROM incident_alerts")[0]["n"]
    if counted != 2 * alerts:
        raise RuntimeError(f"{tag}: {counted} incident alerts stored, {2 * alerts} expected")
    print(f"{tag}: alerts opening an incident {opened:,.0f}/s, joining one {joined:,.0f}/s, device messages "
          f"{messages:,.0f}/s, pending-fall writes {fall_rate:,.0f}/s", flush=True)
    return {"alerts_open_per_s": opened, "alerts_join_per_s": joined, "device_messages_per_s": messages,
            "pending_falls_per_s": fall_rate}


def postgres_figures(tmp: Path, alerts: int) -> dict[str, Any]:
    """The state writes on durable PostgreSQL next to SQLite, same run."""
    (tmp / "sqlite").mkdir()
    lite = StateDB(tmp / "sqlite" / "state.sqlite")
    base = state_figures(lite, alerts, "SQLite")
    lite.close()
    out: dict[str, Any] = {f"sqlite_{key}": round(value) for key, value in base.items()}
    for tag, settings in (("pg", DURABLE), ("pg_nosync", SETTINGS)):
        server = PostgresServer(settings=settings).start()
        try:
            pg = PgStateDB(server.create_database("hub"), tmp / tag)
            try:
                got = state_figures(pg, alerts, f"PostgreSQL ({'fsync on' if tag == 'pg' else 'fsync off'})")
            finally:
                pg.close()
        finally:
            server.stop()
        for key, value in got.items():
            out[f"{tag}_{key}"] = round(value)
            out[f"{tag}_{key.removesuffix('_per_s')}_ratio"] = round(value / base[key], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=40_000, help="points per batch size and writer")
    parser.add_argument("--devices", type=int, default=500, help="wearables the points come from")
    parser.add_argument("--disk-kinds", default="full,acc", help="full (vitals and peak |a|), acc (peak |a| alone)")
    parser.add_argument("--disk-devices", type=int, default=20, help="wearables for the disk figure")
    parser.add_argument("--seconds", type=int, default=1000,
                        help="seconds of 1 Hz readings per step of the disk figure (TSM blocks hold 1,000 points)")
    parser.add_argument("--clients", type=int, default=4, help="raw writers in parallel")
    parser.add_argument("--alerts", type=int, default=200, help="alerts (residents) for the state database")
    parser.add_argument("--skip-influx", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="hub-bench-store-") as folder:
        tmp = Path(folder)
        if not args.skip_influx:
            out |= influx_figures(tmp, args)
        if not args.skip_postgres:
            out |= postgres_figures(tmp, args.alerts)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
