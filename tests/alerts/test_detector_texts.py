"""What the detectors write for people (a detection's message: what fired and why) comes from the hub's catalogue in
the hub's language: run every detector on the simulator's scenarios (care anomalies of every type, synthetic falls,
the wearable's keys, a storm's gauges, an overdue disaster report) and check each text in zh-CN has no English word
left, and in en no Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from alerts.care.geofence import GeofenceDetector
from alerts.catalog import build_catalog
from alerts.detection import Detection
from alerts.disaster.reports import ReportBook
from alerts.disaster.warnings import GaugeWarningDetector
from alerts.eval.anomaly import replay
from alerts.falls.detector import FallDetector
from alerts.falls.flow import AlertFlow
from devices import i18n
from devices.models import DeviceEvent, Family, Reading
from devices.topology import DeviceInfo, SensorKind, Topology
from simulators.falls import generate, windows
from simulators.scenarios import TYPES, Scenario

T0 = 1_780_000_000.0
LATIN_OK = {"SOS"}  # the key's name on the wearable


@pytest.fixture
def language() -> Iterator[None]:
    """The hub's language is zh-CN unless a test sets it (whatever an earlier test in this process set), and again
    zh-CN afterwards."""
    i18n.configure("zh-CN")
    yield
    i18n.configure("zh-CN")


def _care() -> list[Detection]:
    scenario = Scenario(homes=6, days=5, seed=2, per_type=1)
    return replay(scenario, build_catalog(scenario.topology).build(), progress=False)


def _falls() -> list[Detection]:
    acc, _ = generate("fall", 50.0, 0)
    det = FallDetector()
    found = [d for k, w in enumerate(windows(acc, 50.0)) for d in det.observe(
        Reading("W1", Family.WEARABLE, T0 + k, k, {}, w, 50.0))]  # fmt: skip
    flow = AlertFlow(30.0, 120.0, lambda device, body: None, lambda device: "R1")
    flow.on_detections(found, now=0.0)
    flow.on_events([DeviceEvent("W1", T0 + 1, 99, "fall")], now=1.0)  # the wearable's own fall: one alert, 2 sources
    flow.on_events([DeviceEvent("W2", T0, 1, "fall")], now=1.0)
    alerts = flow.tick(60.0) + flow.on_events([DeviceEvent("W3", T0, 1, "sos")], now=60.0)
    return found + alerts


def _geofence() -> list[Detection]:
    topo = Topology([DeviceInfo("P1", Family.WEARABLE, SensorKind.WEARABLE, "R1", "H1")])
    det = GeofenceDetector(topo, {"H1": (28.2282, 112.9388)})
    night = 1_735_660_800.0 + 3600  # 01:00 in China
    det.observe(Reading("P1", Family.WEARABLE, night - 600, 1, {"lat": 28.2282, "lon": 112.9388}))
    det.observe(Reading("P1", Family.WEARABLE, night, 2, {"lat": 28.2382, "lon": 112.9388}))
    return det.advance(night + 1800)


def _disaster() -> list[Detection]:
    gauges = GaugeWarningDetector({"R01": "V01"})
    found = [d for i in range(36) for d in gauges.observe(
        Reading("R01", Family.TERMINAL, T0 + 300 * (i + 1), i, {"rainfall_mm": 6.0}))]  # fmt: skip
    book = ReportBook()
    book.open_event("E2026-1", "flood", T0, ["V01"])
    return found + book.advance(T0 + 3 * 3600)


def _every_text() -> dict[str, str]:
    found = _care() + _falls() + _geofence() + _disaster()
    return {f"{d.detector}/{d.kind}": d.message for d in found if d.kind != "service_request"}


def test_every_detector_writes_in_chinese_by_default(language: None) -> None:
    texts = _every_text()
    kinds = {key.split("/")[1] for key in texts}
    assert set(TYPES) <= kinds and {"fall", "sos", "night_exit", "warning_level", "report_overdue"} <= kinds, kinds
    assert "fall/fall" in texts and "device/fall" in texts  # the detector's fall, and the alert after its window
    english = {k: v for k, v in texts.items() if not v or [
        w for w in re.findall(r"[A-Za-z][A-Za-z0-9_-]*", v) if len(w) >= 3 and not re.search(r"\d", w)
        and w not in LATIN_OK]}  # fmt: skip
    assert english == {}, "detection texts with English words in zh-CN"
    assert all(re.search(r"[\u4e00-\u9fff]", v) for v in texts.values())
    assert texts["device/sos"] == "按下 SOS 键"


def test_the_same_texts_in_english(language: None) -> None:
    i18n.configure("en")
    texts = _every_text()
    chinese = {k: v for k, v in texts.items() if re.search(r"[\u3400-\u9fff\uff08\uff09\uff1a\uff1b]", v)}
    assert chinese == {}, "detection texts with Chinese in en"
    assert texts["device/sos"] == "SOS key pressed"
    assert texts["device/fall"].startswith("fall detected (")
