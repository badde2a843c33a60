"""The detector stage: committed batches -> every registered detector -> detections, stored and announced."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from alerts.detector import Detector
from hub.models import Detection, DeviceEvent
from ingest.pipeline import Batch

logger = logging.getLogger(__name__)


class DetectorStage:
    """Runs the detectors over each batch; a detector that raises is logged and skipped, never fatal."""

    def __init__(self, queue: asyncio.Queue[Batch], detectors: list[Detector],
                 sink: Callable[[list[Detection]], None]) -> None:
        self.queue = queue
        self.detectors = detectors
        self.sink = sink
        self.errors = 0

    async def run(self) -> None:
        """Forever: take a batch, detect, hand detections to the sink."""
        while True:
            batch = await self.queue.get()
            found = self.process(batch)
            if found:
                self.sink(found)

    def process(self, batch: Batch) -> list[Detection]:
        """Feed a batch to every detector, then advance time to the newest reading."""
        found: list[Detection] = []
        newest = max((r.ts for r in batch.readings), default=None)
        for det in self.detectors:
            try:
                for r in batch.readings:
                    found.extend(det.observe(r))
                for m in batch.messages:
                    if isinstance(m, DeviceEvent):
                        found.extend(det.observe_event(m))
                if newest is not None:
                    found.extend(det.advance(newest))
            except Exception:
                self.errors += 1
                logger.exception("detector %s failed on a batch; skipped", getattr(det, "name", det))
        return found
