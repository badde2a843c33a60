"""The detector stage: committed batches -> detectors -> alert flow -> alerts (and evidence), stored and announced.

It also ticks on the hub's clock every `tick_s`, so a fall's cancel window ends on time even when no data comes.
It gates ingest's ack (issue 7): a batch is settled, and so acknowledged to the broker, only after its
detections, alerts and pending falls are in the state database. A batch redelivered after a crash brings its
`replayed` readings and messages, which are detected again; the sinks recognise alerts they already hold.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

from alerts.detection import Detection
from alerts.detector import Detector
from alerts.falls.evidence import AccRing, EvidenceClip, EvidenceQueue
from alerts.falls.flow import AlertFlow
from devices.models import DeviceEvent, DisasterReport, Reading
from ingest.aio import get_within
from ingest.pipeline import Batch

T = TypeVar("T")

logger = logging.getLogger(__name__)
TICK_S = 0.1
ADVANCE_EVERY_S = 1.0


class DetectorStage:
    """Runs the detectors over each batch; a detector that raises is logged and skipped, never fatal."""

    def __init__(self, queue: asyncio.Queue[Batch], detectors: list[Detector], flow: AlertFlow,
                 sink: Callable[[list[Detection]], None], evidence_sink: Callable[[list[EvidenceClip]], None],
                 clock: Callable[[], float] = time.time, link_events: deque[tuple[str, float]] | None = None) -> None:
        self.queue = queue
        self.detectors = detectors
        self.flow = flow
        self.sink = sink
        self.evidence_sink = evidence_sink
        self.clock = clock
        self.ring = AccRing()
        self.evidence = EvidenceQueue(self.ring)
        self.errors = 0
        self.newest = 0.0  # newest device time seen
        self._last_advance = 0.0
        # ("up" | "down", hub time), appended by the MQTT link's thread (deque append/popleft are thread-safe)
        self.link_events: deque[tuple[str, float]] = link_events if link_events is not None else deque()

    async def run(self) -> None:
        """Forever: take a batch (or time out), detect, release due alerts and clips."""
        while True:
            batch = await get_within(self.queue, TICK_S)
            self.step(batch, self.clock())
            if batch is not None:
                batch.settle()  # everything it raised is stored: ingest may ack it

    def step(self, batch: Batch | None, now: float) -> list[Detection]:
        """One pass: a batch (if any) through detectors and flow, then the hub-clock timers."""
        alerts: list[Detection] = []
        found = self._link_changes()
        if batch is not None:
            readings = batch.readings + batch.replayed if batch.replayed else batch.readings
            messages = batch.messages + batch.replayed_messages if batch.replayed_messages else batch.messages
            events = [m for m in messages if isinstance(m, DeviceEvent)]
            for r in readings:
                self.ring.add(r)
            found += self.detect(readings, events) + self._availability(batch) + self._reports(messages)
            alerts += self.flow.on_events(events, now)
        if now - self._last_advance >= ADVANCE_EVERY_S:  # silence is news too (a device or a home gone quiet)
            self._last_advance = now
            found += self._advance(max(self.newest, now))
        alerts += self.flow.on_detections(found, now) + self.flow.tick(now)
        for alert in alerts:
            if alert.kind == "fall":
                self.evidence.request(alert.device_id, alert.ts, now)
        if alerts:
            self.sink(alerts)
        self.flow.save()  # pending falls, after the alerts they became (a crash between: the sinks know the alert)
        clips = self.evidence.due(now)
        if clips:
            self.evidence_sink(clips)
        return alerts

    def detect(self, readings: list[Reading], events: list[DeviceEvent]) -> list[Detection]:
        """Feed every detector, then advance time to the newest reading."""
        found: list[Detection] = []
        newest = max((r.ts for r in readings), default=None)
        for det in self.detectors:
            found += self._guarded(det, partial(self._feed, det, readings, events))
        if newest is not None:
            self.newest = max(self.newest, newest)
            found += self._advance(newest)
        return found

    def _advance(self, now: float) -> list[Detection]:
        found: list[Detection] = []
        for det in self.detectors:
            found += self._guarded(det, partial(det.advance, now))
        return found

    def _availability(self, batch: Batch) -> list[Detection]:
        found: list[Detection] = []
        if batch.availability:
            changes = batch.availability
            for det in self.detectors:
                found += self._guarded(det, partial(self._each, det.observe_availability, changes))
        return found

    def _reports(self, messages: list[DeviceEvent | DisasterReport]) -> list[Detection]:
        """Village disaster reports to the detectors (the command centre's feed, issue 6)."""
        reports = [m for m in messages if isinstance(m, DisasterReport)]
        found: list[Detection] = []
        if reports:
            for det in self.detectors:
                found += self._guarded(det, partial(self._each, det.observe_report, reports))
        return found

    def _link_changes(self) -> list[Detection]:
        """Tell the detectors (device health cares) when the broker link went down or came back."""
        while self.link_events:
            kind, ts = self.link_events.popleft()
            for det in self.detectors:
                hook = det.on_reconnect if kind == "up" else det.on_disconnect
                self._guarded(det, partial(self._notify, hook, ts))
        return []

    def _guarded(self, det: Detector, call: Callable[[], list[Detection]]) -> list[Detection]:
        try:
            return list(call())
        except Exception:
            self.errors += 1
            logger.exception("detector %s failed; input skipped", det.name or type(det).__name__)
            return []

    @staticmethod
    def _feed(det: Detector, readings: list[Reading], events: list[DeviceEvent]) -> list[Detection]:
        out = det.observe_batch(readings) if readings else []
        for ev in events:
            out.extend(det.observe_event(ev))
        return out

    @staticmethod
    def _each(hook: Callable[[T], list[Detection]], items: Sequence[T]) -> list[Detection]:
        return [x for item in items for x in hook(item)]

    @staticmethod
    def _notify(hook: Callable[[float], None], ts: float) -> list[Detection]:
        hook(ts)
        return []
