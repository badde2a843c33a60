"""Alert events over MQTT, so every dashboard instance shows every worker's alerts (issue 7 scale-out).

A `RelayBus` is the hub's live bus with two more duties: the alert frames published on it (detections as the
DetectionLog stores them, evidence clips, incident changes) also go to the broker on `hub/events/<type>`
(QoS 1, JSON `{"worker": ..., "type": ..., "data": {...}}`), and frames that other workers sent there are shown
to this worker's websocket clients. A worker ignores its own frames, so nothing is shown twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

from dashboard.bus import Bus

logger = logging.getLogger(__name__)
EVENTS_TOPIC = "hub/events"
RELAYED = frozenset({"detection", "evidence", "incident", "call"})  # call: a screen pop for an operator on any worker
Send = Callable[[str, bytes], None]


class RelayBus(Bus):
    """The live bus of one worker among several: alert frames go out over MQTT, other workers' come in."""

    def __init__(self, worker: str, send: Send) -> None:
        super().__init__()
        self.worker = worker
        self.send = send
        self.relayed_out = 0
        self.relayed_in = 0

    def publish(self, kind: str, data: Any) -> None:
        """Offer to local subscribers; alert frames also go to the other workers."""
        if kind in RELAYED:
            body = {"worker": self.worker, "type": kind, "data": data}
            try:
                self.send(f"{EVENTS_TOPIC}/{kind}", orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY))
                self.relayed_out += 1
            except Exception:  # a broker hiccup must not stop the detector stage; the alert is stored anyway
                logger.exception("could not relay a %s frame", kind)
        super().publish(kind, data)

    def receive(self, payload: bytes) -> None:
        """A frame from `hub/events/#`: shown here unless this worker sent it (never sent on again)."""
        try:
            body = orjson.loads(payload)
            worker, kind, data = body["worker"], body["type"], body["data"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            logger.warning("ignored a malformed hub event (%s): %r", exc, payload[:200])
            return
        if worker == self.worker or kind not in RELAYED:
            return
        self.relayed_in += 1
        Bus.publish(self, kind, {**data, "worker": worker} if isinstance(data, dict) else data)
