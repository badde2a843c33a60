"""The hub's subscriber to other workers' alert events on `hub/events/#` (issue 7 scale-out).

Its own client (id `<client_id>-events`, clean start, no stored session): a dashboard only wants the events of
while it runs, and this keeps them out of the ingest link's acked, persistent pipeline. Payloads are handed to the
event loop with one thread-safe call; the callback body is guarded so paho's network thread never dies.

Issue 20: like the ingest link (ingest/mqtt.py), it takes the nodes of a broker cluster (several URLs: it connects
to the first that answers and moves to the next, round robin, when its node dies or cannot be reached), falls back
to MQTT 3.1.1 when a node refuses MQTT 5 (NATS, RabbitMQ; protocol "auto"), and speaks TLS for mqtts:// URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.mqtt import protocol_refused
from ingest.settings import MqttSettings

logger = logging.getLogger(__name__)
EVENTS_TOPIC = "hub/events"
WATCH_S = 0.2  # how often run() looks whether the client must be rebuilt in MQTT 3.1.1


class EventsLink:
    """Subscribes to `hub/events/#` at QoS 1 and calls `deliver(payload)` on the event loop for each message."""

    def __init__(self, settings: MqttSettings, deliver: Callable[[bytes], None]) -> None:
        self.settings = settings
        self.deliver = deliver
        self.received = 0
        self.protocol = mqtt.MQTTv311 if settings.protocol == "3.1.1" else mqtt.MQTTv5
        self.connected_to: tuple[str, int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._node = 0
        self._downgrade = False  # set by paho's thread when a node refused MQTT 5; acted on by run()
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        settings, v5 = self.settings, self.protocol == mqtt.MQTTv5
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{settings.client_id}-events",
                             protocol=self.protocol, clean_session=None if v5 else True)
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set(ca_certs=_path(settings.tls_ca_file), certfile=_path(settings.tls_cert_file),
                           keyfile=_path(settings.tls_key_file))
        client.reconnect_delay_set(min_delay=1, max_delay=30 if len(settings.nodes) == 1 else 2)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    async def run(self) -> None:
        """Connect in the background (paho retries with backoff) and stay subscribed until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._start()
        try:
            while True:
                await asyncio.sleep(WATCH_S)
                if self._downgrade:
                    await asyncio.to_thread(self._rebuild)
        finally:
            self._client.disconnect()
            self._client.loop_stop()

    def _start(self) -> None:
        host, port = self.settings.nodes[self._node]
        self._client.connect_async(host, port, self.settings.keepalive_s)
        self._client.loop_start()

    def _rebuild(self) -> None:
        """A node refused MQTT 5: the same again in MQTT 3.1.1 (paho cannot change a client's protocol)."""
        self._downgrade = False
        self._client.disconnect()
        self._client.loop_stop()
        logger.warning("the broker does not speak MQTT 5; the events subscriber uses MQTT 3.1.1")
        self.protocol = mqtt.MQTTv311
        self._client = self._make_client()
        self._start()

    def _next_node(self) -> None:
        """Point paho's reconnect at the next node (round robin)."""
        if len(self.settings.nodes) > 1:
            self._node = (self._node + 1) % len(self.settings.nodes)
            self._client._host, self._client._port = self.settings.nodes[self._node]  # as ingest/mqtt.py does

    def _on_connect(self, client: mqtt.Client, _ud: object, _flags: object, reason: object, _p: object) -> None:
        with contextlib.suppress(Exception):
            if getattr(reason, "is_failure", False):
                if protocol_refused(reason) and self.settings.protocol == "auto" and self.protocol == mqtt.MQTTv5:
                    self._downgrade = True
                    return
                logger.error("broker refused the events subscriber: %s", reason)
                self._next_node()
                return
            self.connected_to = self.settings.nodes[self._node]
            client.subscribe(f"{EVENTS_TOPIC}/#", qos=1)

    def _on_connect_fail(self, _c: mqtt.Client, _ud: object) -> None:
        with contextlib.suppress(Exception):
            self._next_node()

    def _on_disconnect(self, _c: mqtt.Client, _ud: object, _flags: object, _reason: object, _p: object) -> None:
        with contextlib.suppress(Exception):
            if self.connected_to is not None:
                self.connected_to = None
                self._next_node()

    def _on_message(self, _c: mqtt.Client, _ud: object, msg: mqtt.MQTTMessage) -> None:
        try:
            self.received += 1
            if self._loop is not None:
                # paho types payload bytes | bytearray; a received message's is bytes (struct.unpack in _packet)
                self._loop.call_soon_threadsafe(self.deliver, cast(bytes, msg.payload))
        except Exception:
            logger.exception("could not hand an event to the loop")


def _path(path: object) -> str | None:
    return str(path) if path is not None else None
