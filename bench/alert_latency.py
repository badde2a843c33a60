"""Benchmark: from the publish of the accelerometer window that completes a fall to the incident on a websocket.

Method: a private Mosquitto and the hub as a subprocess (`hub run`, cancel window 0), 10,000 registered residents
with a wearable each. One fast publisher sends their vitals telemetry round-robin as background load (every wearable
once per `--period-s`, default 10 s: 1,000 msg/s). For each trial a fresh wearable publishes a synthetic waist fall
window by window (the fallers' wearables are kept out of the background load: their own `seq` numbers would
otherwise soon be reached by the background's, and the completing window dropped as a duplicate); the window that
completes the fall is found beforehand by running the same FallDetector over the trace in-process. Its predecessors
are published first, then after a pause the completing window is published and the clock runs until the `incident`
frame (event `opened`) for that wearable arrives on a signed-in websocket client.

Issue 20: `--background acc` adds a 1 s accelerometer window (50 Hz, from a pool made once) to every background
message, so each is a window the fall detector must look at; with `--period-s 1` and 10,000 residents that is
10,000 windows a second. `--connections` replaces the one fast publisher by the load generator
(simulators/loadgen.py): every background wearable its own MQTT connection (QoS 1, its own client id and username)
over `--processes` worker processes, at the realistic periods (acc: a window a second with vitals in every tenth;
vitals: every 10 s), so `--residents` sets the rate and `--period-s` is ignored. The summary adds the hub's own
ingest rate over the trials (`hub_received_per_s`, from /health): below the background rate, the hub is not keeping
up and the latency grows with its backlog.

`--store influxdb` runs the hub on a private influxd (Debian's, as in production) instead of the embedded DuckDB.

Run from the repository root: .venv/bin/python -m bench.alert_latency [--residents 10000] [--trials 20]
    [--background vitals|acc] [--connections --processes 4] [--store duckdb|influxdb]
The last line is JSON: {"p50_s", "p99_s", "max_s", "residents", "trials", "background_msg_per_s", "background",
"connections", "hub_received_per_s", "store"}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import orjson
import paho.mqtt.client as mqtt
import websockets
from paho.mqtt.enums import CallbackAPIVersion

from alerts.falls.detector import FallDetector
from dashboard.auth import StaffAuth
from devices.models import Family, Reading
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto, free_port
from hub.influxd import Influxd
from simulators.falls import generate, windows
from simulators.loadgen import LoadGenerator, LoadOptions, Payloads, wearables

RATE_HZ = 50.0
USER = ("bench", "bench-password")
TRIAL_TIMEOUT_S = 10.0


def register(data_dir: Path, residents: int, fallers: int) -> None:
    """Residents, homes and wearables in bulk (the fallers' wearables are worn at the waist), plus a staff user."""
    db = StateDB(data_dir / "state.sqlite")
    Registry(db)
    homes = [(f"H{i}", f"bench home {i}", 28.2 + (i % 100) * 1e-3, 112.9 + (i // 100) * 1e-3) for i in range(residents)]
    db.executemany("INSERT INTO homes (home_id, address, lat, lon) VALUES (?, ?, ?, ?)", homes)
    db.executemany("INSERT INTO residents (resident_id, name, home_id) VALUES (?, ?, ?)",
                   [(f"R{i}", f"resident {i}", f"H{i}") for i in range(residents)])  # fmt: skip
    db.executemany("INSERT INTO devices (device_id, family, kind, resident_id, worn_at) VALUES (?, ?, ?, ?, ?)",
                   [(f"W{i:05d}", "wearable", "wearable", f"R{i}", "waist" if i < fallers else "wrist")
                    for i in range(residents)])  # fmt: skip
    StaffAuth(db).add_user(*USER, role="operator")
    db.close()


def completing_window(wins: list[np.ndarray]) -> int:
    """Index of the window after which the production FallDetector reports the fall."""
    det = FallDetector(worn_at="waist")
    for k, w in enumerate(wins):
        if det.observe(Reading("probe", Family.WEARABLE, 1000.0 + k, k, {}, w, RATE_HZ)):
            return k
    raise RuntimeError("the synthetic fall is not detected")


class Background(threading.Thread):
    """One publisher: every wearable's vitals once per period, round-robin."""

    def __init__(self, port: int, residents: int, period_s: float, first: int = 0, acc: bool = False) -> None:
        super().__init__(daemon=True)
        self.windows = Payloads(seed=5, acc=True).pool if acc else []  # issue 20: a window in every message
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-load")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.residents, self.period_s, self.first = residents, period_s, first  # wearables first.. first+residents-1
        self.stop = threading.Event()
        self.sent = 0

    def run(self) -> None:
        seq, start = 0, time.monotonic()
        while not self.stop.is_set():
            seq += 1
            for n in range(self.residents):
                i = self.first + n
                body = orjson.dumps({"ts": time.time(), "seq": seq, "heart_rate": 70 + i % 20, "spo2": 97,
                                     "battery": 80})
                if self.windows:
                    body = b'%b,"acc_hz":50,"acc":%b}' % (body[:-1], self.windows[(seq + i) % len(self.windows)])
                self.client.publish(f"eldercare/W{i:05d}/telemetry", body, qos=0)
                self.sent += 1
                lag = start + (seq - 1 + (n + 1) / self.residents) * self.period_s - time.monotonic()
                if lag > 0:
                    time.sleep(lag)
        self.client.disconnect()
        self.client.loop_stop()


async def _watch(url: str, cookie: str, arrivals: dict[str, float], ready: threading.Event) -> None:
    async with websockets.connect(url, additional_headers={"Cookie": cookie}, max_queue=None) as ws:
        ready.set()
        with contextlib.suppress(websockets.ConnectionClosed):  # the hub stops at the end of the run
            async for raw in ws:
                frame = orjson.loads(raw)
                if frame["type"] == "incident" and frame["data"]["event"] == "opened":
                    arrivals.setdefault(frame["data"]["incident"]["device_id"], time.monotonic())


def start_hub(data_dir: Path, mqtt_url: str, influx_url: str = "") -> tuple[subprocess.Popen[bytes], str]:
    """`hub run` with a cancel window of 0 (on InfluxDB at `influx_url`, else the default DuckDB); waits for /health."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | {"HUB_ALERTS__CANCEL_WINDOW_S": "0"}
    if influx_url:
        env |= {"HUB_STORE__BACKEND": "influxdb", "HUB_STORE__INFLUX_URL": influx_url, "HUB_STORE__INFLUX_DB": "bench"}
    cmd = [sys.executable, "-m", "hub.cli", "--log-level", "WARNING", "run", "--mqtt-url", mqtt_url,
           "--http-port", str(port), "--data-dir", str(data_dir), "--client-id", "bench-hub",
           "--allow-anonymous-broker"]  # fmt: skip  (the bench broker is anonymous, issue 16)
    log = (data_dir / "hub.log").open("ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded machine: /health may answer before the broker link is up
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=1).json()["mqtt_connected"]:
                return proc, url
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"hub did not start: {(data_dir / 'hub.log').read_text(errors='replace')[-2000:]}")


def trial(port: int, device_id: str, wins: list[np.ndarray], k: int, arrivals: dict[str, float]) -> float:
    """Publish a fall; seconds from the completing window's publish to the incident frame."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{device_id}")
    client.username_pw_set(device_id)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t0 = time.time() - len(wins)

    def send(i: int) -> None:
        body = {"ts": t0 + i, "seq": i + 1, "acc": wins[i].round(3).tolist(), "acc_hz": RATE_HZ}
        client.publish(f"eldercare/{device_id}/telemetry", orjson.dumps(body), qos=1).wait_for_publish(5)

    for i in range(k):
        send(i)
    time.sleep(1.0)  # the hub has taken the earlier windows; only the completing one is timed
    sent = time.monotonic()
    send(k)
    deadline = sent + TRIAL_TIMEOUT_S
    while device_id not in arrivals and time.monotonic() < deadline:
        time.sleep(0.002)
    client.disconnect()
    client.loop_stop()
    return arrivals.get(device_id, float("inf")) - sent


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print per-trial figures and a JSON summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--period-s", type=float, default=10.0, help="background telemetry period per wearable")
    parser.add_argument("--background", choices=("vitals", "acc"), default="vitals",
                        help="acc: every background message carries a 1 s accelerometer window (issue 20)")
    parser.add_argument("--connections", action="store_true",
                        help="background from the load generator: each wearable its own connection, realistic periods")
    parser.add_argument("--processes", type=int, default=4, help="with --connections: the generator's processes")
    parser.add_argument("--store", choices=("duckdb", "influxdb"), default="duckdb",
                        help="the hub's telemetry store: the embedded default, or a private influxd (production's)")
    args = parser.parse_args(argv)
    wins = list(windows(generate("fall", RATE_HZ, 3)[0], RATE_HZ))
    k = completing_window(wins)
    with tempfile.TemporaryDirectory(prefix="bench-alert-") as tmp:
        data_dir = Path(tmp) / "hub"
        data_dir.mkdir()
        register(data_dir, args.residents + args.trials, args.trials)  # the fallers are extra wearables
        broker = Mosquitto(Path(tmp) / "mosquitto").start()
        influx = Influxd(Path(tmp) / "influxdb").start() if args.store == "influxdb" else None
        proc, url = start_hub(data_dir, broker.url, influx.url if influx is not None else "")
        try:
            latencies, figures = run_trials(url, broker.port, args, wins, k)
        finally:
            proc.terminate()
            proc.wait(30)
            broker.stop()
            if influx is not None:
                influx.stop()
    timeouts = sum(not np.isfinite(x) for x in latencies)
    lat = np.minimum(np.array(latencies), TRIAL_TIMEOUT_S)  # a timed-out trial counts as the timeout: a lower bound
    summary = {"p50_s": round(float(np.percentile(lat, 50)), 4), "p99_s": round(float(np.percentile(lat, 99)), 4),
               "max_s": round(float(lat.max()), 4), "residents": args.residents, "trials": len(lat),
               "background_msg_per_s": round(figures["rate"], 1), "completing_window": k,
               "background": args.background, "connections": args.connections, "timeouts": timeouts,
               "store": args.store,
               "intended_msg_per_s": round(figures["intended"], 1),
               "hub_received_per_s": round(figures["hub_rate"], 1)}  # fmt: skip
    print(json.dumps(summary), flush=True)
    return 0


def run_trials(
    url: str, port: int, args: argparse.Namespace, wins: list[np.ndarray], k: int
) -> tuple[list[float], dict[str, float]]:
    """Background load on, a signed-in websocket watching, then the fall trials one after another."""
    login = httpx.post(f"{url}/api/login", json=dict(zip(("username", "password"), USER, strict=True)), timeout=10)
    login.raise_for_status()
    cookie = "; ".join(f"{k_}={v}" for k_, v in login.cookies.items())
    arrivals: dict[str, float] = {}
    ready = threading.Event()
    ws_url = url.replace("http://", "ws://") + "/ws"
    threading.Thread(target=lambda: asyncio.run(_watch(ws_url, cookie, arrivals, ready)), daemon=True).start()
    assert ready.wait(10), "websocket did not connect"
    load = Load(port, args)  # the fallers stay out of it
    time.sleep(3.0)
    caught_up(url, load)
    started, sent0, hub0 = time.monotonic(), load.sent(), hub_received(url)
    out = []
    for n in range(args.trials):
        latency = trial(port, f"W{n:05d}", wins, k, arrivals)
        print(f"trial {n}: {latency * 1000:.1f} ms", flush=True)
        out.append(latency)
    elapsed = time.monotonic() - started
    figures = {"rate": (load.sent() - sent0) / elapsed, "hub_rate": (hub_received(url) - hub0) / elapsed,
               "intended": load.intended}
    load.stop()
    return out, figures


def caught_up(url: str, load: Load, timeout_s: float = 120.0) -> None:
    """Wait until the hub has taken what the background sent until a second ago: 10,000 devices connecting (and
    their retained `online`) is a burst, whose backlog would otherwise be timed as the first trials' latency."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lag = load.sent() + load.announced - hub_received(url)
        if lag <= load.intended:
            print(f"hub caught up with the background ({lag} messages behind)", flush=True)
            return
        time.sleep(1.0)
    print(f"hub still {load.sent() + load.announced - hub_received(url)} messages behind after {timeout_s:.0f} s",
          flush=True)


def hub_received(url: str) -> int:
    """Messages the hub's ingest has taken so far (/health)."""
    return int(httpx.get(f"{url}/health", timeout=60).json()["ingest"]["received"])  # a saturated hub answers late


class Load:
    """The background, from one fast publisher or from the load generator's connections."""

    def __init__(self, port: int, args: argparse.Namespace) -> None:
        acc = args.background == "acc"
        self.thread: Background | None = None
        self.gen: LoadGenerator | None = None
        self.announced = 0  # messages besides the telemetry that the hub receives from the background
        if args.connections:
            devices = wearables(args.residents, first=args.trials)
            self.gen = LoadGenerator(devices, LoadOptions(nodes=(("127.0.0.1", port),), processes=args.processes,
                                                          acc=acc))
            started = self.gen.start(timeout_s=max(120.0, args.residents / 50))
            print(f"background: {started.connected} connections, {self.gen.intended_per_s:.0f} msg/s intended",
                  flush=True)
            self.intended = self.gen.intended_per_s
            self.announced = started.connected  # each connection's `online`, which the hub counts as received
        else:
            self.thread = Background(port, args.residents, args.period_s, first=args.trials, acc=acc)
            self.thread.start()
            self.intended = args.residents / args.period_s

    def sent(self) -> int:
        """Background messages sent (with connections: acknowledged by the broker)."""
        if self.gen is not None:
            return self.gen.stats().acked
        assert self.thread is not None
        return self.thread.sent

    def stop(self) -> None:
        """End the background."""
        if self.gen is not None:
            final = self.gen.stop()
            print(f"background: {final.published} published, {final.skipped} skipped (in-flight window full), "
                  f"{final.reconnects} reconnects", flush=True)
        if self.thread is not None:
            self.thread.stop.set()
            self.thread.join(10)


if __name__ == "__main__":
    sys.exit(main())
