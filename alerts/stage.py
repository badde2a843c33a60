"""The detector stage: committed batches -> detectors -> alert flow -> alerts (and evidence), stored and announced.

It also ticks on the hub's clock every `tick_s`, so a fall's cancel window ends on time even when no data comes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from alerts.detector import Detector
from alerts.evidence import AccRing, EvidenceClip, EvidenceQueue
from alerts.fall_flow import AlertFlow
from hub.models import Detection, DeviceEvent, Reading
from ingest.pipeline import Batch

logger = logging.getLogger(__name__)
TICK_S = 0.1


class DetectorStage:
    """Runs the detectors over each batch; a detector that raises is logged and skipped, never fatal."""

    def __init__(self, queue: asyncio.Queue[Batch], detectors: list[Detector], flow: AlertFlow,
                 sink: Callable[[list[Detection]], None], evidence_sink: Callable[[list[EvidenceClip]], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.queue = queue
        self.detectors = detectors
        self.flow = flow
        self.sink = sink
        self.evidence_sink = evidence_sink
        self.clock = clock
        self.ring = AccRing()
        self.evidence = EvidenceQueue(self.ring)
        self.errors = 0

    async def run(self) -> None:
        """Forever: take a batch (or time out), detect, release due alerts and clips."""
        while True:
            try:
                batch: Batch | None = await asyncio.wait_for(self.queue.get(), TICK_S)
            except TimeoutError:
                batch = None
            self.step(batch, self.clock())

    def step(self, batch: Batch | None, now: float) -> list[Detection]:
        """One pass: a batch (if any) through detectors and flow, then the hub-clock timers."""
        alerts: list[Detection] = []
        if batch is not None:
            events = [m for m in batch.messages if isinstance(m, DeviceEvent)]
            for r in batch.readings:
                self.ring.add(r)
            found = self.detect(batch.readings, events)
            alerts += self.flow.on_events(events, now) + self.flow.on_detections(found, now)
        alerts += self.flow.tick(now)
        for alert in alerts:
            if alert.kind == "fall":
                self.evidence.request(alert.device_id, alert.ts, now)
        if alerts:
            self.sink(alerts)
        clips = self.evidence.due(now)
        if clips:
            self.evidence_sink(clips)
        return alerts

    def detect(self, readings: list[Reading], events: list[DeviceEvent]) -> list[Detection]:
        """Feed every detector, then advance time to the newest reading."""
        found: list[Detection] = []
        newest = max((r.ts for r in readings), default=None)
        for det in self.detectors:
            try:
                found.extend(self._feed(det, readings, events))
                if newest is not None:
                    found.extend(det.advance(newest))
            except Exception:
                self.errors += 1
                logger.exception("detector %s failed on a batch; skipped", getattr(det, "name", det))
        return found

    @staticmethod
    def _feed(det: Detector, readings: list[Reading], events: list[DeviceEvent]) -> list[Detection]:
        out: list[Detection] = []
        batch_fn = getattr(det, "observe_batch", None)
        if batch_fn is not None:
            out.extend(batch_fn(readings))  # vectorised path (the fall detector)
        else:
            for r in readings:
                out.extend(det.observe(r))
        for ev in events:
            out.extend(det.observe_event(ev))
        return out
