"""Benchmark: good traffic's stored messages per second, alone and during an attack, in the same run.

The attack: one registered device floods (valid telemetry, as fast as one client can publish) while another client
publishes the hostile corpus (tests/corpus.py: oversized, nested, NaN, wrong encodings, spoofed topics...) in a loop.
Good traffic: `--messages` QoS 1 readings from `--devices` other devices, published live. Figure: good readings
stored per second during the attack, next to the same run's figure without it, as a ratio.

Run from the repository root: .venv/bin/python -m bench.hostile [--messages 30000]
The last line is JSON: {"good_per_s_alone", "good_per_s_attacked", "ratio", "flood_dropped", "rejected"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.ingest import publish, register
from devices.records import DeviceRecord
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.app import build_hub, serve
from hub.broker import Mosquitto, free_port
from hub.settings import HttpSettings, MqttSettings, Settings, StoreSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "security"))
from corpus import register_corpus_devices
from hostile import flood, hostile_corpus


def run(data: Path, port: int, good_ids: list[str], count: int, attacker: str | None) -> dict[str, Any]:
    """One measurement: publish the good traffic (and the attack), time until every good reading is stored."""
    settings = Settings(mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{port}", client_id=f"bench-hub-{attacker}"),
                        store=StoreSettings(data_dir=data), http=HttpSettings(port=free_port()))
    out: dict[str, Any] = {}

    async def main() -> None:
        hub = build_hub(settings)
        stop, halt = asyncio.Event(), mp.Event()
        store: Any = hub.store

        def good_stored() -> int:
            rows = store._query("SELECT count(*) FROM readings WHERE device_id <> ?", [attacker or ""])
            return int(rows[0][0])

        async def drive() -> None:
            await asyncio.sleep(1.0)
            # publishers in their own processes, so they do not share the hub's interpreter (its GIL)
            procs = [mp.Process(target=publish, args=(port, good_ids, count))]
            if attacker:
                procs += [mp.Process(target=flood, args=(port, attacker, 10 * count, halt)),
                          mp.Process(target=hostile_corpus, args=(port, 20))]
            t0 = time.perf_counter()
            for p in procs:
                p.start()
            while good_stored() < count:
                await asyncio.sleep(0.05)
            out["good_per_s"] = count / (time.perf_counter() - t0)
            halt.set()
            for p in procs:
                await asyncio.to_thread(p.join, 120)
            out["stats"] = hub.ctx.stats_dict()
            stop.set()

        driver = asyncio.create_task(drive())
        try:
            await serve(hub, stop)
        finally:
            driver.cancel()
            hub.close()

    asyncio.run(main())
    return out


def add_attackers(data: Path, attacker: str) -> None:
    """Register the flooding wearable and the corpus's devices (so their bad messages reach validation)."""
    registry = Registry(StateDB(data / "state.sqlite"))
    register_corpus_devices(registry)
    registry.add_device(DeviceRecord(attacker, "wearable", "wearable", resident_id="BR0", worn_at="wrist"), True)


def main(argv: list[str] | None = None) -> int:
    """Measure good traffic alone, then under attack, on one broker and one hub data folder each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=30_000, help="good QoS 1 messages per run")
    parser.add_argument("--devices", type=int, default=500, help="good devices")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="hub-hostile-") as tmp:
        for label, attacker in (("alone", None), ("attacked", "BW99999")):
            data = Path(tmp) / label
            broker = Mosquitto(data / "mosquitto").start()
            try:
                ids = register(data / "hub", args.devices)
                if attacker:
                    add_attackers(data / "hub", attacker)
                results[label] = run(data / "hub", broker.port, ids, args.messages, attacker)
            finally:
                broker.stop()
            print(f"{label}: good traffic stored at {results[label]['good_per_s']:,.0f} msg/s", file=sys.stderr)
    rejected = results["attacked"]["stats"]["rejected"]
    ratio = results["attacked"]["good_per_s"] / results["alone"]["good_per_s"]
    print(f"good traffic under attack: {ratio:.2f} x alone; rejected {rejected}", file=sys.stderr)
    print(json.dumps({"good_per_s_alone": round(results["alone"]["good_per_s"]),
                      "good_per_s_attacked": round(results["attacked"]["good_per_s"]), "ratio": round(ratio, 3),
                      "flood_dropped": rejected.get("rate_limited", 0), "rejected": rejected}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
