"""Leased hub workers as real processes and a steady device stream, for the takeover tests (issue 20)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from hubproc import TEST_USER, HubProcess

from dashboard.auth import StaffAuth
from devices.registry import Registry
from devices.statedb.postgres import PgStateDB
from ingest.shards import virtual_shard_of
from simulators.community import Community
from simulators.runner import Simulation

SHARDS = 32


def prepare_state(url: str, folder: Path, community: Community,
                  extra: Callable[[Registry], None] | None = None) -> None:
    """Register the community once, in PostgreSQL, with the tests' staff account."""
    db = PgStateDB(url, folder)
    try:
        registry = Registry(db)
        community.register(registry)
        if extra is not None:
            extra(registry)
        StaffAuth(db).add_user(*TEST_USER, role="admin")
    finally:
        db.close()


def leases(url: str) -> dict[int, tuple[str, bool]]:
    """shard -> (owner, ready) as the lease table says now."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT shard, owner, ready FROM shard_leases").fetchall()
    return {int(r[0]): (str(r[1]), bool(r[2])) for r in rows}


def balanced(url: str, owners: Sequence[str]) -> bool:
    """True when every shard is held, ready, by exactly `owners`, each with its fair share or one less."""
    now = leases(url)
    if len(now) < SHARDS or not all(ready for _, ready in now.values()):
        return False
    counts = [sum(1 for owner, _ in now.values() if owner == o) for o in owners]
    fair = -(-SHARDS // len(owners))
    return {o for o, _ in now.values()} == set(owners) and all(fair - 1 <= c <= fair for c in counts)


def wait_for(check: Callable[[], bool], timeout_s: float, poll_s: float = 0.05) -> float | None:
    """Seconds until `check()` held, or None after `timeout_s`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if check():
            return time.monotonic() - t0
        time.sleep(poll_s)
    return None


def workers_env(state_url: str, influx_url: str) -> dict[str, str]:
    """The environment of a leased worker."""
    return {"HUB_STORE__BACKEND": "influxdb", "HUB_STORE__INFLUX_URL": influx_url, "HUB_STORE__INFLUX_DB": "hub",
            "HUB_STORE__STATE_URL": state_url, "HUB_MQTT__SHARDS": "auto"}


def shard_devices(url: str, owner: str, devices: Sequence[str]) -> set[str]:
    """The devices whose shard `owner` holds now."""
    mine = {s for s, (o, _) in leases(url).items() if o == owner}
    return {d for d in devices if virtual_shard_of(d, SHARDS) in mine}


class Stream:
    """Publishes readings round-robin over the simulation's devices at about `rate` a second until stopped."""

    def __init__(self, sim: Simulation, rate: float, start_ts: float) -> None:
        self.sim = sim
        self.rate = rate
        self.start_ts = start_ts
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.sent = 0
        self._thread = threading.Thread(target=self._run, name="stream")

    def start(self) -> Stream:
        """Start publishing in a thread."""
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            devices, t0 = self.sim.devices, time.monotonic()
            while not self.stop.is_set():
                dev = devices[self.sent % len(devices)]
                self.sim.publish_next(dev, self.start_ts + self.sent // len(devices))
                self.sent += 1
                if self.sent % 50 == 0:
                    self.sim.fleet.pump(0.0)
                    ahead = self.sent / self.rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
        except BaseException as exc:  # reported by finish()
            self.errors.append(exc)

    def finish(self, timeout_s: float = 60.0) -> None:
        """Stop, wait until the broker acknowledged every publish; raise what went wrong."""
        self.stop.set()
        self._thread.join(timeout=30)
        if not self.errors and not self.sim.fleet.drain(timeout_s):
            self.errors.append(TimeoutError(f"acked {self.sim.fleet.acked} of {self.sim.fleet.published}"))
        if self.errors:
            raise self.errors[0]

    def expected(self) -> dict[str, tuple[int, int]]:
        """(count, sum of seq) per device sent so far (seq runs 1..n per device)."""
        return {d.record.device_id: (d.seq, d.seq * (d.seq + 1) // 2) for d in self.sim.devices if d.seq}


def start_workers(make: Callable[..., HubProcess], folder: Path, env: dict[str, str], count: int = 3,
                  log_level: str = "WARNING") -> list[HubProcess]:
    """`count` leased workers hub-w0.., started side by side."""
    workers = [make(folder / f"w{i}", client_id=f"hub-w{i}", env=env, log_level=log_level) for i in range(count)]
    with ThreadPoolExecutor(count) as pool:  # together: each start waits for its /health
        list(pool.map(HubProcess.start, workers))
    return workers
