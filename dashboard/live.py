"""The live feed stage: committed ingest batches -> websocket frames on the bus.

Reading frames are rate-limited (a token bucket, `live_per_s`), since a person cannot read 20,000 rows a second
and the hot path must not serialise what nobody watches; events, availability and rejections always go out.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

from dashboard.bus import Bus
from devices.models import Reading
from ingest.pipeline import Batch


def reading_frame(r: Reading) -> dict[str, Any]:
    """The JSON shape of a live reading."""
    return {"device_id": r.device_id, "family": r.family.value, "ts": r.ts, "seq": r.seq, "values": r.values}


class LiveFeed:
    """Publishes what ingest committed, sampled, to the bus."""

    def __init__(self, queue: asyncio.Queue[Batch], bus: Bus, per_s: int) -> None:
        self.queue = queue
        self.bus = bus
        self.per_s = per_s
        self._tokens = float(per_s)
        self._last = time.monotonic()
        self.sampled_out = 0

    def _budget(self) -> int:
        now = time.monotonic()
        self._tokens = min(float(self.per_s), self._tokens + (now - self._last) * self.per_s)
        self._last = now
        return int(self._tokens)

    async def run(self) -> None:
        """Forever: take a batch, publish its frames."""
        while True:
            batch = await self.queue.get()
            if self.bus.listeners:
                self.publish(batch)

    def publish(self, batch: Batch) -> None:
        """Frames for one batch."""
        budget = self._budget()
        for r in batch.readings[:budget]:
            self.bus.publish("reading", reading_frame(r))
        self._tokens -= min(budget, len(batch.readings))
        self.sampled_out += max(0, len(batch.readings) - budget)
        for m in batch.messages:
            self.bus.publish(type(m).__name__.lower(), asdict(m))
        for a in batch.availability:
            self.bus.publish("availability", asdict(a))
        for rej in batch.rejections:
            self.bus.publish("rejection", {"topic": rej.topic, "reason": rej.reason, "detail": rej.detail})
