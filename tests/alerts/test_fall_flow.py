"""The fall alert flow on the hub's clock: cancel window, I'm OK, merging device and hub falls and SOS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alerts.detection import Detection, Severity
from alerts.falls.flow import AlertFlow
from alerts.falls.store import PendingFallStore
from alerts.log import DetectionLog
from dashboard.bus import Bus
from devices.models import DeviceEvent
from devices.statedb.sqlite import StateDB

DEV = "W1"


def _flow(window: float = 30.0) -> tuple[AlertFlow, list[tuple[str, dict[str, Any]]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    flow = AlertFlow(window, 120.0, lambda d, body: sent.append((d, body)), lambda d: "R1")
    return flow, sent


def _hub_fall(ts: float = 1000.0) -> Detection:
    return Detection("fall", "fall", DEV, DEV, ts, Severity.CRITICAL, 0.95, {"peak_g": 4.0})


def _event(name: str, ts: float, seq: int = 1) -> DeviceEvent:
    return DeviceEvent(DEV, ts, seq, name)


def test_fall_waits_its_window_then_alerts_once() -> None:
    flow, sent = _flow()
    assert flow.on_detections([_hub_fall()], now=0.0) == []
    assert sent[0] == (DEV, {"cmd": "fall_seen", "impact_ts": 1000.0, "cancel_within_s": 30.0,
                        "text": "检测到跌倒，如无事请按“我没事”"})  # issue 18: the short text for its screen
    assert flow.tick(29.9) == []
    [alert] = flow.tick(30.0)
    assert alert.kind == "fall" and alert.subject_id == "R1" and alert.ts == 1000.0
    assert alert.features["source_hub"] == 1.0 and alert.features["peak_g"] == 4.0
    assert sent[-1][1]["cmd"] == "help_coming"
    assert flow.tick(100.0) == []  # latched: never twice


def test_im_ok_inside_the_window_cancels() -> None:
    flow, sent = _flow()
    flow.on_detections([_hub_fall()], now=0.0)
    assert flow.on_events([_event("ok", 1010.0)], now=10.0) == []
    assert flow.tick(60.0) == []
    assert flow.cancelled == 1 and sent[-1][1]["cmd"] == "fall_cancelled"


def test_ok_after_the_alert_does_not_unsend_it() -> None:
    flow, _ = _flow()
    flow.on_detections([_hub_fall()], now=0.0)
    assert len(flow.tick(31.0)) == 1
    flow.on_events([_event("ok", 1040.0)], now=40.0)
    assert flow.cancelled == 0


def test_device_fall_and_hub_fall_are_one_alert() -> None:
    flow, _ = _flow()
    flow.on_events([_event("fall", 1001.5)], now=0.5)
    flow.on_detections([_hub_fall(1000.0)], now=2.0)
    [alert] = flow.tick(31.0)
    assert alert.features["source_device"] == 1.0 and alert.features["source_hub"] == 1.0
    assert flow.merged == 1
    # the device repeats its event after the alert: still merged, no second alert
    flow.on_events([_event("fall", 1003.0, seq=2)], now=32.0)
    assert flow.tick(100.0) == [] and flow.merged == 2


def test_sos_during_the_window_raises_the_fall_now() -> None:
    flow, _ = _flow()
    flow.on_detections([_hub_fall()], now=0.0)
    [alert] = flow.on_events([_event("sos", 1002.0)], now=2.0)
    assert alert.kind == "fall" and alert.features["source_sos"] == 1.0
    assert flow.tick(40.0) == []


def test_sos_alone_and_green_key() -> None:
    flow, sent = _flow()
    [sos] = flow.on_events([_event("sos", 500.0)], now=0.0)
    assert sos.kind == "sos" and sos.severity is Severity.CRITICAL and sos.subject_id == "R1"
    assert sent[-1][1]["cmd"] == "help_coming"
    [service] = flow.on_events([DeviceEvent(DEV, 600.0, 2, "service_request", {"service": "meals"})], now=1.0)
    assert service.kind == "service_request" and service.message == "meals" and service.severity is Severity.INFO


def test_zero_window_alerts_on_the_next_tick() -> None:
    flow, _ = _flow(window=0.0)
    flow.on_detections([_hub_fall()], now=5.0)
    assert len(flow.tick(5.0)) == 1


def test_other_detections_pass_straight_through() -> None:
    flow, _ = _flow()
    smoke = Detection("home_safety", "smoke", "H1", "S1", 10.0, Severity.CRITICAL)
    assert flow.on_detections([smoke], now=0.0) == [smoke]


def _stored_flow(path: Path, raised: dict[str, float] | None = None) -> AlertFlow:
    return AlertFlow(30.0, 120.0, lambda d, body: None, lambda d: "R1", PendingFallStore(StateDB(path)), raised)


def test_a_pending_fall_survives_a_restart_and_alerts_once_when_its_window_ends(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    before = _stored_flow(path)
    before.on_detections([_hub_fall()], now=0.0)
    before.on_events([_event("fall", 1001.0)], now=1.0)  # the wearable's own report of the same fall
    before.save()  # what the detector stage does before the batch is acked; then kill -9
    after = _stored_flow(path)
    assert after.tick(29.9) == []  # the window is on the hub's clock and still running
    [alert] = after.tick(30.0)
    assert alert.ts == 1000.0 and alert.features["source_hub"] == alert.features["source_device"] == 1.0
    after.save()
    assert _stored_flow(path).tick(1000.0) == []  # raised: gone from the store


def test_a_cancelled_fall_stays_cancelled_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    before = _stored_flow(path)
    before.on_detections([_hub_fall()], now=0.0)
    before.save()
    before.on_events([_event("ok", 1005.0, seq=2)], now=5.0)
    before.save()
    assert _stored_flow(path).tick(100.0) == []


def test_a_fall_alerted_before_a_restart_merges_with_its_late_second_source(tmp_path: Path) -> None:
    flow = _stored_flow(tmp_path / "state.sqlite", raised={DEV: 1000.0})  # from the detection log at start
    assert flow.on_events([_event("fall", 1003.0)], now=0.0) == []
    assert flow.tick(100.0) == [] and flow.merged == 1


def test_the_detection_log_keeps_a_detection_detected_again_once(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    bus = Bus()
    sub = bus.subscribe()
    log = DetectionLog(db, bus)
    hr = Detection("vitals", "vital_limit", "R1", DEV, 1000.0, Severity.CRITICAL, key="heart_rate_bpm")
    spo2 = Detection("vitals", "vital_limit", "R1", DEV, 1000.0, Severity.CRITICAL, key="spo2_pct")
    log([hr, spo2])
    log([hr, _hub_fall()])  # hr again, as after a redelivery
    assert sorted((d["kind"], d["alert_key"]) for d in log.recent()) == [
        ("fall", ""), ("vital_limit", "heart_rate_bpm"), ("vital_limit", "spo2_pct")]
    assert sub.queue.qsize() == 3 and log.repeated == 1  # announced once each
    assert log.last_falls(0.0) == {DEV: 1000.0}
