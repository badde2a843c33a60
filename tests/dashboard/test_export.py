"""Readings of a device or a resident as CSV and Parquet, from the API and from `hub export`; round trips."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
from hub_api import hub_api

from devices.models import Family, Reading
from devices.records import DeviceRecord, Home, Resident

T0 = 1_735_689_600.0


def _fill(hub) -> None:
    hub.registry.add_home(Home("H1", "1 Road", 28.2, 112.9))
    hub.registry.add_home(Home("H2", "2 Road", 28.2, 112.9))
    hub.registry.add_resident(Resident("R1", "One", "H1"))
    hub.registry.add_resident(Resident("R2", "Two", "H2"))
    for device in (
        DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"),
        DeviceRecord("S1", "home_sensor", "door", home_id="H1"),
        DeviceRecord("W2", "wearable", "wearable", resident_id="R2", worn_at="waist"),
    ):
        hub.registry.add_device(device)
    hub.store.write(
        [
            Reading("W1", Family.WEARABLE, T0 + 1, 1, {"heart_rate": 71.0, "lat": 28.2, "lon": 112.9}),
            Reading("S1", Family.HOME_SENSOR, T0 + 2, 1, {"contact": 0.0, "battery": 88.0}),
            Reading("W2", Family.WEARABLE, T0 + 3, 1, {"heart_rate": 90.0}),
            Reading("W1", Family.WEARABLE, T0 + 4, 2, {"heart_rate": 72.5}),
            Reading("W1", Family.WEARABLE, T0 + 100, 3, {"heart_rate": 73.0}),  # at `end`: excluded
        ]
    )


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "hub.cli", "export", "--data-dir", str(data_dir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_api_and_cli_export_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    rng = {"start": T0, "end": T0 + 100}
    with hub_api(data) as (hub, client):
        _fill(hub)
        text = client.get("/api/export", resident_id="R1", format="csv", **rng)
        parquet = client.get("/api/export", device_id="W1", format="parquet", **rng)
        assert client.get("/api/export", device_id="NOPE", **rng).status_code == 404
        assert client.get("/api/export", **rng).status_code == 422
        locked = _cli(data, "--device", "W1", "--start", str(T0), "--end", str(T0 + 100), "--out", str(tmp_path / "x"))
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    assert text.content.startswith("\ufeff".encode())  # a BOM: Excel reads the Chinese headers
    rows = list(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert list(rows[0])[:6] == ["设备编号", "设备类别", "时间戳（UTC 秒）", "时间（UTC）", "时间（北京时间）", "序号"]
    assert [(r["设备编号"], r["序号"]) for r in rows] == [("W1", "1"), ("S1", "1"), ("W1", "2")]
    assert rows[0]["心率（次/分）"] == "71" and rows[0]["门磁闭合（1/0）"] == "" and rows[1]["门磁闭合（1/0）"] == "0"
    assert rows[0]["时间（UTC）"].startswith("2025-01-01 00:00:01")
    assert rows[0]["时间（北京时间）"] == "2025-01-01 08:00:01"  # China Standard Time beside UTC
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.column("heart_rate").to_pylist() == [71.0, 72.5]
    assert str(table.schema.field("time").type) == "timestamp[ms, tz=UTC]"
    assert locked.returncode == 2 and "locked by a running hub" in locked.stderr
    assert len(locked.stderr.strip().splitlines()) == 1
    out = tmp_path / "w1.parquet"
    done = _cli(
        data,
        "--device",
        "W1",
        "--start",
        "2025-01-01T00:00:00Z",
        "--end",
        str(T0 + 100),
        "--format",
        "parquet",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert pq.read_table(out).equals(table)
    resident = _cli(data, "--resident", "R1", "--start", str(T0), "--end", str(T0 + 100), "--out", str(tmp_path / "r"))
    assert resident.returncode == 0 and (tmp_path / "r").read_text() == text.text
    assert "not registered" in _cli(data, "--resident", "NOPE", "--start", "0", "--end", "1", "--out", "-").stderr


def test_excel_export_in_the_readers_language(tmp_path: Path) -> None:
    with hub_api(tmp_path / "hub") as (hub, client):
        _fill(hub)
        zh = client.get("/api/export", device_id="W1", format="xlsx", start=T0, end=T0 + 100)
        client.request("PUT", "/api/me/language", json={"language": "en"}).raise_for_status()
        en = client.get("/api/export", device_id="W1", format="xlsx", start=T0, end=T0 + 100)
        en_csv = client.get("/api/export", device_id="W1", format="csv", start=T0, end=T0 + 100)
    assert zh.status_code == 200 and zh.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(zh.content)).worksheets[0]
    head, *cells = list(sheet.iter_rows(values_only=True))
    assert sheet.title == "监测数据"
    assert head[:6] == ("设备编号", "设备类别", "时间戳（UTC 秒）", "时间（UTC）", "时间（北京时间）", "序号")
    assert [(c[0], c[3], c[4], c[head.index("心率（次/分）")]) for c in cells] == [
        ("W1", "2025-01-01 00:00:01", "2025-01-01 08:00:01", 71),
        ("W1", "2025-01-01 00:00:04", "2025-01-01 08:00:04", 72.5),
    ]
    english = openpyxl.load_workbook(io.BytesIO(en.content)).worksheets[0]
    assert next(english.iter_rows(values_only=True))[:5] == (
        "Device", "Family", "Timestamp (UTC s)", "Time (UTC)", "Time (China Standard Time)")
    assert en_csv.content.decode("utf-8-sig").startswith('"Device","Family",')
