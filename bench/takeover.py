"""Takeover time after a worker's SIGKILL (issue 20): three leased hub workers on Mosquitto and PostgreSQL.

Each trial SIGKILLs one worker and measures the seconds until every one of its shards is held by a survivor with
its MQTT session connected and subscribed (the lease table's `ready`), then restarts it and waits for the
rebalance. The baseline from the same run: a clean stop (SIGTERM), whose worker frees its leases on the way out,
so the survivors take its shards on their next heartbeat. Printed with the lease TTL, the bound a hung (not dead)
worker would take.

    .venv/bin/python -m bench.takeover [--trials 5] [--devices 300]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

from devices.registry import Registry
from devices.statedb.postgres import PgStateDB
from hub.broker import Mosquitto, free_port
from hub.pgserver import PostgresServer
from ingest.settings import MqttSettings
from simulators.community import build_community

WORKERS = 3
START_TIMEOUT_S = 120.0


class Worker:
    """One `hub run` process with leased shards."""

    def __init__(self, name: str, folder: Path, mqtt_url: str, state_url: str) -> None:
        self.name = name
        self.folder = folder
        self.mqtt_url = mqtt_url
        self.state_url = state_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until its /health says the broker is connected."""
        self.folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        cmd = [sys.executable, "-m", "hub.cli", "--log-level", "WARNING", "run", "--mqtt-url", self.mqtt_url,
               "--allow-anonymous-broker", "--http-port", str(port), "--data-dir", str(self.folder),
               "--client-id", self.name]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env |= {"HUB_STORE__STATE_URL": self.state_url, "HUB_MQTT__SHARDS": "auto"}
        with (self.folder / "hub.log").open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {(self.folder / 'hub.log').read_text()[-1500:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()["mqtt_connected"]:
                    return
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become healthy")

    def signal(self, sig: signal.Signals) -> None:
        """Send `sig` (the caller waits for the process with `wait`)."""
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self) -> None:
        """Wait for the process to end."""
        assert self.proc is not None
        self.proc.wait(timeout=60)


def leases(url: str) -> dict[int, tuple[str, bool]]:
    """shard -> (owner, ready)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT shard, owner, ready FROM shard_leases").fetchall()
    return {int(r[0]): (str(r[1]), bool(r[2])) for r in rows}


def held_by(url: str, owners: set[str], shards: int) -> bool:
    """Every shard held, ready, by one of `owners`, and each of them holding some."""
    now = leases(url)
    return (len(now) == shards and all(ready and owner in owners for owner, ready in now.values())
            and {o for o, _ in now.values()} == owners)


def seconds_until(check: Callable[[], bool], timeout_s: float = 60.0) -> float:
    """Seconds until `check()` is true (polled every 20 ms)."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError("not reached")
        time.sleep(0.02)
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the trials and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--devices", type=int, default=300, help="about this many registered devices")
    args = parser.parse_args(argv)
    shards, ttl = MqttSettings().virtual_shards, MqttSettings().lease_ttl_s
    with tempfile.TemporaryDirectory(prefix="bench-takeover-") as tmp:
        root = Path(tmp)
        broker = Mosquitto(root / "mosquitto").start()
        pg = PostgresServer().start()
        workers: list[Worker] = []
        try:
            url = pg.create_database(f"b_{uuid.uuid4().hex[:10]}")
            db = PgStateDB(url, root / "setup")
            build_community(residents=max(1, args.devices // 8), terminals=5, villages=2, seed=5).register(
                Registry(db))
            db.close()
            workers = [Worker(f"hub-w{i}", root / f"w{i}", broker.url, url) for i in range(WORKERS)]
            for w in workers:
                w.start()
            names = {w.name for w in workers}
            seconds_until(lambda: held_by(url, names, shards), 120)
            killed: list[float] = []
            stopped: list[float] = []
            for trial in range(args.trials):
                for how, out in ((signal.SIGKILL, killed), (signal.SIGTERM, stopped)):
                    victim = workers[trial % WORKERS]
                    survivors = names - {victim.name}
                    victim.signal(how)  # the clock starts here, for both: a clean stop hands over while it stops
                    out.append(seconds_until(lambda: held_by(url, survivors, shards)))  # noqa: B023 (used at once)
                    victim.wait()
                    victim.start()
                    seconds_until(lambda: held_by(url, names, shards), 120)
                print(f"trial {trial + 1}: SIGKILL {killed[-1]:.2f} s, clean stop {stopped[-1]:.2f} s", flush=True)
            kill_med, stop_med = statistics.median(killed), statistics.median(stopped)
            print(f"\n{WORKERS} workers, {shards} virtual shards, lease TTL {ttl:g} s, {args.trials} trials")
            print(f"takeover after SIGKILL: median {kill_med:.2f} s, max {max(killed):.2f} s "
                  f"(requirement: < 10 s)")
            print(f"baseline, clean stop (leases freed on the way out): median {stop_med:.2f} s")
            print(f"ratio SIGKILL / clean stop: {kill_med / stop_med:.2f}; SIGKILL / lease TTL: {kill_med / ttl:.2f}")
        finally:
            for w in workers:
                if w.proc is not None and w.proc.poll() is None:
                    w.proc.kill()
            pg.stop()
            broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
