"""The TimeSeriesStore contract, run against both stores: embedded DuckDB and a real InfluxDB 1.x server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.models import Family, Reading
from hub.broker import free_port
from ingest.store.base import StoreError, TimeSeriesStore
from ingest.store.duckdb_store import DuckDBStore
from ingest.store.influx import InfluxStore

T0 = 1_700_000_000.0  # a fixed epoch second (2023-11-14), so interval boundaries are predictable


@pytest.fixture(params=["duckdb", "influxdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    """Each store in turn, empty."""
    if request.param == "duckdb":
        opened: TimeSeriesStore = DuckDBStore(tmp_path / "telemetry.duckdb")
    else:
        opened = InfluxStore(request.getfixturevalue("influxdb").url, "contract")
    yield opened
    opened.close()


def _wearable(device_id: str, seq: int, ts: float, hr: float) -> Reading:
    return Reading(device_id, Family.WEARABLE, ts, seq, {"heart_rate": hr, "spo2": 97.0})


def _fill(store: TimeSeriesStore) -> None:
    store.write([_wearable("W1", i, T0 + i, 60.0 + i) for i in range(30)])
    store.write([_wearable("W2", i, T0 + 0.5 + i, 80.0) for i in range(10)])
    store.write([Reading("R1", Family.TERMINAL, T0 + 5, 1, {"rainfall_mm": 12.5, "river_level_m": 2.25})])


def test_write_then_count(store: TimeSeriesStore) -> None:
    assert store.count() == 0
    _fill(store)
    assert store.count() == 41


def test_empty_batch_is_a_no_op(store: TimeSeriesStore) -> None:
    store.write([])
    assert store.count() == 0
    assert store.latest() == []


def test_latest_per_device(store: TimeSeriesStore) -> None:
    _fill(store)
    latest = {r.device_id: r for r in store.latest()}
    assert sorted(latest) == ["R1", "W1", "W2"]
    assert latest["W1"].seq == 29
    assert latest["W1"].ts == pytest.approx(T0 + 29, abs=1e-6)
    assert latest["W1"].values == {"heart_rate": 89.0, "spo2": 97.0}
    assert latest["W1"].family == "wearable"
    assert latest["R1"].values == {"rainfall_mm": 12.5, "river_level_m": 2.25}
    assert [r.device_id for r in store.latest(["W2", "R1"])] == ["R1", "W2"]
    assert store.latest(["nobody"]) == []


def test_range_is_half_open_and_ordered(store: TimeSeriesStore) -> None:
    _fill(store)
    rows = store.range("W1", T0 + 10, T0 + 20)
    assert [r.seq for r in rows] == list(range(10, 20))
    assert rows[0].ts == pytest.approx(T0 + 10, abs=1e-6)
    assert [r.seq for r in store.range("W1", T0, T0 + 100, limit=3)] == [0, 1, 2]
    assert store.range("W1", T0 + 100, T0 + 200) == []


def test_aggregate_mean_per_interval(store: TimeSeriesStore) -> None:
    _fill(store)
    rows = store.aggregate("W1", "heart_rate", T0, T0 + 30, 10)
    assert [t for t, _ in rows] == [T0, T0 + 10, T0 + 20]
    assert [v for _, v in rows] == pytest.approx([64.5, 74.5, 84.5])
    assert store.aggregate("W1", "rainfall_mm", T0, T0 + 30, 10) == []


def test_aggregate_unknown_metric_is_an_error(store: TimeSeriesStore) -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        store.aggregate("W1", "heart_rate; DROP", T0, T0 + 30, 10)


def test_recent_seqs_seed_dedup(store: TimeSeriesStore) -> None:
    _fill(store)
    seqs = store.recent_seqs(T0 + 7)
    assert sorted(seqs) == ["W1", "W2"]
    assert sorted(seqs["W1"][0]) == list(range(7, 30))
    assert seqs["W1"][1] == pytest.approx(T0 + 29, abs=1e-6)
    assert sorted(seqs["W2"][0]) == [7, 8, 9]
    assert seqs["W2"][1] == pytest.approx(T0 + 9.5, abs=1e-6)


def test_same_microsecond_keeps_both_messages_and_a_rewrite_overwrites(store: TimeSeriesStore) -> None:
    batch = [_wearable("W1", 1, T0, 60.0), _wearable("W1", 2, T0, 61.0)]
    store.write(batch)
    assert store.count() == 2
    if isinstance(store, InfluxStore):  # a retried write (after a 500 that stored it anyway) must not double
        store.write(batch)
        assert store.count() == 2


def test_quotes_and_spaces_in_device_ids(store: TimeSeriesStore) -> None:
    odd = "it's a, b=c\\d"
    store.write([_wearable(odd, 1, T0, 70.0)])
    assert [r.device_id for r in store.latest([odd])] == [odd]
    assert [r.seq for r in store.range(odd, T0 - 1, T0 + 1)] == [1]


def test_influx_down_is_a_store_error_with_the_address() -> None:
    store = InfluxStore(f"http://127.0.0.1:{free_port()}", "nowhere", timeout_s=1.0)
    t0 = time.monotonic()
    with pytest.raises(StoreError, match=r"127\.0\.0\.1"):
        store.write([_wearable("W1", 1, T0, 60.0)])
    with pytest.raises(StoreError):
        store.count()
    assert time.monotonic() - t0 < 5
    store.close()


def test_device_status_is_the_last_reading_and_the_last_battery_up_to_a_moment(store: TimeSeriesStore) -> None:
    _fill(store)
    store.write([Reading("W1", Family.WEARABLE, T0 + 10.25, 100, {"heart_rate": 70.0, "battery": 55.0}),
                 Reading("W1", Family.WEARABLE, T0 + 20.25, 101, {"heart_rate": 70.0, "battery": 12.0})])  # fmt: skip
    status = {r["device_id"]: (r["last_seen"], r["battery"]) for r in store.device_status(T0, T0 + 15).to_pylist()}
    assert status == {"W1": (pytest.approx(T0 + 15), 55.0), "W2": (pytest.approx(T0 + 9.5), None),
                      "R1": (pytest.approx(T0 + 5), None)}  # fmt: skip
    later = {r["device_id"]: (r["last_seen"], r["battery"]) for r in store.device_status(T0, T0 + 100).to_pylist()}
    assert later["W1"] == (pytest.approx(T0 + 29), 12.0)  # the newest battery, though newer readings lack one
    assert store.device_status(T0 - 10, T0 - 1).num_rows == 0
    assert [r["device_id"] for r in store.device_status(T0 + 25, T0 + 100).to_pylist()] == ["W1"]  # the look-back
