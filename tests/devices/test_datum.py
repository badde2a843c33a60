"""Chinese coordinates (issue 18): a GCJ-02 device's positions are stored as WGS-84, to within centimetres."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from devices.decode import Decoder
from devices.geo import gcj02_to_wgs84, haversine_km, wgs84_to_gcj02
from devices.models import Reading
from devices.records import DeviceRecord, Home, RegistryError, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB

# The vectors every implementation of the published GCJ-02 formula tests with (eviltransform): WGS-84 -> GCJ-02
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


@pytest.mark.parametrize(("wgs", "gcj"), VECTORS)
def test_published_vectors_both_ways(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)
    assert haversine_km(*gcj02_to_wgs84(*gcj), *wgs) * 1000 < 0.01  # within a centimetre
    assert haversine_km(*gcj, *wgs) * 1000 > 300  # the shift it undoes is hundreds of metres


def test_outside_china_nothing_moves() -> None:
    assert gcj02_to_wgs84(52.37, 4.89) == (52.37, 4.89)  # Amsterdam


def _registry(tmp_path: Path) -> Registry:
    reg = Registry(StateDB(tmp_path / "state.sqlite"))
    reg.add_home(Home("H1", "长沙市岳麓区", 28.2, 112.9))
    reg.add_resident(Resident("R1", "王秀英", "H1"))
    reg.add_device(DeviceRecord("W-GCJ", "wearable", "wearable", resident_id="R1", worn_at="wrist", datum="gcj02"))
    reg.add_device(DeviceRecord("W-WGS", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
    return reg


def test_a_gcj02_wearables_position_is_decoded_as_wgs84(tmp_path: Path) -> None:
    devices = _registry(tmp_path).devices()
    truth = (28.2282, 112.9388)  # Yuelu district, Changsha (WGS-84)
    reported = wgs84_to_gcj02(*truth)
    now = time.time()
    decoder = Decoder(max_payload_bytes=65536, max_future_s=86400)
    for device, expect in (("W-GCJ", truth), ("W-WGS", reported)):
        body = {"ts": now, "seq": 1, "lat": reported[0], "lon": reported[1], "battery": 80}
        rec = decoder.decode(f"eldercare/{device}/telemetry", orjson.dumps(body), devices, now)
        assert isinstance(rec, Reading), rec
        assert haversine_km(rec.values["lat"], rec.values["lon"], *expect) * 1000 < 0.05
        assert rec.values["battery"] == 80


def test_the_datum_is_checked_and_kept(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    assert reg.devices()["W-GCJ"].datum == "gcj02" and reg.devices()["W-WGS"].datum == "wgs84"
    with pytest.raises(RegistryError, match="datum"):
        reg.add_device(DeviceRecord("W-BD", "wearable", "wearable", resident_id="R1", worn_at="wrist", datum="bd09"))
