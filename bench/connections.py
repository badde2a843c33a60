"""Benchmark: hold N device connections (default 10,000) publishing at realistic rates, with their memory.

Method: a private Mosquitto (or the brokers of `--mqtt-url`, repeatable: devices spread over the nodes) and the load
generator (simulators/loadgen.py): N wearables, each its own MQTT connection and client id, split over `--processes`
worker processes, each streaming a 1 s accelerometer window a second with its vitals in every tenth (`--vitals`:
vitals only, every 10 s). A counting subscriber (simulators/load_tally.py) takes every message the broker delivers.

Baseline, in the same run and on the same broker first: the same devices' messages at the same total rate from ONE
connection, for `--baseline-s`. The ratios then say what holding N connections costs the broker beyond the
messages themselves (memory and CPU), and whether the N connections deliver the rate one connection does.

During the hold (`--hold-s`, default 600) a line every `--report-s`: connections alive (the generator's count and
Mosquitto's $SYS count), messages a second received vs intended, the generator's and the broker's RSS and CPU.

Run from the repository root: .venv/bin/python -m bench.connections [--connections 10000] [--processes 4]
    [--hold-s 600] [--baseline-s 30] [--vitals] [--mqtt-url mqtt://host:port ... --broker-pid PID]
The last line is JSON: {"connections", "alive_min", "received_per_s", "intended_per_s", "achieved_ratio",
"generator_rss_mb", "broker_rss_mb", "broker_rss_ratio", "broker_cpu_ratio", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hub.broker import Mosquitto
from simulators.load_tally import Tally
from simulators.loadgen import LoadGenerator, LoadOptions, Payloads, intended_rate, period_of, rss_kb, wearables
from simulators.mqtt_lite import MqttClient

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Sample:
    """The broker's and the subscriber's side at one moment."""

    t: float
    received: int
    broker_rss_kb: int
    broker_cpu_s: float

    @classmethod
    def take(cls, tally: Tally, broker_pid: int) -> Sample:
        """Now."""
        return cls(time.monotonic(), tally.received, rss_kb(broker_pid) if broker_pid else 0,
                   cpu_s(broker_pid) if broker_pid else 0.0)


def _one_connection(host: str, port: int, count: int, acc: bool, seconds: float) -> None:
    """The baseline publisher (a spawned process): `count` devices' messages at their rate, from one connection."""
    devices = wearables(count)
    payloads = Payloads(seed=11, acc=acc)

    async def run() -> None:
        client = MqttClient("bench-one-connection", keepalive=60)
        await client.connect(host, port)
        start = time.monotonic()
        wall0 = time.time()
        period = period_of(devices[0], acc)
        sent = 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed / period * count)  # messages the schedule has reached (phases spread evenly)
            while sent < due:
                dev = devices[sent % count]
                client.publish(payloads.topic(dev), payloads.message(dev, wall0 + sent / count * period), 1)
                sent += 1
            await asyncio.sleep(0.005)
        client.close()
        await asyncio.sleep(0.2)

    asyncio.run(run())


def baseline(host: str, port: int, args: argparse.Namespace, tally: Tally, broker_pid: int) -> dict[str, float]:
    """The same rate from one connection: received per second, broker RSS and CPU per second."""
    proc = mp.get_context("spawn").Process(target=_one_connection,
                                           args=(host, port, args.connections, not args.vitals, args.baseline_s + 3))
    proc.start()
    time.sleep(3.0)  # past the start-up
    a = Sample.take(tally, broker_pid)
    time.sleep(args.baseline_s)
    b = Sample.take(tally, broker_pid)
    proc.join(30)
    dt = b.t - a.t
    return {"received_per_s": (b.received - a.received) / dt, "broker_rss_kb": b.broker_rss_kb,
            "broker_cpu": (b.broker_cpu_s - a.broker_cpu_s) / dt}


def hold(gen: LoadGenerator, tally: Tally, broker_pid: int, args: argparse.Namespace) -> dict[str, float]:
    """Hold the connections for `--hold-s`, a line every `--report-s`; the figures over the whole hold."""
    time.sleep(min(3.0, args.hold_s / 4))  # every device past its first (phase-spread) message
    tally.broker_clients = -1  # the $SYS count of the baseline's time is stale: wait for the next one
    first = last = Sample.take(tally, broker_pid)
    alive_min, lag_max, broker_clients_min = gen.stats().connected, 0.0, sys.maxsize
    gen_cpu0 = gen.stats().cpu_s
    end = first.t + args.hold_s
    while (now := time.monotonic()) < end:
        time.sleep(min(args.report_s, end - now))
        s, st = Sample.take(tally, broker_pid), gen.stats()
        alive_min, lag_max = min(alive_min, st.connected), max(lag_max, st.lag_s)
        if tally.broker_clients >= 0:
            broker_clients_min = min(broker_clients_min, tally.broker_clients)
        print(f"t={s.t - first.t:6.0f}s alive {st.connected} (broker $SYS {tally.broker_clients}) "
              f"recv {(s.received - last.received) / (s.t - last.t):8.0f}/s of {gen.intended_per_s:.0f} "
              f"gen RSS {st.rss_kb / 1024:.0f} MB CPU {st.cpu_s:.0f}s  broker RSS {s.broker_rss_kb / 1024:.0f} MB "
              f"lag {st.lag_s:.2f}s skipped {st.skipped} reconnects {st.reconnects}", flush=True)
        last = s
    st = gen.stats()
    dt = last.t - first.t
    return {"received_per_s": (last.received - first.received) / dt, "broker_rss_kb": last.broker_rss_kb,
            "broker_cpu": (last.broker_cpu_s - first.broker_cpu_s) / dt, "alive_min": alive_min,
            "broker_clients_min": broker_clients_min if broker_clients_min < sys.maxsize else -1,
            "lag_max_s": lag_max, "generator_rss_kb": st.rss_kb, "generator_cpu": (st.cpu_s - gen_cpu0) / dt,
            "reconnects": st.reconnects, "held_s": dt}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the progress lines and a JSON summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--hold-s", type=float, default=600.0)
    parser.add_argument("--baseline-s", type=float, default=30.0, help="0: no one-connection baseline")
    parser.add_argument("--report-s", type=float, default=30.0)
    parser.add_argument("--nice", type=int, default=0, help="niceness added to the generator's workers")
    parser.add_argument("--vitals", action="store_true", help="vitals every 10 s instead of 1 Hz acc windows")
    parser.add_argument("--mqtt-url", action="append", default=[], help="existing broker node(s); default: start one")
    parser.add_argument("--broker-pid", type=int, default=0, help="with --mqtt-url: the broker to measure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-conn-") as tmp:
        broker = None
        if args.mqtt_url:
            nodes = tuple((u.hostname or "127.0.0.1", u.port or 1883) for u in map(urlsplit, args.mqtt_url))
            broker_pid = args.broker_pid
        else:
            broker = Mosquitto(Path(tmp) / "mosquitto").start()
            assert broker.process is not None
            nodes, broker_pid = (("127.0.0.1", broker.port),), broker.process.pid
        try:
            summary = run(nodes, broker_pid, args)
        finally:
            if broker is not None:
                broker.stop()
    print(json.dumps(summary), flush=True)
    return 0


def run(nodes: tuple[tuple[str, int], ...], broker_pid: int, args: argparse.Namespace) -> dict[str, object]:
    """Baseline, then the N connections held; the summary."""
    devices = wearables(args.connections)
    tally = Tally(*nodes[0]).start()
    try:
        idle_rss = rss_kb(broker_pid) if broker_pid else 0
        base = baseline(*nodes[0], args, tally, broker_pid) if args.baseline_s > 0 else {}
        if base:
            print(f"baseline, one connection: recv {base['received_per_s']:.0f}/s, broker RSS "
                  f"{base['broker_rss_kb'] / 1024:.0f} MB, broker CPU {base['broker_cpu']:.2f} core", flush=True)
        options = LoadOptions(nodes=nodes, processes=args.processes, acc=not args.vitals, nice=args.nice)
        t0 = time.monotonic()
        with LoadGenerator(devices, options) as gen:
            started = gen.start(timeout_s=max(120.0, args.connections / 50))
            connect_s = time.monotonic() - t0
            print(f"{started.connected} connected in {connect_s:.1f} s ({started.refused} refused), "
                  f"workers {gen.pids}", flush=True)
            held = hold(gen, tally, broker_pid, args)
            final = gen.stop()
    finally:
        tally.stop()
    intended = intended_rate(devices, not args.vitals)
    mb = 1 / 1024
    summary: dict[str, object] = {
        "connections": args.connections, "processes": args.processes, "held_s": round(held["held_s"], 1),
        "connect_s": round(connect_s, 1), "alive_min": held["alive_min"],
        "broker_clients_min": held["broker_clients_min"], "reconnects": held["reconnects"],
        "intended_per_s": round(intended, 1), "received_per_s": round(held["received_per_s"], 1),
        "achieved_ratio": round(held["received_per_s"] / intended, 3),
        "published": final.published, "acked": final.acked, "skipped": final.skipped,
        "lag_max_s": round(held["lag_max_s"], 3),
        "generator_rss_mb": round(held["generator_rss_kb"] * mb, 1),
        "generator_kb_per_connection": round(held["generator_rss_kb"] / args.connections, 1),
        "generator_cpu_cores": round(held["generator_cpu"], 3),
        "broker_idle_rss_mb": round(idle_rss * mb, 1), "broker_rss_mb": round(held["broker_rss_kb"] * mb, 1),
        "broker_cpu_cores": round(held["broker_cpu"], 3), "kind": "vitals" if args.vitals else "acc"}
    if base:
        summary |= {
            "baseline_received_per_s": round(base["received_per_s"], 1),
            "baseline_broker_rss_mb": round(base["broker_rss_kb"] * mb, 1),
            "baseline_broker_cpu_cores": round(base["broker_cpu"], 3),
            "rate_ratio_vs_one_connection": round(held["received_per_s"] / max(1.0, base["received_per_s"]), 3),
            "broker_rss_ratio": round(held["broker_rss_kb"] / max(1, base["broker_rss_kb"]), 2),
            "broker_cpu_ratio": round(held["broker_cpu"] / max(1e-6, base["broker_cpu"]), 2),
            "broker_kb_per_connection": round((held["broker_rss_kb"] - base["broker_rss_kb"]) / args.connections, 1)}
    return summary


if __name__ == "__main__":
    sys.exit(main())
