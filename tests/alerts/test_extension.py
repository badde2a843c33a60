"""The detector extension point (issue 13): a detector written outside the package, registered with one line.

`ColdRoomDetector` is the example of docs/architecture.md: it subclasses `Detector`, overrides only `observe`,
and its detections reach the stage's sink without the stage knowing anything about it. The other hooks
(`observe_availability`, `observe_report`, `on_disconnect`...) keep the protocol's do-nothing defaults.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from alerts.catalog import DetectorSettings, build_catalog
from alerts.detection import Detection, Severity
from alerts.detector import Detector
from alerts.falls.flow import AlertFlow
from alerts.stage import DetectorStage
from devices.models import Availability, DisasterReport, Family, Reading
from devices.topology import Topology
from hub.settings import Settings
from ingest.pipeline import Batch


class ColdRoomDetector(Detector):
    """A home sensor's room temperature below 16 degC: an elderly person at risk of hypothermia."""

    name = "cold_room"

    def __init__(self, limit_c: float = 16.0) -> None:
        self.limit_c = limit_c

    def observe(self, reading: Reading) -> list[Detection]:
        temp = reading.values.get("temperature")
        if temp is None or temp >= self.limit_c:
            return []
        return [Detection(self.name, "cold_room", reading.device_id, reading.device_id, reading.ts, Severity.WARNING,
                          features={"temperature": temp}, message=f"room at {temp:.1f} degC")]


def _stage(detectors: list[Detector], found: list[Detection]) -> DetectorStage:
    flow = AlertFlow(30.0, 120.0, lambda _device, _body: None)
    queue: asyncio.Queue[Batch] = asyncio.Queue()
    return DetectorStage(queue, detectors, flow, found.extend, lambda _clips: None)


def test_an_outside_detector_registers_with_one_line_and_its_detections_reach_the_sink() -> None:
    catalog = build_catalog(Topology())
    catalog.register("cold_room", ColdRoomDetector)  # the one registration line
    detectors = catalog.build()
    assert [d.name for d in detectors][-1] == "cold_room"
    found: list[Detection] = []
    now = time.time()
    batch = Batch([], readings=[Reading("S1", Family.HOME_SENSOR, now, 1, {"temperature": 12.5}),
                                Reading("S2", Family.HOME_SENSOR, now, 1, {"temperature": 21.0})])
    batch.availability.append(Availability("S1", False, now))  # hooks it does not override are no-ops
    batch.messages.append(DisasterReport("T1", now, 1, "E1", "initial", "flood", {}))
    _stage(detectors, found).step(batch, now)
    cold = [d for d in found if d.detector == "cold_room"]
    assert [(d.device_id, d.features["temperature"]) for d in cold] == [("S1", 12.5)]


def test_default_hooks_do_nothing() -> None:
    det = ColdRoomDetector()
    assert det.observe_availability(Availability("S1", True, 0.0)) == []
    assert det.observe_report(DisasterReport("T1", 0.0, 1, "E1", "initial", "flood", {})) == []
    assert det.advance(1e9) == [] and det.on_disconnect(0.0) is None and det.on_reconnect(0.0) is None
    assert det.observe_batch([Reading("S1", Family.HOME_SENSOR, 0.0, 1, {"temperature": 3.0})])[0].kind == "cold_room"


def test_detector_thresholds_come_from_the_hubs_settings(monkeypatch) -> None:
    monkeypatch.setenv("HUB_DETECTORS__VITALS__REFRACTORY_S", "900")
    monkeypatch.setenv("HUB_DETECTORS__GEOFENCE__RADIUS_M", "350")
    settings = Settings()
    assert settings.detectors.vitals.refractory_s == 900.0 and settings.detectors.geofence.radius_m == 350.0
    assert DetectorSettings().vitals.refractory_s == 1800.0  # the default where it was
    monkeypatch.setenv("HUB_DETECTORS__VITALS__REFRACTORY", "900")  # a typo is an error, never ignored
    with pytest.raises(ValueError, match="refractory"):
        Settings()
