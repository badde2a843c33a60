"""The hub's MQTT client (the only module of the hub that imports paho).

MQTT 5, QoS 1, a fixed client id and clean_start=False with a session expiry, so the broker queues what arrives
while the hub is down. manual_ack=True: a message is acknowledged only after ingest has durably stored it and the
detectors have handled it, so even `kill -9` loses nothing (the broker redelivers unacknowledged messages on
reconnect). Callbacks never raise:
an exception inside one would kill paho's network thread.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from devices.redact import redact_urls
from ingest.inbox import Inbound, Inbox
from ingest.readahead import Publish, ReadAheadClient
from ingest.settings import MqttSettings

logger = logging.getLogger(__name__)
_PUBACK = struct.Struct("!BBH")  # PUBACK fixed header, remaining length 2, packet id
SUBSCRIPTIONS = ("eldercare/+/+", "disaster/+/+", "zigbee2mqtt/#", "owntracks/+/+",  # issue 9: existing clients
                 "responders/+/status")  # issue 5: responder apps answer offers
CONNECT_TIMEOUT_S = 10.0
SUBSCRIBE_CHUNK = 200  # topics per SUBSCRIBE packet when a shard follows thousands of devices
DOWNLINK_CHANNEL = "set"  # eldercare/<id>/set: the hub's own downlinks (docs/mqtt-contract.md), never its input


def is_downlink(topic: str) -> bool:
    """True for `eldercare/<id>/set`, which the hub publishes and must not take back as input."""
    return topic.startswith("eldercare/") and topic.endswith("/set") and topic.count("/") == 2


def _options(topic: str) -> SubscribeOptions:
    """QoS 1; No Local (MQTT 5.0 section 3.8.3.1) so the broker never echoes the hub's own downlinks back to it.

    No Local is a protocol error on a shared subscription: there (and for other workers' downlinks) the
    callbacks drop `/set` topics instead.
    """
    return SubscribeOptions(qos=1, noLocal=not topic.startswith("$share/"))


def _path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


class BrokerUnreachable(RuntimeError):
    """The broker refused or could not be reached; the message says what to do."""


class MqttLink:
    """Connects, subscribes, feeds the inbox, acks, and publishes downlinks."""

    def __init__(self, settings: MqttSettings, inbox: Inbox, on_link: Callable[[str], None] | None = None,
                 topic_source: Callable[[], list[str]] | None = None) -> None:
        self.settings = settings
        self.inbox = inbox
        self.connected = threading.Event()
        self.on_link = on_link  # called with "up" / "down" from paho's thread
        self.refused: str | None = None
        self.topic_source = topic_source  # topic shards (issue 7): this worker's topics, asked on each connect
        self._stopping = False
        self._generation = 0
        self._client = ReadAheadClient(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                                       protocol=mqtt.MQTTv5, manual_ack=True)
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        if settings.tls:  # issue 16: mqtts://, the broker's certificate checked against the CA file
            self._client.tls_set(ca_certs=_path(settings.tls_ca_file), certfile=_path(settings.tls_cert_file),
                                 keyfile=_path(settings.tls_key_file))
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.max_queued_messages_set(0)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.fast_publish = self._on_publishes

    def start(self) -> None:
        """Connect (raising BrokerUnreachable with a hint) and start paho's network thread."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.session_expiry_s
        props.ReceiveMaximum = self.settings.receive_maximum
        try:
            self._client.connect(self.settings.host, self.settings.port, self.settings.keepalive_s,
                                 clean_start=False, properties=props)
        except OSError as exc:  # ssl.SSLError too: a certificate not signed by tls_ca_file
            raise BrokerUnreachable(f"cannot reach the MQTT broker at {self.settings.safe_url} "
                                    f"({redact_urls(str(exc))}); start it, or point HUB_MQTT__URL / --mqtt-url at a "
                                    "running broker") from exc
        self._client.loop_start()
        if not self.connected.wait(CONNECT_TIMEOUT_S):
            self.stop()
            why = self.refused or "no CONNACK"
            raise BrokerUnreachable(f"the MQTT broker at {self.settings.safe_url} did not accept the hub: {why}")

    def stop(self) -> None:
        """Disconnect cleanly; the broker keeps the session and queues new messages."""
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge one stored message (by its delivery tag) to the broker."""
        if qos > 0 and mid >> 16 == self._generation:
            self._client.ack(mid & 0xFFFF, qos)

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge many QoS 1 messages, in order, with one wake-up of paho's thread and one socket write.

        paho's own ack() queues one packet per message, wakes its network thread through a socket pair and
        writes each PUBACK with its own send(): at 20,000 messages/s that alone took most of a core. A
        success PUBACK is 4 bytes in MQTT 3.1.1 and 5 (reason code and properties omitted when the reason is
        success, MQTT 5.0 section 3.4.2.1), so the batch is built here and handed to paho as one packet.
        """
        generation = self._generation
        mids = [tag & 0xFFFF for tag in mids if tag >> 16 == generation]  # acks of an old connection: dropped
        if not mids:
            return
        queue_packet = getattr(self._client, "_packet_queue", None)
        if queue_packet is None:  # a paho without the internal hook: fall back to one ack per message
            for mid in mids:
                self._client.ack(mid, 1)
            return
        packet = b"".join(_PUBACK.pack(0x40, 2, mid) for mid in mids)
        queue_packet(0x40, packet, 0, 0)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish a downlink (e.g. `eldercare/<id>/set`), queued by paho while disconnected."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def subscribe(self, topics: list[str]) -> None:
        """Subscribe to topics at QoS 1 (a shard following its registry); while offline, on_connect does it."""
        for i in range(0, len(topics), SUBSCRIBE_CHUNK):
            self._client.subscribe([(t, _options(t)) for t in topics[i : i + SUBSCRIBE_CHUNK]])

    def unsubscribe(self, topics: list[str]) -> None:
        """Drop topics (a device left this worker's shard)."""
        for i in range(0, len(topics), SUBSCRIBE_CHUNK):
            self._client.unsubscribe(topics[i : i + SUBSCRIBE_CHUNK])

    def _topics(self) -> list[str]:
        if self.topic_source is not None:
            return self.topic_source()
        group = self.settings.shared_group
        return [f"$share/{group}/{t}" if group else t for t in SUBSCRIPTIONS]

    def _on_connect(self, client: mqtt.Client, _ud: object, _flags: object, reason: object, _p: object) -> None:
        try:
            if getattr(reason, "is_failure", False):
                self.refused = str(reason)
                logger.error("broker refused the hub: %s", reason)
                client.disconnect()  # refused credentials: stop retrying, report (aiomqtt does the same)
                return
            self._generation += 1  # a new connection: tags of the previous one must not be acked on it
            self.subscribe(self._topics())
            first = not self.connected.is_set()
            self.connected.set()
            logger.info("connected to %s", self.settings.safe_url)
            if not first and self.on_link is not None:
                self.on_link("up")
        except Exception:
            logger.exception("on_connect failed")

    def _on_disconnect(self, _c: mqtt.Client, _ud: object, _flags: object, reason: object, _p: object) -> None:
        with contextlib.suppress(Exception):  # logging must never kill paho's thread
            if self._stopping:
                logger.info("disconnected from the broker; it keeps the hub's session")
            else:
                if self.on_link is not None:
                    self.on_link("down")
                logger.warning("disconnected from broker (%s); paho reconnects with backoff", reason)

    def _on_publishes(self, publishes: list[Publish]) -> None:
        """The fast path's batch of QoS 0/1 messages (ingest/readahead.py), handed to the inbox at once."""
        try:
            tag, now = self._generation << 16, time.time()
            inbound = [Inbound(topic.decode("utf-8", "replace"), payload, tag | mid, qos, now)
                       for topic, payload, mid, qos in publishes]
            self.inbox.put_many([m for m in inbound if not self._dropped_downlink(m)])
        except Exception:
            logger.exception("could not hand %d messages to the pipeline", len(publishes))

    def _on_message(self, _c: mqtt.Client, _ud: object, msg: mqtt.MQTTMessage) -> None:
        try:
            # Decode the topic leniently: a message must reach the pipeline (and be dead-lettered and acked),
            # whatever its bytes, or it would sit unacknowledged forever.
            topic = msg._topic.decode("utf-8", "replace")
            payload = cast(bytes, msg.payload)  # typed bytes | bytearray by paho; bytes when received
            inbound = Inbound(topic, payload, self._generation << 16 | msg.mid, msg.qos, time.time())
            if not self._dropped_downlink(inbound):
                self.inbox.put(inbound)
        except Exception:
            logger.exception("could not hand a message to the pipeline (topic %r)", getattr(msg, "_topic", b"")[:200])

    def _dropped_downlink(self, message: Inbound) -> bool:
        """Ack and drop a downlink that still came back (another hub worker's, or via a shared subscription)."""
        if not is_downlink(message.topic):
            return False
        self.ack(message.mid, message.qos)
        return True


def anonymous_accepted(settings: MqttSettings, timeout_s: float = 5.0) -> bool:
    """True when the broker of `settings` accepts a client with no user name and no password (issue 16).

    Connects once, as the hub would (same host, port and TLS), with a throwaway client id and a clean session;
    raises BrokerUnreachable when the broker cannot be reached or gives no answer in time.
    """
    answer: list[bool] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hub-anonymous-probe-{time.monotonic_ns()}",
                         protocol=mqtt.MQTTv5)
    if settings.tls:
        client.tls_set(ca_certs=_path(settings.tls_ca_file))

    def on_connect(c: mqtt.Client, _ud: object, _flags: object, reason: object, _p: object) -> None:
        answer.append(not getattr(reason, "is_failure", False))
        done.set()
        c.disconnect()

    def on_disconnect(*_args: object) -> None:
        if not done.is_set():  # closed before any CONNACK (e.g. a TLS listener that wants a client certificate)
            answer.append(False)
            done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    try:
        client.connect(settings.host, settings.port, 10)
    except ssl.SSLError as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            raise BrokerUnreachable(f"the MQTT broker at {settings.safe_url} has a certificate not signed by "
                                    f"tls_ca_file ({exc})") from exc
        return False  # the broker refused the handshake of a client without a certificate
    except OSError as exc:
        raise BrokerUnreachable(f"cannot reach the MQTT broker at {settings.safe_url} ({redact_urls(str(exc))}); "
                                "start it, or point HUB_MQTT__URL / --mqtt-url at a running broker") from exc
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            raise BrokerUnreachable(f"the MQTT broker at {settings.safe_url} did not answer a CONNECT")
    finally:
        client.loop_stop()
    return answer[0]
