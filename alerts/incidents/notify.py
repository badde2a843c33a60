"""Notifications of incident events: websocket frames on the bus, an MQTT downlink to the wearable, a webhook.

The webhook (JSON POST, e.g. an SMS gateway or the 120 emergency centre) is sent from its own task through a
bounded queue, retried with exponential backoff; a full queue drops the event and counts it, so the pipeline is
never blocked by an outside system (issue 5).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from alerts.frames import LiveFrames
from alerts.incidents.record import Incident
from devices.i18n import t

logger = logging.getLogger(__name__)
WEBHOOK_QUEUE = 1000
Downlink = Callable[[str, dict[str, Any]], None]
# What the wearable is told, per incident event ("help is coming" once a person has taken the call).
WEARABLE_MESSAGES = {
    "acknowledged": "call_centre_aware",
    "dispatched": "help_is_coming",
    "on_scene": "help_arrived",
    "resolved": "incident_closed",
}


@dataclass
class WebhookStats:
    """Counters of the webhook sender."""

    sent: int = 0
    retries: int = 0
    failed: int = 0
    dropped: int = 0


class Webhook:
    """POSTs events to one URL from its own task."""

    def __init__(
        self,
        url: str,
        attempts: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(WEBHOOK_QUEUE)
        self.stats = WebhookStats()

    def offer(self, body: dict[str, Any]) -> None:
        """Queue an event; drop and count when the queue is full."""
        try:
            self.queue.put_nowait(body)
        except asyncio.QueueFull:
            self.stats.dropped += 1
            logger.warning("webhook queue full; event dropped (%d so far)", self.stats.dropped)

    async def run(self) -> None:
        """Forever: post queued events one by one."""
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            while True:
                body = await self.queue.get()
                await self.post(client, body)

    async def post(self, client: httpx.AsyncClient, body: dict[str, Any]) -> bool:
        """One event, retried with backoff 0.5, 1, 2, 4 s...; True when the receiver took it."""
        for attempt in range(self.attempts):
            try:
                response = await client.post(self.url, json=body)
                if response.status_code < 500 and response.status_code != 429:
                    self.stats.sent += response.is_success
                    self.stats.failed += not response.is_success
                    return response.is_success
            except httpx.HTTPError as exc:
                logger.info("webhook attempt %d failed: %s", attempt + 1, exc)
            if attempt + 1 < self.attempts:
                self.stats.retries += 1
                await self.sleep(self.backoff_s * 2**attempt)
        self.stats.failed += 1
        logger.warning("webhook gave up on %s after %d attempts", body.get("event"), self.attempts)
        return False


def _summary(incident: Incident) -> dict[str, Any]:
    """The incident's JSON with the number of its alerts in place of the alerts."""
    return incident.to_json() | {"alerts": len(incident.alerts or ())}


class Notifier:
    """The IncidentService's `notify` callable: fans one incident event out to every channel."""

    def __init__(self, bus: LiveFrames, downlink: Downlink | None = None, webhook: Webhook | None = None) -> None:
        self.bus = bus
        self.downlink = downlink
        self.webhook = webhook

    def __call__(self, event: str, incident: Incident) -> None:
        """Announce an incident event; a failing channel is logged, never raised."""
        self.bus.publish("incident", {"event": event, "incident": _summary(incident)})
        message = WEARABLE_MESSAGES.get(event)
        if message and self.downlink is not None and incident.device_id:
            try:
                text = t(f"downlink.{message}")  # issue 18: short, in the hub's language, for the wearable's screen
                self.downlink(incident.device_id,
                              {"cmd": "notify", "message": message, "text": text, "incident_id": incident.id})
            except Exception:
                logger.exception("downlink to %s failed", incident.device_id)
        if self.webhook is not None:
            self.webhook.offer({"event": event, "sent_at": time.time(), "incident": _summary(incident)})
