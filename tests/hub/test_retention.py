"""Retention of raw telemetry (issue 8): readings and evidence clips past HUB_STORE__RETENTION_DAYS are deleted,
on the embedded DuckDB store and on a real InfluxDB; newer data and the incident records stay."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.log import DetectionLog
from dashboard.bus import Bus
from devices.models import Family, Reading
from devices.statedb.sqlite import StateDB
from hub.app import build_hub
from hub.retention import DAY_S, Retention
from hub.settings import MqttSettings, Settings, StoreSettings
from ingest.store.base import TimeSeriesStore
from ingest.store.duckdb_store import DuckDBStore
from ingest.store.influx import InfluxStore

NOW = 1_783_000_000.0


@pytest.fixture(params=["duckdb", "influxdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    if request.param == "duckdb":
        opened: TimeSeriesStore = DuckDBStore(tmp_path / "telemetry.duckdb")
    else:
        opened = InfluxStore(request.getfixturevalue("influxdb").url, "retention")
    yield opened
    opened.close()


def _reading(seq: int, age_days: float) -> Reading:
    return Reading("W-1", Family.WEARABLE, NOW - age_days * DAY_S, seq, {"heart_rate": 70.0})


def test_a_sweep_deletes_readings_and_clips_past_the_period(store: TimeSeriesStore, tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    try:
        DetectionLog(db, Bus())  # creates the evidence table
        for age in (40.0, 10.0):
            db.execute("INSERT INTO evidence VALUES (?, ?, ?, 0, x'')", ["W-1", NOW - age * DAY_S, NOW - age * DAY_S])
        store.write([_reading(i, age) for i, age in enumerate((45.0, 31.0, 29.0, 1.0, 0.0))])
        swept = Retention(store, db, days=30, clock=lambda: NOW).sweep()
        assert swept.cutoff == NOW - 30 * DAY_S and swept.clips == 1
        assert swept.readings in (2, -1)  # InfluxDB does not count what it deleted
        assert [r.seq for r in store.range("W-1", 0, NOW + 1)] == [2, 3, 4]
        assert [row["impact_ts"] for row in db.execute("SELECT impact_ts FROM evidence")] == [NOW - 10 * DAY_S]
    finally:
        db.close()


def test_zero_keeps_forever_and_a_positive_setting_adds_the_stage(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keep forever"):
        Retention(DuckDBStore(tmp_path / "t.duckdb"), StateDB(tmp_path / "s.sqlite"), days=0)

    async def build(days: float) -> set[str]:
        store = StoreSettings(data_dir=tmp_path / f"d{days}", retention_days=days)
        hub = build_hub(Settings(mqtt=MqttSettings(url="mqtt://127.0.0.1:1"), store=store))
        hub.close()
        return set(hub.stages)

    assert "retention" not in asyncio.run(build(0))
    assert "retention" in asyncio.run(build(30))
