"""The hub's subscriber to other workers' alert events on `hub/events/#` (issue 7 scale-out).

Its own client (id `<client_id>-events`, clean start, no stored session): a dashboard only wants the events of
while it runs, and this keeps them out of the ingest link's acked, persistent pipeline. Payloads are handed to the
event loop with one thread-safe call; the callback body is guarded so paho's network thread never dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.settings import MqttSettings

logger = logging.getLogger(__name__)
EVENTS_TOPIC = "hub/events"


class EventsLink:
    """Subscribes to `hub/events/#` at QoS 1 and calls `deliver(payload)` on the event loop for each message."""

    def __init__(self, settings: MqttSettings, deliver: Callable[[bytes], None]) -> None:
        self.settings = settings
        self.deliver = deliver
        self.received = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{settings.client_id}-events", protocol=mqtt.MQTTv5
        )
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    async def run(self) -> None:
        """Connect in the background (paho retries with backoff) and stay subscribed until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        self._client.loop_start()
        try:
            await asyncio.Event().wait()
        finally:
            self._client.disconnect()
            self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _ud: object, _flags: object, reason: object, _p: object) -> None:
        with contextlib.suppress(Exception):
            if getattr(reason, "is_failure", False):
                logger.error("broker refused the events subscriber: %s", reason)
                return
            client.subscribe(f"{EVENTS_TOPIC}/#", qos=1)

    def _on_message(self, _c: mqtt.Client, _ud: object, msg: mqtt.MQTTMessage) -> None:
        try:
            self.received += 1
            if self._loop is not None:
                # paho types payload bytes | bytearray; a received message's is bytes (struct.unpack in _packet)
                self._loop.call_soon_threadsafe(self.deliver, cast(bytes, msg.payload))
        except Exception:
            logger.exception("could not hand an event to the loop")
