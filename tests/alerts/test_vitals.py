"""Vitals detector on crafted sequences: limits at the threshold, sustained duration, artefacts, gaps, clock jumps."""

from __future__ import annotations

from alerts.care.vitals import Limit, VitalsDetector, VitalsSettings
from alerts.detection import Severity
from devices.models import Family, Reading
from devices.topology import DeviceInfo, SensorKind, Topology

T0 = 1_709_222_400.0  # local midnight (UTC+8)
TOPO = Topology([DeviceInfo("w1", Family.WEARABLE, SensorKind.WEARABLE, "res1", "home1")])


def reading(ts: float, **values: float) -> Reading:
    return Reading("w1", Family.WEARABLE, ts, int(ts), {k: float(v) for k, v in values.items()})


def feed(det: VitalsDetector, seq: list[tuple[float, dict[str, float]]]) -> list:
    out = []
    for ts, values in seq:
        out.extend(det.observe(reading(ts, **values)))
    return out


def test_spo2_below_90_for_a_minute_alerts_once() -> None:
    det = VitalsDetector(TOPO)
    assert det.observe(reading(T0, spo2=89.0)) == []  # a single low reading is not an alert
    assert det.observe(reading(T0 + 30, spo2=89.0)) == []  # nor two, nor under a minute
    found = det.observe(reading(T0 + 60, spo2=89.0))
    assert [(d.kind, d.subject_id, d.severity) for d in found] == [("vital_limit", "res1", Severity.CRITICAL)]
    assert found[0].features["duration_s"] == 60.0
    assert feed(det, [(T0 + 60 * k, {"spo2": 88.0}) for k in range(2, 10)]) == []  # same episode


def test_exactly_at_the_limit_is_not_a_breach() -> None:
    det = VitalsDetector(TOPO)
    seq = [(T0 + 60 * k, {"spo2": 90.0, "heart_rate": 130.0 if k % 2 else 40.0}) for k in range(30)]
    assert feed(det, seq) == []


def test_heart_rate_needs_its_sustain_time() -> None:
    det = VitalsDetector(TOPO)
    assert feed(det, [(T0, {"heart_rate": 131}), (T0 + 60, {"heart_rate": 131}), (T0 + 119, {"heart_rate": 131})]) == []
    assert [d.kind for d in det.observe(reading(T0 + 120, heart_rate=131))] == ["vital_limit"]


def test_motion_artefacts_are_rejected() -> None:
    det = VitalsDetector(TOPO)
    seq = [(T0 + 60 * k, {"heart_rate": 160, "spo2": 82, "steps": 60}) for k in range(20)]
    assert feed(det, seq) == []


def test_accelerometer_motion_rejects_too() -> None:
    det = VitalsDetector(TOPO)
    busy = [[0.0, 0.0, 1.0], [0.0, 0.0, 2.5], [0.0, 0.0, 0.2], [0.0, 0.0, 1.8]] * 10
    out = []
    for k in range(10):
        r = Reading("w1", Family.WEARABLE, T0 + 60 * k, k, {"spo2": 85.0}, acc=busy, acc_rate_hz=50.0)
        out.extend(det.observe(r))
    assert out == []


def test_a_gap_restarts_the_count() -> None:
    det = VitalsDetector(TOPO)
    seq = [(T0, {"spo2": 85}), (T0 + 60, {"spo2": 85}), (T0 + 661, {"spo2": 85}), (T0 + 700, {"spo2": 85})]
    assert feed(det, seq) == []  # 601 s apart: no continuity, the count restarts
    assert [d.kind for d in det.observe(reading(T0 + 721, spo2=85))] == ["vital_limit"]


def test_recovery_then_new_breach_within_refractory_is_quiet() -> None:
    det = VitalsDetector(TOPO)
    assert len(feed(det, [(T0 + 60 * k, {"spo2": 85}) for k in range(3)])) == 1
    flicker = [(T0 + 180, {"spo2": 96})] + [(T0 + 240 + 60 * k, {"spo2": 85 if k % 4 else 95}) for k in range(60)]
    assert feed(det, flicker) == []  # an episode that flickers for an hour stays one episode
    later = T0 + 240 + 3600 + 1800
    assert feed(det, [(later - 1800, {"spo2": 96})]) == []
    assert len(feed(det, [(later + 60 * k, {"spo2": 85}) for k in range(3)])) == 1  # after 30 min normal: new


def test_clock_jumps_backwards() -> None:
    det = VitalsDetector(TOPO)
    assert det.observe(reading(T0 + 3600, spo2=85)) == []
    assert det.observe(reading(T0 + 3630, spo2=85)) == []
    assert det.observe(reading(T0 + 3620, spo2=85)) == []  # reordered: dropped, not counted
    assert det.observe(reading(T0 + 3660, spo2=85)) != []
    # a device clock reset far back: state restarts, a fresh sustained breach is needed
    assert feed(det, [(T0, {"spo2": 85}), (T0 + 30, {"spo2": 85})]) == []
    assert det.observe(reading(T0 + 60, spo2=85)) != []


def test_per_resident_limits() -> None:
    settings = VitalsSettings(per_resident={"res1": {"heart_rate": Limit(45.0, 110.0, sustain_s=120.0)}})
    det = VitalsDetector(TOPO, settings)
    seq = [(T0 + 60 * k, {"heart_rate": 115}) for k in range(3)]
    assert [d.kind for d in feed(det, seq)] == ["vital_limit"]
    assert feed(VitalsDetector(TOPO), seq) == []


def test_blood_pressure_needs_a_confirming_measurement() -> None:
    det = VitalsDetector(TOPO)
    assert det.observe(reading(T0, systolic=185, diastolic=95)) == []
    found = det.observe(reading(T0 + 300, systolic=190, diastolic=100))
    assert [d.kind for d in found] == ["vital_limit"]
    assert det.observe(reading(T0 + 7200, systolic=185)) == []  # hours later: a new first reading


def test_own_baseline_by_time_of_day() -> None:
    det = VitalsDetector(TOPO)
    seq = [(T0 + 120 * k, {"heart_rate": 64 + (k % 5)}) for k in range(3 * 720)]  # three quiet days
    assert feed(det, seq) == []
    t = T0 + 3 * 86_400 + 10 * 3600
    assert feed(det, [(t + 120 * k, {"heart_rate": 100}) for k in range(5)]) == []  # < 10 min: not yet
    found = feed(det, [(t + 120 * k, {"heart_rate": 100}) for k in range(5, 9)])
    assert [(d.kind, d.severity) for d in found] == [("vital_baseline", Severity.WARNING)]
    assert 64 <= found[0].features["baseline"] <= 68


def test_no_baseline_alert_while_learning() -> None:
    det = VitalsDetector(TOPO)
    seq = [(T0 + 120 * k, {"heart_rate": 65}) for k in range(60)] + [
        (T0 + 7200 + 120 * k, {"heart_rate": 110}) for k in range(30)
    ]
    assert feed(det, seq) == []


def test_unregistered_device_is_ignored() -> None:
    det = VitalsDetector(TOPO)
    r = Reading("stranger", Family.WEARABLE, T0, 0, {"spo2": 70.0})
    assert det.observe(r) == [] and det.observe(r) == []
