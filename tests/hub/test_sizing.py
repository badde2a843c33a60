"""The sizing calculator of docs/scaling.md (bench/sizing.py, issue 20 item 4): its formulas on made-up inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.sizing import AREAS, load, size

BROKER = {"hub_acc_nats_per_s": 5000.0, "hub_nats_per_s": 10000.0, "nats_node_per_s": 4000.0}
STORE = {"influx_disk_full_bytes_per_reading": 80.0, "influx_disk_acc_bytes_per_reading": 15.0,
         "influx_parallel_per_s": 20000.0, "pg_alerts_open_per_s": 40.0, "influx_line_full_bytes_per_reading": 184.0}
KINDS = ("wearable_acc_window", "wearable_vitals", "home_sensor", "terminal_observation")
WIRE = {k: {"up_bytes": b, "down_bytes": 4.0} for k, b in zip(KINDS, (1271.0, 170.0, 96.0, 82.0), strict=True)}


def test_a_county_row_follows_the_formulas() -> None:
    county = next(a for a in AREAS if a.name == "county")
    row = size(county, BROKER, STORE, WIRE, headroom=2.0, retention_days=90.0)
    other = 1000 + 10_000 * 7 / 60 + 225 * 2 / 60  # vitals every 10 s, 7 home sensors a minute, 2 terminals a village
    assert row["messages_per_s"] == pytest.approx(10_000 + other)
    assert row["workers"] == math.ceil(2 * (10_000 / 5000 + other / 10000)) + 1  # plus the spare
    assert row["broker_nodes"] == 3 * row["broker_cells"] == 3 * math.ceil(2 * (10_000 + other) / 4000)
    assert row["disk_gb_day"] * 1e9 == pytest.approx((10_000 * 15.0 + other * 80.0) * 86_400)
    assert row["disk_tb_held"] == pytest.approx(row["disk_gb_day"] * 90 / 1000)
    # bits in: each message's MQTT bytes and a TCP/IP segment header
    assert row["net_in_mbit"] == pytest.approx((10_000 * 1323 + 1000 * 222 + 10_000 * 7 / 60 * 148
                                                + 225 * 2 / 60 * 134) * 8 / 1e6)


def test_the_province_is_a_hundred_counties_of_wearables() -> None:
    rows = {a.name: size(a, BROKER, STORE, WIRE, 2.0, 90.0) for a in AREAS}
    assert rows["province"]["acc_per_s"] == 100 * rows["county"]["acc_per_s"]
    # terminals follow Hunan's village committees, not a hundred times a county's
    assert rows["province"]["terminal_per_s"] == pytest.approx(29_534 * 2 / 60)


def test_load_takes_a_bench_output_files_last_json_line(tmp_path: Path) -> None:
    out = tmp_path / "bench.out"
    out.write_text("a progress line\n" + json.dumps({"x": 1}) + "\n" + json.dumps(BROKER) + "\n")
    assert load(str(out)) == BROKER
