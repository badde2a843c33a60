"""Home-safety detector: immediate critical alarm, one per alarm, stuck sensors, debounced clearing."""

from __future__ import annotations

from alerts.care.home_safety import HomeSafetyDetector
from alerts.detection import Severity
from devices.models import Family, Reading
from devices.topology import DeviceInfo, SensorKind, Topology

T0 = 1_709_222_400.0
TOPO = Topology(
    [
        DeviceInfo("smoke1", Family.HOME_SENSOR, SensorKind.SMOKE, "res1", "home1", "kitchen"),
        DeviceInfo("gas1", Family.HOME_SENSOR, SensorKind.GAS, "res1", "home1", "kitchen"),
        DeviceInfo("leak1", Family.HOME_SENSOR, SensorKind.WATER_LEAK, "res1", "home1", "bathroom"),
    ]
)


def send(det: HomeSafetyDetector, device: str, ts: float, **values: float) -> list:
    return det.observe(Reading(device, Family.HOME_SENSOR, ts, 0, values))


def test_alarm_is_immediate_and_critical_for_the_home() -> None:
    det = HomeSafetyDetector(TOPO)
    assert send(det, "gas1", T0, gas=0.0, battery=90.0) == []
    found = send(det, "gas1", T0 + 10, gas=1.0)
    assert [(d.kind, d.subject_id, d.severity, d.ts) for d in found] == [("gas", "home1", Severity.CRITICAL, T0 + 10)]


def test_stuck_sensor_alerts_once_then_says_stuck_once() -> None:
    det = HomeSafetyDetector(TOPO)
    found = []
    for k in range(30):  # a heartbeat with smoke=true every hour for 30 h
        found += send(det, "smoke1", T0 + 3600 * k, smoke=1.0)
        found += det.advance(T0 + 3600 * k + 60)
    assert [(d.kind, d.severity) for d in found] == [("smoke", Severity.CRITICAL), ("smoke_stuck", Severity.INFO)]
    assert found[1].ts == T0 + 3600  # exactly at the stuck threshold


def test_clearing_is_debounced_and_reported() -> None:
    det = HomeSafetyDetector(TOPO)
    send(det, "leak1", T0, water_leak=1.0)
    assert send(det, "leak1", T0 + 600, water_leak=0.0) == []
    assert det.advance(T0 + 600 + 119) == []
    cleared = det.advance(T0 + 600 + 120)
    assert [(d.kind, d.severity) for d in cleared] == [("water_leak_cleared", Severity.INFO)]
    assert det.advance(T0 + 7200) == []
    again = send(det, "leak1", T0 + 7300, water_leak=1.0)  # a new alarm after clearing is a new alarm
    assert [d.kind for d in again] == ["water_leak"]


def test_flapping_sensor_is_one_alarm() -> None:
    det = HomeSafetyDetector(TOPO)
    found = []
    for k in range(20):  # on/off every 30 s
        found += send(det, "smoke1", T0 + 30 * k, smoke=float(k % 2 == 0))
        found += det.advance(T0 + 30 * k)
    assert [d.kind for d in found] == ["smoke"]


def test_reordered_messages_are_dropped_and_clock_resets_accepted() -> None:
    det = HomeSafetyDetector(TOPO)
    send(det, "gas1", T0 + 1000, gas=1.0)
    assert send(det, "gas1", T0 + 990, gas=0.0) == []  # older than the last: ignored, no clearing
    assert det.advance(T0 + 2000) == []
    send(det, "gas1", T0 - 86_400, gas=0.0)  # device clock reset a day back: taken as the new present
    assert [d.kind for d in det.advance(T0 + 2000)] == ["gas_cleared"]


def test_readings_without_hazard_fields_do_nothing() -> None:
    det = HomeSafetyDetector(TOPO)
    assert send(det, "smoke1", T0, battery=12.0, temperature=21.0) == []
    assert det.advance(T0 + 86_400) == []
