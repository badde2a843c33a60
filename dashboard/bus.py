"""In-process fan-out of live frames to websocket clients (and any other listener).

Each subscriber has its own bounded queue; a slow client loses its oldest frames (counted), never holding back
the pipeline or the other clients. Frames are serialised once, as bytes, `{"type": ..., "data": {...}}`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

QUEUE_FRAMES = 1000


def frame(kind: str, data: Any) -> bytes:
    """One websocket frame, serialised once."""
    return orjson.dumps({"type": kind, "data": data}, option=orjson.OPT_SERIALIZE_NUMPY)


class Subscription:
    """A subscriber's queue of frames."""

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, data: bytes) -> None:
        """Enqueue, dropping the oldest frame when full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(data)


class Bus:
    """Publish frames to every current subscriber (call from the event loop thread)."""

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self.published = 0

    @property
    def listeners(self) -> int:
        """Number of subscribers."""
        return len(self._subs)

    def subscribe(self, maxsize: int = QUEUE_FRAMES) -> Subscription:
        """A new subscription; call unsubscribe() when done."""
        sub = Subscription(maxsize)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to `sub`."""
        self._subs.discard(sub)

    def publish(self, kind: str, data: Any) -> None:
        """Serialise once and offer to every subscriber."""
        if not self._subs:
            return
        payload = frame(kind, data)
        self.published += 1
        for sub in self._subs:
            sub.offer(payload)
