"""From a detected fall to an alert: confirmation window, "I'm OK" cancel, merging with the device's own events.

A fall (the hub's detection, or the wearable's own `fall` event) waits `cancel_window_s` on the hub's clock,
during which the wearer can press "I'm OK" (event `ok`); then it becomes an alert. Both sources of one fall,
and an SOS pressed meanwhile, make one alert, not two (merged within `merge_window_s` of device time). The SOS
key alone raises an alert at once; the green key raises a service request. Downlinks on `eldercare/<id>/set`
tell the wearable what the hub saw. `now` is passed in, so tests drive the clock. With a `store`
(alerts/falls/store.py) the pending falls survive a restart: `save()` writes what changed since the last call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from alerts.detection import Detection, Severity
from devices.i18n import t, word
from devices.models import DeviceEvent

if TYPE_CHECKING:
    from alerts.falls.store import PendingFallStore

logger = logging.getLogger(__name__)
Downlink = Callable[[str, dict[str, Any]], None]


@dataclass(slots=True)
class PendingFall:
    """A fall waiting out its cancel window."""

    device_id: str
    impact_ts: float
    due: float  # hub clock time at which it becomes an alert
    detection: Detection
    sources: set[str] = field(default_factory=set)


def _device_fall(event: DeviceEvent) -> Detection:
    return Detection("device", "fall", event.device_id, event.device_id, event.ts, Severity.CRITICAL, 0.9,
                     {"device_reported": 1.0}, t("det.fall.device"))


class AlertFlow:
    """Turns fall detections and device events into alerts; `tick(now)` releases falls whose window passed."""

    def __init__(self, cancel_window_s: float, merge_window_s: float, downlink: Downlink,
                 subject_of: Callable[[str], str] | None = None, store: PendingFallStore | None = None,
                 raised: dict[str, float] | None = None, load: bool = True) -> None:
        """`load` False: start with no pending fall and `adopt` the devices of each shard taken (issue 20)."""
        self.cancel_window_s = cancel_window_s
        self.merge_window_s = merge_window_s
        self.downlink = downlink
        self.subject_of = subject_of or (lambda device_id: device_id)
        self.store = store
        self.pending: dict[str, PendingFall] = {p.device_id: p for p in store.load()} if store and load else {}
        self._raised: dict[str, float] = dict(raised or {})  # device -> impact ts of its last fall alert
        self._changed: set[str] = set()  # devices whose pending fall changed since the last save()
        self.cancelled = 0
        self.merged = 0

    def save(self) -> None:
        """Write the pending falls that changed to the store (if any)."""
        if self.store is not None and self._changed:
            self.store.save({device_id: self.pending.get(device_id) for device_id in self._changed})
        self._changed.clear()

    def adopt(self, device_ids: set[str]) -> int:
        """Take over the pending falls of these devices from the store (their shard came to this worker, issue 20);
        how many there were."""
        if self.store is None:
            return 0
        found = [p for p in self.store.load() if p.device_id in device_ids]
        self.pending.update({p.device_id: p for p in found})
        return len(found)

    def release(self, device_ids: set[str]) -> None:
        """Forget these devices' pending falls after saving them (their shard went to another worker, which adopts
        them from the store): this worker will not raise them."""
        self.save()
        for device_id in device_ids:
            self.pending.pop(device_id, None)

    def on_detections(self, detections: list[Detection], now: float) -> list[Detection]:
        """Hub detections: falls wait; everything else passes straight on."""
        out = []
        for det in detections:
            if det.kind == "fall":
                self._fall(det, "hub", now)
            else:
                out.append(det)
        return out

    def on_events(self, events: list[DeviceEvent], now: float) -> list[Detection]:
        """Device events: fall (waits), ok (cancels), sos (at once), service_request."""
        out: list[Detection] = []
        for ev in events:
            if ev.event == "fall":
                self._fall(_device_fall(ev), "device", now)
            elif ev.event == "ok":
                self._cancel(ev)
            elif ev.event == "sos":
                out.append(self._sos(ev))
            elif ev.event == "service_request":
                service = str(ev.detail.get("service", "unspecified"))
                out.append(Detection("device", "service_request", self.subject_of(ev.device_id), ev.device_id,
                                     ev.ts, Severity.INFO, 1.0, {}, service))
        return out

    def tick(self, now: float) -> list[Detection]:
        """Falls whose cancel window has passed become alerts."""
        due = [p for p in self.pending.values() if p.due <= now]
        return [self._raise(p) for p in due]

    def _fall(self, det: Detection, source: str, now: float) -> None:
        device_id = det.device_id
        pending = self.pending.get(device_id)
        if pending is not None and abs(det.ts - pending.impact_ts) <= self.merge_window_s:
            pending.sources.add(source)  # the other source of the same fall
            self._changed.add(device_id)
            self.merged += 1
            return
        last = self._raised.get(device_id)
        if last is not None and abs(det.ts - last) <= self.merge_window_s:
            self.merged += 1  # already alerted for this fall
            return
        self.pending[device_id] = PendingFall(device_id, det.ts, now + self.cancel_window_s, det, {source})
        self._changed.add(device_id)
        self.downlink(device_id, {"cmd": "fall_seen", "impact_ts": det.ts, "cancel_within_s": self.cancel_window_s,
                                  "text": t("downlink.fall_seen")})

    def _cancel(self, ev: DeviceEvent) -> None:
        pending = self.pending.pop(ev.device_id, None)
        if pending is None:
            return
        self._changed.add(ev.device_id)
        self.cancelled += 1
        logger.info("fall of %s at %.1f cancelled by the wearer", ev.device_id, pending.impact_ts)
        self.downlink(ev.device_id, {"cmd": "fall_cancelled", "impact_ts": pending.impact_ts,
                                     "text": t("downlink.fall_cancelled")})

    def _sos(self, ev: DeviceEvent) -> Detection:
        pending = self.pending.get(ev.device_id)
        if pending is not None:  # SOS during a fall's window: one alert, raised now
            pending.sources.add("sos")
            return self._raise(pending)
        self.downlink(ev.device_id, {"cmd": "help_coming", "ts": ev.ts, "text": t("downlink.help_coming")})
        return Detection("device", "sos", self.subject_of(ev.device_id), ev.device_id, ev.ts, Severity.CRITICAL,
                         1.0, {}, t("det.sos"))

    def _raise(self, pending: PendingFall) -> Detection:
        del self.pending[pending.device_id]
        self._changed.add(pending.device_id)
        self._raised[pending.device_id] = pending.impact_ts
        features = dict(pending.detection.features)
        features.update({f"source_{s}": 1.0 for s in pending.sources})
        self.downlink(pending.device_id, {"cmd": "help_coming", "impact_ts": pending.impact_ts,
                                          "text": t("downlink.help_coming")})
        sources = t("det.fall.joiner").join(word("det.fall.source.", s) for s in sorted(pending.sources))
        return replace(pending.detection, subject_id=self.subject_of(pending.device_id), features=features,
                       message=t("det.fall.detected", sources=sources))
