"""Benchmark: where a message's time goes in the hub, accelerometer windows next to vitals only (issue 20 item 6).

Method: the hub built in-process (`build_hub`, DuckDB store, the default detectors), no broker: batches of
`--batch` telemetry messages from `--devices` registered wearables, as the load generator makes them (a 1 s
50 Hz window a second with vitals in every tenth; or vitals only), go through the hot path stage by stage, each
timed on its own: decode + dedup (`Ingestor.prepare`), the store write (`store.write`), each detector's
`observe_batch`, then the detector stage's step without the detectors (acc ring, alert flow, timers). The MQTT
read (ingest/readahead.py) is not in it: bench/ingest.py measures the link against a bare paho subscriber.

The figures are CPU microseconds (of the process, all its threads) per message per stage, their sum, and the
single-core ceiling that sum implies; the vitals run is the baseline (ratio acc / vitals).

Run from the repository root: .venv/bin/python -m bench.acc_path [--devices 2000] [--batch 1000] [--batches 20]
The last line is JSON: {"acc": {stage: us}, "vitals": {stage: us}, "acc_ceiling_per_s", "ratio", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import MethodType

from alerts.stage import DetectorStage
from bench.ingest import register
from hub.app import Hub, build_hub
from hub.broker import free_port
from hub.settings import HttpSettings, MqttSettings, Settings, StoreSettings
from ingest.inbox import Inbound
from simulators.loadgen import Payloads, wearables


def messages(ids: list[str], count: int, acc: bool, t0: float) -> list[Inbound]:
    """`count` telemetry messages round-robin over the devices, one second apart per device."""
    devices = wearables(len(ids), id_format="BW{:05d}")
    payloads = Payloads(seed=3, acc=acc)
    out = []
    for i in range(count):
        dev = devices[i % len(devices)]
        t = t0 + (i // len(devices)) * 1.0
        out.append(Inbound(payloads.topic(dev).decode(), payloads.message(dev, t), i % 65535 + 1, 1, time.monotonic()))
    return out


def stage_of(hub: Hub) -> DetectorStage:
    """The detector stage behind the hub's `detectors` entry (its bound `run`)."""
    run = hub.stages["detectors"]
    assert isinstance(run, MethodType) and isinstance(run.__self__, DetectorStage)
    return run.__self__


async def profile(data_dir: Path, ids: list[str], acc: bool, batch: int, batches: int) -> dict[str, float]:
    """Microseconds per message per stage over `batches` batches."""
    settings = Settings(mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}", client_id="bench-acc-path"),
                        store=StoreSettings(data_dir=data_dir), http=HttpSettings(port=free_port()))
    hub = build_hub(settings)
    stage = stage_of(hub)
    spent: dict[str, list[float]] = defaultdict(list)
    t0 = time.time() - 3600.0
    msgs = messages(ids, batch * batches, acc, t0)
    try:
        for b in range(batches):
            items = msgs[b * batch : (b + 1) * batch]
            c = time.process_time()
            prepared = hub.ingestor.prepare(items)
            spent["decode+dedup"].append(time.process_time() - c)
            assert len(prepared.readings) == len(items), prepared.rejections[:1]
            c = time.process_time()
            hub.store.write(prepared.readings)
            spent["store.write"].append(time.process_time() - c)
            for det in stage.detectors:
                c = time.process_time()
                det.observe_batch(prepared.readings)
                spent[f"detector:{det.name or type(det).__name__}"].append(time.process_time() - c)
            detectors, stage.detectors = stage.detectors, []
            c = time.process_time()
            stage.step(prepared, time.time())
            spent["stage (ring, flow, timers)"].append(time.process_time() - c)
            stage.detectors = detectors
    finally:
        hub.close()
    # CPU time of this process (its threads, DuckDB's included), not wall time: on a machine shared with other
    # work, time spent waiting for a core is not the stage's; the first two batches (warming up) are left out
    return {k: round(sum(v[2:] or v) / len(v[2:] or v) / batch * 1e6, 2) for k, v in spent.items()}


def main(argv: list[str] | None = None) -> int:
    """Profile both kinds of message; print the tables and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-acc-path-") as tmp:
        for kind in ("vitals", "acc"):
            data_dir = Path(tmp) / kind
            data_dir.mkdir()
            ids = register(data_dir, args.devices)
            out[kind] = asyncio.run(profile(data_dir, ids, kind == "acc", args.batch, args.batches))
    totals = {kind: sum(v.values()) for kind, v in out.items()}
    for kind, stages in out.items():
        print(f"{kind}: {totals[kind]:.1f} us/message = {1e6 / totals[kind]:,.0f} msg/s on one core", file=sys.stderr)
        for name, us in sorted(stages.items(), key=lambda kv: -kv[1]):
            print(f"  {name:32s} {us:8.2f} us", file=sys.stderr)
    print(json.dumps({**out, "acc_us": round(totals["acc"], 1), "vitals_us": round(totals["vitals"], 1),
                      "acc_ceiling_per_s": round(1e6 / totals["acc"]),
                      "ratio": round(totals["acc"] / totals["vitals"], 2), "devices": args.devices,
                      "batch": args.batch, "batches": args.batches}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
