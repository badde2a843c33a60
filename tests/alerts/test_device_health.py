"""Device-health detector: heartbeat deadlines, last wills, low battery, outages, restarts and clock skew."""

from __future__ import annotations

from alerts.care.device_health import DeviceHealthDetector
from alerts.detection import Detection, Severity
from devices.models import Availability, Family, Reading
from devices.topology import DeviceInfo, SensorKind, Topology

T0 = 1_709_222_400.0


def topology(wearables: int = 1) -> Topology:
    infos = [DeviceInfo(f"w{i}", Family.WEARABLE, SensorKind.WEARABLE, f"r{i}", f"h{i}") for i in range(wearables)]
    infos.append(DeviceInfo("smoke", Family.HOME_SENSOR, SensorKind.SMOKE, "r0", "h0", "kitchen"))
    return Topology(infos)


def reading(device: str, ts: float, **values: float) -> Reading:
    return Reading(device, Family.WEARABLE, ts, 0, values)


def tick(det: DeviceHealthDetector, start: float, end: float, step: float = 60.0) -> list[Detection]:
    out, t = [], start
    while t <= end:
        out += det.advance(t)
        t += step
    return out


def run(det: DeviceHealthDetector, start: float, end: float, reporters: list[str]) -> list[Detection]:
    """Minute ticks from start to end; every reporter sends a reading every two minutes."""
    out, t = [], start
    while t <= end:
        if int(t - start) % 120 == 0:
            for device in reporters:
                out += det.observe(reading(device, t))
        out += det.advance(t)
        t += 60.0
    return out


def started(wearables: int = 1) -> DeviceHealthDetector:
    det = DeviceHealthDetector(topology(wearables))
    det.advance(T0)
    for i in range(wearables):
        det.observe(reading(f"w{i}", T0))
    det.observe(reading("smoke", T0))
    return det


def test_silent_wearable_alerts_after_timeout_plus_hold() -> None:
    det = started()
    det.advance(T0 + 1000)
    det.observe(reading("w0", T0 + 1000))
    assert det.advance(T0 + 1000 + 600 + 299) == []  # 10 min timeout + 5 min hold
    found = tick(det, T0 + 1000 + 900, T0 + 3 * 3600)
    assert [(d.kind, d.subject_id, d.ts) for d in found] == [("device_offline", "w0", T0 + 1900)]
    back = det.observe(reading("w0", T0 + 3 * 3600 + 10))
    assert [(d.kind, d.severity) for d in back] == [("device_online", Severity.INFO)]


def test_smoke_detector_has_hours_not_minutes() -> None:
    det = started()
    assert run(det, T0, T0 + 5 * 3600, ["w0"]) == []  # smoke silent 5 h: within its 6 h


def test_last_will_alerts_quickly_unless_contradicted() -> None:
    det = started()
    det.observe_availability(Availability("w0", False, T0 + 100))
    det.observe_availability(Availability("w0", True, T0 + 130))
    det.observe(reading("w0", T0 + 300))
    assert tick(det, T0 + 60, T0 + 600) == []
    det.observe_availability(Availability("w0", False, T0 + 700))
    found = tick(det, T0 + 660, T0 + 1200)
    assert [(d.kind, d.ts) for d in found] == [("device_offline", T0 + 1080)]  # will + 60 s + 300 s hold


def test_low_battery_exactly_at_threshold_and_rearm() -> None:
    det = started()
    levels = [16.0, 15.0, 14.9, 12.0, 14.0, 24.9, 14.0, 25.0, 30.0, 10.0]
    found = [d.kind for k, b in enumerate(levels) for d in det.observe(reading("w0", T0 + k, battery=b))]
    assert found == ["low_battery", "low_battery"]  # at 14.9, and again at 10 after a charge to >= 25


def test_many_silent_at_once_is_one_infrastructure_alert() -> None:
    det = started(wearables=30)
    for i in range(30):
        det.observe(reading(f"w{i}", T0 + 60))
    for i in range(25):  # a network outage: 25 last wills within a minute
        det.observe_availability(Availability(f"w{i}", False, T0 + 200 + i))
    found = run(det, T0 + 60, T0 + 2400, [f"w{i}" for i in range(25, 30)])
    assert [(d.kind, d.severity) for d in found] == [("infrastructure", Severity.CRITICAL)]
    later = run(det, T0 + 2460, T0 + 4 * 3600, [f"w{i}" for i in range(1, 30)])  # all but w0 come back
    assert [d.kind for d in later] == ["infrastructure_restored", "device_offline"]
    assert later[1].subject_id == "w0"


def test_broker_restart_gives_grace_and_no_alerts() -> None:
    det = started(wearables=30)
    det.on_disconnect(T0 + 600)
    assert tick(det, T0 + 600, T0 + 3000) == []  # disconnected: silence proves nothing
    det.on_reconnect(T0 + 3000)
    det.observe(reading("smoke", T0 + 3100))
    back = [f"w{i}" for i in range(29)]  # all but one come back
    assert run(det, T0 + 3000, T0 + 3000 + 300 + 600 + 240, back) == []
    found = run(det, T0 + 3000 + 1200, T0 + 3000 + 1300, back)
    assert [(d.kind, d.subject_id, d.ts) for d in found] == [("device_offline", "w29", T0 + 4200)]


def test_device_clock_jumps_do_not_fake_or_hide_silence() -> None:
    det = started()
    det.advance(T0 + 600)
    det.observe(reading("w0", T0 - 86_400))  # clock a day behind: heard now all the same
    assert tick(det, T0 + 600, T0 + 1400) == []
    det.observe(reading("w0", T0 + 900 + 86_400))  # a day ahead: clamped, silence still shows
    found = tick(det, T0 + 900, T0 + 4000)
    assert [d.kind for d in found] == ["device_offline"]
    assert found[0].ts <= T0 + 1400 + 600 + 600 + 300 + 60  # hub time + skew + timeout + hold + a tick


def test_registered_device_never_heard_of_is_expected_after_start_grace() -> None:
    det = DeviceHealthDetector(topology())
    found = tick(det, T0, T0 + 7 * 3600)
    assert sorted(d.subject_id for d in found) == ["smoke", "w0"]


def test_a_worker_judges_only_the_devices_of_its_shards() -> None:
    """Issues 7 and 20: another worker's devices never report here, and must not look silent (nor an outage)."""
    mine = {f"w{i}" for i in range(0, 30, 3)}
    owned = set(mine)
    det = DeviceHealthDetector(topology(wearables=30), owns=lambda device_id: device_id in owned)
    found = run(det, T0, T0 + 2 * 3600, sorted(mine))  # 20 wearables and the smoke alarm never report here
    assert found == []
    owned.discard("w0")  # its shard went to another worker: not judged here any more
    later = run(det, T0 + 2 * 3600 + 60, T0 + 4 * 3600, sorted(mine - {"w0", "w3"}))  # w3 falls silent
    assert [(d.kind, d.subject_id) for d in later] == [("device_offline", "w3")]
