"""Soak: the hub process's memory (RSS) over a long run with 10,000 simulated wearables at a steady rate.

Each wearable sends vitals plus a 1 s accelerometer window every `--period-s` seconds (default 10: 1,000 msg/s for
10,000 devices), for `--minutes` (default 10). The hub runs as its own process (`hub run`, DuckDB store) against a
private Mosquitto; its RSS is sampled every 10 s, with the memory DuckDB's buffer manager reports on /metrics
(`hub_store_memory_bytes`: the table's pages it caches, capped by HUB_STORE__DUCKDB_MEMORY_MB). Baseline: the RSS
after the first minute (stores, detectors and buffers warmed up); the figure is the growth over the rest of the
run, printed as a ratio to that baseline, with the whole curve - and the same for RSS minus DuckDB's buffers, the
hub's own memory.

Run from the repository root: .venv/bin/python -m bench.soak [--minutes 10] [--devices 10000]
The last line is JSON: {"rss_mb": [...], "duckdb_mb": [...], "baseline_mb", "final_mb", "growth_ratio",
"own_growth_ratio", "stored", "published"}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import httpx
import numpy as np
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.ingest import register
from hub.broker import Mosquitto, free_port

SAMPLE_EVERY_S = 10.0


def rss_mb(pid: int) -> float:
    """Resident set size of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def duckdb_mb(http_port: int) -> float:
    """DuckDB's buffer memory in the hub, MiB, from its /metrics (0 when unavailable)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{http_port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("hub_store_memory_bytes "):
            return float(line.split()[1]) / 2**20
    return 0.0


def start_hub(data: Path, mqtt_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """`hub run` as its own process; waits for /health."""
    http_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "--log-level", "WARNING", "run", "--mqtt-url",
                             f"mqtt://127.0.0.1:{mqtt_port}", "--http-port", str(http_port), "--data-dir", str(data),
                             "--client-id", "soak-hub", "--allow-anonymous-broker"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{http_port}/health", timeout=1).json()["mqtt_connected"]:
                return proc, http_port
        except (httpx.HTTPError, KeyError, ValueError):
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("hub did not start")


def payload(seq: int, ts: float, rng: np.random.Generator) -> bytes:
    """Vitals and one second of a resting accelerometer at 50 Hz."""
    acc = (np.array([0.0, -1.0, 0.0]) + rng.normal(0, 0.02, (50, 3))).round(3).tolist()
    return orjson.dumps({"ts": ts, "seq": seq, "heart_rate": float(rng.normal(72, 3)), "spo2": 97.0,
                         "skin_temp": 34.0, "battery": 80.0, "steps": 0, "acc": acc, "acc_hz": 50})


def run_load(port: int, ids: list[str], period_s: float, seconds: float, pid: int,
             http_port: int) -> tuple[int, list[float], list[float]]:
    """Publish each device every `period_s` for `seconds`; sample the hub's RSS and DuckDB's buffers on the way."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="soak-publisher")
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    rng = np.random.default_rng(1)
    rate = len(ids) / period_s
    pending: deque[mqtt.MQTTMessageInfo] = deque()
    samples, store, published, t0 = [rss_mb(pid)], [duckdb_mb(http_port)], 0, time.monotonic()
    next_sample = t0 + SAMPLE_EVERY_S
    while (now := time.monotonic()) - t0 < seconds:
        due = int((now - t0) * rate)
        while published < due:
            dev = ids[published % len(ids)]
            pending.append(client.publish(f"eldercare/{dev}/telemetry", payload(published, time.time(), rng), qos=1))
            published += 1
            if len(pending) > 20_000:
                pending.popleft().wait_for_publish(60)
        if now >= next_sample:
            samples.append(rss_mb(pid))
            store.append(duckdb_mb(http_port))
            next_sample += SAMPLE_EVERY_S
            print(f"  {now - t0:5.0f} s  rss {samples[-1]:7.1f} MiB  duckdb {store[-1]:6.1f} MiB  "
                  f"published {published}", file=sys.stderr)
        time.sleep(0.005)
    for info in pending:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    return published, samples, store


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print the RSS curve."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="duration of the load (default 10)")
    parser.add_argument("--devices", type=int, default=10_000, help="simulated wearables (default 10,000)")
    parser.add_argument("--period-s", type=float, default=10.0, help="seconds between a device's messages")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hub-soak-") as tmp:
        data = Path(tmp)
        broker = Mosquitto(data / "mosquitto").start()
        ids = register(data / "hub", args.devices)
        hub, http_port = start_hub(data / "hub", broker.port)
        try:
            published, curve, store = run_load(broker.port, ids, args.period_s, args.minutes * 60, hub.pid, http_port)
            time.sleep(5)
            stored = httpx.get(f"http://127.0.0.1:{http_port}/health", timeout=10).json()["ingest"]["stored"]
        finally:
            hub.terminate()
            hub.wait(30)
            broker.stop()
    at = min(len(curve) - 1, int(60 / SAMPLE_EVERY_S))
    warm, own = curve[at], [r - d for r, d in zip(curve, store, strict=True)]
    result = {"rss_mb": [round(x, 1) for x in curve], "duckdb_mb": [round(x, 1) for x in store],
              "baseline_mb": round(warm, 1), "final_mb": round(curve[-1], 1),
              "growth_ratio": round(curve[-1] / warm, 3),
              "own_growth_ratio": round(own[-1] / own[at], 3), "stored": stored, "published": published,
              "devices": args.devices, "minutes": args.minutes}
    print(f"RSS after warm-up {warm:.0f} MiB -> end {curve[-1]:.0f} MiB (x{curve[-1] / warm:.2f}); without DuckDB's "
          f"buffers {own[at]:.0f} -> {own[-1]:.0f} MiB (x{own[-1] / own[at]:.2f}); stored {stored} of {published}",
          file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
