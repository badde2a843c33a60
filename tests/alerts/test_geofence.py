"""The geofence: a phone leaving home at night and not coming back is a night exit; by day, or back in time, not."""

from __future__ import annotations

from alerts.care.geofence import GeofenceDetector, distance_m
from devices.models import Family, Reading
from devices.topology import DeviceInfo, SensorKind, Topology

HOME = (28.2282, 112.9388)
FAR = (28.2382, 112.9388)  # about 1.1 km north
MIDNIGHT_LOCAL = 1_735_660_800.0  # 2025-01-01 00:00 at UTC+8 (2024-12-31 16:00 UTC)


def _detector() -> GeofenceDetector:
    topo = Topology(
        [
            DeviceInfo("P1", Family.WEARABLE, SensorKind.WEARABLE, "R1", "H1"),
            DeviceInfo("D1", Family.HOME_SENSOR, SensorKind.DOOR, "R1", "H1"),
        ]
    )
    return GeofenceDetector(topo, {"H1": HOME})


def _fix(ts: float, pos: tuple[float, float], device: str = "P1") -> Reading:
    return Reading(device, Family.WEARABLE, ts, int(ts), {"lat": pos[0], "lon": pos[1], "battery": 80.0})


def test_distance() -> None:
    assert 1100 < distance_m(*HOME, *FAR) < 1120


def test_night_exit_after_thirty_minutes_away() -> None:
    det = _detector()
    t0 = MIDNIGHT_LOCAL + 3600  # 01:00 local
    det.observe(_fix(t0 - 600, HOME))
    det.observe(_fix(t0, FAR))
    assert det.advance(t0 + 1799) == []
    found = det.advance(t0 + 1800)
    assert [(d.kind, d.subject_id, d.device_id) for d in found] == [("night_exit", "R1", "P1")]
    assert found[0].features["distance_m"] > 1000
    assert det.advance(t0 + 4000) == []  # once per exit


def test_back_in_time_or_by_day_is_no_alert() -> None:
    det = _detector()
    t0 = MIDNIGHT_LOCAL + 3600
    det.observe(_fix(t0, FAR))
    det.observe(_fix(t0 + 900, HOME))
    assert det.advance(t0 + 3600) == []
    noon = MIDNIGHT_LOCAL + 12 * 3600
    det.observe(_fix(noon, FAR))
    assert det.advance(noon + 7200) == []


def test_readings_without_position_or_from_home_sensors_are_ignored() -> None:
    det = _detector()
    t0 = MIDNIGHT_LOCAL + 3600
    det.observe(Reading("P1", Family.WEARABLE, t0, 1, {"battery": 50.0}))
    det.observe(_fix(t0, FAR, device="D1"))
    assert det.advance(t0 + 7200) == []
