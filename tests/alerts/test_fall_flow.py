"""The fall alert flow on the hub's clock: cancel window, I'm OK, merging device and hub falls and SOS."""

from __future__ import annotations

from typing import Any

from alerts.fall_flow import AlertFlow
from hub.models import Detection, DeviceEvent, Severity

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
    assert sent[0] == (DEV, {"cmd": "fall_seen", "impact_ts": 1000.0, "cancel_within_s": 30.0})
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
