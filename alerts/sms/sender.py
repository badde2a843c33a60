"""The sender task: drains the outbox through the gateway, never in the way of ingest or escalation.

- a rate limit per recipient: at most `per_recipient` messages to one number within `window_s` (the rest wait);
- retries with backoff (`backoff_s` doubling up to `backoff_max_s`) while the gateway is down or busy; a message
  older than `expire_s` is given up (failed), a refused one (4xx) is failed at once;
- the gateway's state (up/down) is alarmed: an `sms_gateway` frame on the live bus when it changes, and counters
  for /metrics; messages queued meanwhile are sent once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from alerts.frames import LiveFrames
from alerts.sms.gateway import Gateway
from alerts.sms.outbox import Outbox, SmsMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SenderSettings:
    """Limits of the sender."""

    per_recipient: int = 3
    window_s: float = 600.0
    backoff_s: float = 2.0
    backoff_max_s: float = 120.0
    expire_s: float = 24 * 3600.0
    poll_s: float = 1.0


@dataclass
class SenderStats:
    """Counters for /metrics."""

    sent: int = 0
    retries: int = 0
    failed: int = 0
    rate_limited: int = 0
    gateway_up: bool = True
    down_since: float | None = None


def message_json(message: SmsMessage, mask: Callable[[str], str]) -> dict[str, object]:
    """A message as pages and frames show it: the number masked, never the token."""
    return {"id": message.id, "incident_id": message.incident_id, "kind": message.kind, "channel": message.channel,
            "recipient": mask(message.recipient), "recipient_name": message.recipient_name, "text": message.text,
            "status": message.status, "attempts": message.attempts, "created_at": message.created_at,
            "sent_at": message.sent_at, "dlr_code": message.dlr_code, "dlr_at": message.dlr_at,
            "last_error": message.last_error}


class SmsSender:
    """Sends due outbox messages every `poll_s` (or at once when woken by `wake()`)."""

    def __init__(self, outbox: Outbox, gateway: Gateway | None, bus: LiveFrames | None = None,
                 settings: SenderSettings | None = None, mask: Callable[[str], str] = lambda s: s,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.outbox = outbox
        self.gateway = gateway
        self.bus = bus
        self.settings = settings or SenderSettings()
        self.mask = mask
        self.clock = clock
        self.sleep = sleep
        self.stats = SenderStats()
        self._wake = asyncio.Event()

    def queue(self, recipient: str, text: str, *, kind: str, channel: str, incident_id: int | None,
              recipient_name: str = "") -> int:
        """Put one message in the outbox (a single insert: never waits on the gateway) and wake the sender."""
        message_id = self.outbox.enqueue(recipient, text, kind=kind, channel=channel, incident_id=incident_id,
                                         recipient_name=recipient_name, now=self.clock())
        self._announce(message_id)
        self.wake()
        return message_id

    def wake(self) -> None:
        """Something was queued: drain now rather than at the next poll (call from the event loop)."""
        self._wake.set()

    async def run(self) -> None:
        """Forever: drain, then wait for `poll_s` or a wake-up; a failing round is logged and retried."""
        while True:
            try:
                await self.drain()
            except Exception:
                logger.exception("sms drain failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_s)

    async def drain(self) -> int:
        """Send what is due now; returns how many the gateway accepted (none without a gateway: they stay queued)."""
        if self.gateway is None:
            return 0
        db = self.outbox.db
        accepted = 0
        for message in await db.run(lambda: self.outbox.due(self.clock())):
            accepted += await self._one(message)
        return accepted

    async def _one(self, message: SmsMessage) -> bool:
        db, s, now = self.outbox.db, self.settings, self.clock()
        if now - message.created_at > s.expire_s:
            await db.run(lambda: self.outbox.mark_failed(message.id, "expired"))
            self.stats.failed += 1
            self._announce(message.id)
            return False
        if await db.run(lambda: self.outbox.sent_to(message.recipient, now - s.window_s)) >= s.per_recipient:
            await db.run(lambda: self.outbox.postpone(message.id, now + s.window_s / s.per_recipient))
            self.stats.rate_limited += 1
            return False
        assert self.gateway is not None  # drain() checked
        result = await self.gateway.send(message)
        now = self.clock()
        if result.outcome == "accepted":
            await db.run(lambda: self.outbox.mark_sent(message.id, now))
            self.stats.sent += 1
            self._gateway(True, now)
        elif result.outcome == "retry":
            delay = min(s.backoff_s * 2 ** message.attempts, s.backoff_max_s)
            await db.run(lambda: self.outbox.mark_retry(message.id, now + delay, result.detail))
            self.stats.retries += 1
            self._gateway(False, now)
        else:
            await db.run(lambda: self.outbox.mark_failed(message.id, result.detail))
            self.stats.failed += 1
            logger.warning("sms %d refused by the gateway: %s", message.id, result.detail)
        self._announce(message.id)
        return result.outcome == "accepted"

    def _gateway(self, up: bool, now: float) -> None:
        if up == self.stats.gateway_up:
            return
        self.stats.gateway_up, self.stats.down_since = up, (None if up else now)
        (logger.info if up else logger.error)("SMS gateway %s", "back up" if up else "unreachable: messages queued")
        if self.bus is not None:
            self.bus.publish("sms_gateway", {"up": up, "since": now, "pending": self.outbox.pending()})

    def _announce(self, message_id: int) -> None:
        message = self.outbox.get(message_id)
        if self.bus is not None and message is not None:
            self.bus.publish("sms", message_json(message, self.mask))
