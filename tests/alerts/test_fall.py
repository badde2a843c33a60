"""Pure tests of FallDetector on synthetic traces (simulators/falls.py): no dataset needed."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.detection import Severity
from alerts.detector import Detector
from alerts.falls.detector import FallDetector
from devices.models import DeviceEvent, Family, Reading
from simulators.falls import FALL_LIKE, generate, windows

T0 = 1_700_000_000.0


def readings(acc: np.ndarray, rate: float, device: str = "w1", t0: float = T0) -> list[Reading]:
    """1-s telemetry windows of a trace, as ingest would build them."""
    return [Reading(device, Family.WEARABLE, t0 + k, k, {}, w, rate) for k, w in enumerate(windows(acc, rate))]


def feed(det: FallDetector, rs: list[Reading]) -> list:
    """Observe readings one by one; all detections."""
    return [d for r in rs for d in det.observe(r)]


def test_is_a_detector() -> None:
    assert isinstance(FallDetector(), Detector)
    assert FallDetector().name == "fall"


@pytest.mark.parametrize("rate", [25.0, 50.0, 100.0, 200.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_fall_detected_once_at_impact(rate: float, seed: int) -> None:
    acc, impact = generate("fall", rate, seed)
    dets = feed(FallDetector(), readings(acc, rate))
    assert len(dets) == 1
    d = dets[0]
    assert (d.kind, d.severity, d.detector, d.device_id) == ("fall", Severity.CRITICAL, "fall", "w1")
    assert d.ts == pytest.approx(T0 + impact / rate, abs=0.05)
    assert d.features["peak_g"] > 2.5 and d.features["orientation_change_deg"] > 60
    assert {"freefall_min_g", "stillness"} <= d.features.keys()
    assert 0.0 <= d.confidence <= 1.0


@pytest.mark.parametrize("kind", FALL_LIKE)
@pytest.mark.parametrize("rate", [25.0, 50.0, 200.0])
def test_fall_like_activities_not_detected(kind: str, rate: float) -> None:
    for seed in range(3):
        acc, _ = generate(kind, rate, seed)
        assert feed(FallDetector(), readings(acc, rate)) == []


def test_latched_until_ok_event() -> None:
    acc, _ = generate("fall", 50.0, 0)
    rs = readings(acc, 50.0)
    det = FallDetector()
    assert len(feed(det, rs)) == 1
    again = readings(acc, 50.0, t0=T0 + len(rs))  # a second fall right after: still latched
    assert feed(det, again) == []
    det.observe_event(DeviceEvent("w1", T0 + 100, 99, "ok"))
    assert len(feed(det, readings(acc, 50.0, t0=T0 + 2 * len(rs)))) == 1


def test_duplicates_and_late_windows_ignored() -> None:
    acc, _ = generate("fall", 50.0, 1)
    rs = readings(acc, 50.0)
    shuffled = []
    for i, r in enumerate(rs):
        shuffled += [r, r]  # every window twice
        if i >= 3:
            shuffled.append(rs[i - 3])  # and an old one, late
    assert len(feed(FallDetector(), shuffled)) == 1


def test_gap_before_fall_and_gap_after_impact() -> None:
    acc, impact = generate("fall", 50.0, 2)
    rs = readings(acc, 50.0)
    k_impact = impact // 50
    with_gap = [r for k, r in enumerate(rs) if k != 1]  # a lost window long before the impact
    assert len(feed(FallDetector(), with_gap)) == 1
    # the two windows after the impact's are lost: the tail of the impact window still shows the posture
    lost = [r for k, r in enumerate(rs) if k not in (k_impact + 1, k_impact + 2)]
    assert [d.ts for d in feed(FallDetector(), lost)] == pytest.approx([T0 + impact / 50.0])
    # the device falls silent for good right after the impact window: no evidence after it, no alert
    silent = [r for k, r in enumerate(rs) if k <= k_impact] + [rs[-1]]
    assert len(feed(FallDetector(), silent)) <= 1


def test_devices_are_independent_and_batch_matches_single() -> None:
    fall, _ = generate("fall", 50.0, 0)
    calm, _ = generate("daily", 50.0, 0)
    a, b = readings(fall, 50.0, "a"), readings(calm[: len(fall)], 50.0, "b")
    det = FallDetector()
    batched = [d for ra, rb in zip(a, b, strict=True) for d in det.observe_batch([ra, rb])]
    assert [d.device_id for d in batched] == ["a"]
    single = feed(FallDetector(), [r for pair in zip(a, b, strict=True) for r in pair])
    assert [(d.ts, d.features) for d in single] == [(d.ts, d.features) for d in batched]


def test_wrist_is_stricter_than_waist() -> None:
    acc, _ = generate("fall", 50.0, 0)
    acc = acc.copy()
    peak = np.argmax(np.linalg.norm(acc, axis=1))
    acc[peak - 2 : peak + 3] *= 3.0 / np.linalg.norm(acc[peak])  # a 3 g impact only
    rs = readings(acc, 50.0)
    assert len(feed(FallDetector(), rs)) == 1
    assert feed(FallDetector(worn_at="wrist"), rs) == []
    det = FallDetector()
    det.set_worn_at("w1", "wrist")
    assert feed(det, rs) == []


def test_readings_without_acc_and_advance() -> None:
    det = FallDetector()
    assert det.observe(Reading("w1", Family.WEARABLE, T0, 0, {"heart_rate_bpm": 70.0})) == []
    assert det.advance(T0 + 10) == []
