"""The hub's MQTT client (the only module of the hub that imports paho).

MQTT 5, QoS 1, a fixed client id and clean_start=False with a session expiry, so the broker queues what arrives
while the hub is down. manual_ack=True: a message is acknowledged only after ingest has durably stored it and the
detectors have handled it, so even `kill -9` loses nothing (the broker redelivers unacknowledged messages on
reconnect). Callbacks never raise:
an exception inside one would kill paho's network thread.

Issue 20: a broker that refuses MQTT 5 (NATS, RabbitMQ: 3.1.1 only) gets MQTT 3.1.1 with a persistent session
(clean_session false, QoS 1): the same guarantees, since acks stay manual and dedup by (device, seq) is ingest's.
Several URLs name the nodes of a cluster: the hub connects to the first that answers and, when its node dies, moves
to the next (round robin), where the cluster's copy of its session redelivers what it had not acknowledged.
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
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from devices.redact import redact_url, redact_urls
from ingest.inbox import Inbound, Inbox
from ingest.readahead import Publish, ReadAheadClient
from ingest.settings import MqttSettings

logger = logging.getLogger(__name__)
_PUBACK = struct.Struct("!BBH")  # PUBACK fixed header, remaining length 2, packet id
SUBSCRIPTIONS = ("eldercare/+/+", "disaster/+/+", "zigbee2mqtt/#", "owntracks/+/+",  # issue 9: existing clients
                 "responders/+/status",  # issue 5: responder apps answer offers
                 "teams/+/status")  # issue 14: rescue teams report their progress
CONNECT_TIMEOUT_S = 10.0
RESUBSCRIBE_S = 1.0
CLUSTER_CONNECT_TIMEOUT_S = 4.0
TRANSIENT_REFUSALS = (0x88, 0x89)  # CONNACK "server unavailable" / "server busy" (3.1.1's 3 reads as 0x88)
UNSUPPORTED_PROTOCOL = (0x84, 0x01)  # CONNACK "unsupported protocol version" (MQTT 5 code; paho's view of 3.1.1's 1)
SUBSCRIBE_CHUNK = 200  # topics per SUBSCRIBE packet when a shard follows thousands of devices
SLOT_SHIFT = 48  # a delivery tag is (slot << 48) | (connection number << 16) | packet id (issue 20: several links)
GENERATION_MASK = (1 << 32) - 1
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


def protocol_refused(reason: object) -> bool:
    """True when a CONNACK says the broker does not speak the MQTT version the client asked for."""
    return bool(getattr(reason, "is_failure", False)) and getattr(reason, "value", None) in UNSUPPORTED_PROTOCOL


class MqttLink:
    """Connects, subscribes, feeds the inbox, acks, and publishes downlinks."""

    def __init__(self, settings: MqttSettings, inbox: Inbox, on_link: Callable[[str], None] | None = None,
                 topic_source: Callable[[], list[str]] | None = None, slot: int = 0, strip: str = "",
                 first_node: int = 0) -> None:
        """`slot` tells this link's delivery tags from those of the other links feeding the same inbox (the
        virtual shards of issue 20, each its own session): tags carry it above bit 48."""
        self.settings = settings
        self.slot = slot
        self.strip = strip  # a prefix the broker put before device topics (its shard routing, issue 20): removed
        self._base = slot << SLOT_SHIFT
        self.paused = False  # a shard being handed over: new deliveries are left unacknowledged for the next owner
        self.forwarded = 0  # QoS 1 messages handed to the inbox (written by paho's thread only)
        self.settled = 0  # of those, acknowledged or dropped as of an old connection (written by the loop only)
        self.inbox = inbox
        self.connected = threading.Event()
        self.on_link = on_link  # called with "up" / "down" from paho's thread
        self.refused: str | None = None
        self.refused_protocol = False  # the last refusal was "unsupported protocol version"
        self.topic_source = topic_source  # topic shards (issue 7): this worker's topics, asked on each connect
        self._stopping = False
        self._subscribing: dict[int, list[str]] = {}  # SUBSCRIBE packet id -> its topics, until its SUBACK
        self._generation = 0
        self._node = first_node % len(settings.nodes)  # index in settings.nodes of the node connected to (or next)
        self._answered = threading.Event()  # a CONNACK came, accepting or refusing
        self._up = False  # a connection is established (the next disconnect is a drop)
        self._gave_up = False  # the broker refused the hub for good (credentials, protocol): no retry
        self.protocol = mqtt.MQTTv311 if settings.protocol == "3.1.1" else mqtt.MQTTv5
        self._client = self._make_client()

    def _make_client(self) -> ReadAheadClient:
        settings, v5 = self.settings, self.protocol == mqtt.MQTTv5
        # MQTT 3.1.1 has no session expiry: clean_session=False keeps the session until the hub says otherwise.
        client = ReadAheadClient(CallbackAPIVersion.VERSION2, client_id=settings.client_id, protocol=self.protocol,
                                 manual_ack=True, clean_session=None if v5 else False)
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:  # issue 16: mqtts://, the broker's certificate checked against the CA file
            client.tls_set(ca_certs=_path(settings.tls_ca_file), certfile=_path(settings.tls_cert_file),
                           keyfile=_path(settings.tls_key_file))
        client.reconnect_delay_set(min_delay=1, max_delay=30 if len(settings.nodes) == 1 else 2)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.fast_publish = self._on_publishes
        return client

    @property
    def node_url(self) -> str:
        """The (redacted) URL of the node connected to, or tried next."""
        return redact_url(self.settings.urls[self._node])

    def start(self) -> None:
        """Connect (raising BrokerUnreachable with a hint) and start paho's network thread.

        Tries each node in turn; a node that refuses MQTT 5 is asked again in 3.1.1 (protocol "auto").
        """
        failures: list[str] = []
        for _ in range(len(self.settings.nodes)):
            try:
                self._connect_once()
                return
            except BrokerUnreachable as exc:
                failures.append(str(exc))
                self._next_node()
        if len(failures) == 1:
            raise BrokerUnreachable(failures[0])
        raise BrokerUnreachable("no node of the MQTT broker cluster accepted the hub: " + "; ".join(failures))

    def _connect_once(self) -> None:
        host, port = self.settings.nodes[self._node]
        while True:
            self._answered.clear()
            self.refused, self._gave_up = None, False
            try:
                if self.protocol == mqtt.MQTTv5:
                    props = Properties(PacketTypes.CONNECT)
                    props.SessionExpiryInterval = self.settings.session_expiry_s
                    props.ReceiveMaximum = self.settings.receive_maximum
                    self._client.connect(host, port, self.settings.keepalive_s, clean_start=False, properties=props)
                else:
                    self._client.connect(host, port, self.settings.keepalive_s)
            except OSError as exc:  # ssl.SSLError too: a certificate not signed by tls_ca_file
                raise BrokerUnreachable(f"cannot reach the MQTT broker at {self.node_url} "
                                        f"({redact_urls(str(exc))}); start it, or point HUB_MQTT__URL / --mqtt-url at "
                                        "a running broker") from exc
            self._client.loop_start()
            # a cluster node that takes the TCP connection but cannot answer (JetStream recovering): try the next
            self._answered.wait(CONNECT_TIMEOUT_S if len(self.settings.nodes) == 1 else CLUSTER_CONNECT_TIMEOUT_S)
            if self.connected.is_set():
                return
            self._client.loop_stop()
            _close_socket(self._client)
            if self._downgrade():
                continue
            why = self.refused or "no CONNACK"
            raise BrokerUnreachable(f"the MQTT broker at {self.node_url} did not accept the hub: {why}")

    def _downgrade(self) -> bool:
        """After a refusal of MQTT 5 (protocol "auto"): rebuild the client in 3.1.1; False when not applicable."""
        if not (self.refused_protocol and self.settings.protocol == "auto" and self.protocol == mqtt.MQTTv5):
            return False
        logger.warning("the MQTT broker at %s does not speak MQTT 5; using MQTT 3.1.1 with a persistent session",
                       self.node_url)
        self.protocol = mqtt.MQTTv311
        self._client = self._make_client()
        return True

    def _next_node(self) -> None:
        """Point paho at the next node (its own reconnect loop then dials it)."""
        self._node = (self._node + 1) % len(self.settings.nodes)
        host, port = self.settings.nodes[self._node]
        # paho's host/port setters refuse while its state is "connection lost"; its reconnect() reads these two.
        self._client._host, self._client._port = host, port

    def stop(self) -> None:
        """Disconnect cleanly; the broker keeps the session and queues new messages."""
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def node_index(self) -> int:
        """The index (in the settings' nodes) of the node connected to, or tried next."""
        return self._node

    @property
    def speaks_v5(self) -> bool:
        """False once the broker refused MQTT 5 and the link fell back to 3.1.1 (or was told to use it)."""
        return self.protocol == mqtt.MQTTv5

    @property
    def inflight(self) -> int:
        """QoS 1 messages handed to the pipeline and not yet acknowledged."""
        return self.forwarded - self.settled

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge one stored message (by its delivery tag) to the broker."""
        if qos > 0 and mid >> 16 & GENERATION_MASK == self._generation:
            self._client.ack(mid & 0xFFFF, qos)

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge many QoS 1 messages, in order, with one wake-up of paho's thread and one socket write.

        paho's own ack() queues one packet per message, wakes its network thread through a socket pair and
        writes each PUBACK with its own send(): at 20,000 messages/s that alone took most of a core. A
        success PUBACK is 4 bytes in MQTT 3.1.1 and 5 (reason code and properties omitted when the reason is
        success, MQTT 5.0 section 3.4.2.1), so the batch is built here and handed to paho as one packet.
        """
        generation = self._generation
        self.settled += len(mids)
        mids = [tag & 0xFFFF for tag in mids if tag >> 16 & GENERATION_MASK == generation]  # old connection's: dropped
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
        v5 = self.protocol == mqtt.MQTTv5  # MQTT 3.1.1 has no No Local: the callbacks drop `/set` topics there
        for i in range(0, len(topics), SUBSCRIBE_CHUNK):
            chunk = topics[i : i + SUBSCRIBE_CHUNK]
            _rc, mid = self._client.subscribe([(t, _options(t)) for t in chunk] if v5 else [(t, 1) for t in chunk])
            if mid is not None:
                self._subscribing[mid] = chunk

    def _on_subscribe(self, _c: mqtt.Client, _ud: object, mid: int, reasons: list[ReasonCode], _p: Properties) -> None:
        """A SUBACK: topics the broker refused are asked again (NATS refuses some of a large SUBSCRIBE while its
        JetStream is busy creating their consumers, issue 20)."""
        with contextlib.suppress(Exception):
            chunk = self._subscribing.pop(mid, [])
            failed = [t for t, r in zip(chunk, reasons, strict=False) if getattr(r, "is_failure", False)]
            if failed and not self._stopping:
                logger.warning("the broker refused %d of %d subscriptions; asking again", len(failed), len(chunk))
                retry = threading.Timer(RESUBSCRIBE_S, self.subscribe, [failed])
                retry.daemon = True
                retry.start()

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
                if self.connected.is_set() and getattr(reason, "value", None) in TRANSIENT_REFUSALS:
                    # a cluster node that cannot serve sessions yet (e.g. JetStream electing leaders after a node
                    # died): it closes the connection, and on_disconnect sends the next attempt to another node
                    logger.warning("the broker at %s cannot take the hub now: %s", self.node_url, reason)
                    return
                self.refused = str(reason)
                self.refused_protocol = protocol_refused(reason)
                if not self.refused_protocol:
                    logger.error("broker refused the hub: %s", reason)
                self._gave_up = True
                client.disconnect()  # refused credentials: stop retrying, report (aiomqtt does the same)
                self._answered.set()
                return
            self._gave_up = False
            self._generation += 1  # a new connection: tags of the previous one must not be acked on it
            self.subscribe(self._topics())
            first = not self.connected.is_set()
            self.connected.set()
            self._up = True
            self._answered.set()
            version = "MQTT 5" if self.protocol == mqtt.MQTTv5 else "MQTT 3.1.1, persistent session"
            logger.info("connected to %s (%s)", self.node_url, version)
            if not first and self.on_link is not None:
                self.on_link("up")
        except Exception:
            logger.exception("on_connect failed")

    def _on_disconnect(self, _c: mqtt.Client, _ud: object, _flags: object, reason: object, _p: object) -> None:
        with contextlib.suppress(Exception):  # logging must never kill paho's thread
            was_up, self._up = self._up, False
            if self._stopping:
                logger.info("disconnected from the broker; it keeps the hub's session")
                return
            if self._gave_up:
                return  # the close after a refused CONNECT: start() or on_connect reported it
            was = self.node_url
            if len(self.settings.nodes) > 1:
                self._next_node()
            if not was_up:  # closed before a CONNACK, or after a transient refusal
                logger.info("the broker at %s closed the connection before accepting it; next try: %s", was,
                            self.node_url)
                return
            if self.on_link is not None:
                self.on_link("down")
            logger.warning("disconnected from broker %s (%s); reconnecting to %s with backoff", was, reason,
                           self.node_url)

    def _on_connect_fail(self, _c: mqtt.Client, _ud: object) -> None:
        """A reconnect attempt could not reach its node: the next attempt dials the next node."""
        with contextlib.suppress(Exception):
            if len(self.settings.nodes) > 1:
                self._next_node()

    def _on_publishes(self, publishes: list[Publish]) -> None:
        """The fast path's batch of QoS 0/1 messages (ingest/readahead.py), handed to the inbox at once."""
        try:
            if self.paused:
                return  # handed over: unacknowledged, so the broker redelivers them to the shard's next owner
            tag, now = self._base | self._generation << 16, time.time()
            inbound = [Inbound(self._topic(topic), payload, tag | mid, qos, now)
                       for topic, payload, mid, qos in publishes]
            inbound = [m for m in inbound if not self._dropped_downlink(m)]
            self.forwarded += sum(1 for m in inbound if m.qos == 1)
            self.inbox.put_many(inbound)
        except Exception:
            logger.exception("could not hand %d messages to the pipeline", len(publishes))

    def _on_message(self, _c: mqtt.Client, _ud: object, msg: mqtt.MQTTMessage) -> None:
        try:
            # Decode the topic leniently: a message must reach the pipeline (and be dead-lettered and acked),
            # whatever its bytes, or it would sit unacknowledged forever.
            if self.paused:
                return  # handed over (see _on_publishes)
            topic = self._topic(msg._topic)
            payload = cast(bytes, msg.payload)  # typed bytes | bytearray by paho; bytes when received
            inbound = Inbound(topic, payload, self._base | self._generation << 16 | msg.mid, msg.qos, time.time())
            if not self._dropped_downlink(inbound):
                self.forwarded += inbound.qos == 1
                self.inbox.put(inbound)
        except Exception:
            logger.exception("could not hand a message to the pipeline (topic %r)", getattr(msg, "_topic", b"")[:200])

    def _topic(self, raw: bytes) -> str:
        """The topic as the MQTT contract names it (leniently decoded; a broker's shard prefix removed)."""
        topic = raw.decode("utf-8", "replace")
        return topic[len(self.strip):] if self.strip and topic.startswith(self.strip) else topic

    def _dropped_downlink(self, message: Inbound) -> bool:
        """Ack and drop a downlink that still came back (another hub worker's, or via a shared subscription)."""
        if not is_downlink(message.topic):
            return False
        self.ack(message.mid, message.qos)
        return True


def anonymous_accepted(settings: MqttSettings, timeout_s: float = 5.0) -> bool:
    """True when the broker of `settings` accepts a client with no user name and no password (issue 16).

    Connects once, as the hub would (same host, port and TLS; the first node of a cluster that can be reached; MQTT 5,
    then 3.1.1 when 5 is refused), with a throwaway client id and a clean session; raises BrokerUnreachable when no
    node can be reached or none gives an answer in time.
    """
    protocols = {"auto": (mqtt.MQTTv5, mqtt.MQTTv311), "5": (mqtt.MQTTv5,), "3.1.1": (mqtt.MQTTv311,)}
    unreachable: BrokerUnreachable | None = None
    for host, port in settings.nodes:
        try:
            for protocol in protocols[settings.protocol]:
                answer = _probe_anonymous(settings, host, port, protocol, timeout_s)
                if answer is not None:
                    return answer
            return False  # refused every protocol version offered: not an anonymous broker
        except BrokerUnreachable as exc:
            if "certificate" in str(exc):
                raise
            unreachable = exc
    assert unreachable is not None
    raise unreachable


def _probe_anonymous(settings: MqttSettings, host: str, port: int, protocol: mqtt.MQTTProtocolVersion,
                     timeout_s: float) -> bool | None:
    """One anonymous CONNECT: True accepted, False refused, None refused for its protocol version."""
    answer: list[bool | None] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hub-anonymous-probe-{time.monotonic_ns()}",
                         protocol=protocol)
    if settings.tls:
        client.tls_set(ca_certs=_path(settings.tls_ca_file))
    url = redact_url(settings.urls[settings.nodes.index((host, port))])

    def on_connect(c: mqtt.Client, _ud: object, _flags: object, reason: object, _p: object) -> None:
        answer.append(None if protocol_refused(reason) else not getattr(reason, "is_failure", False))
        done.set()
        c.disconnect()

    def on_disconnect(*_args: object) -> None:
        if not done.is_set():  # closed before any CONNACK (e.g. a TLS listener that wants a client certificate)
            answer.append(False)
            done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    try:
        client.connect(host, port, 10)
    except ssl.SSLError as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            raise BrokerUnreachable(f"the MQTT broker at {url} has a certificate not signed by "
                                    f"tls_ca_file ({exc})") from exc
        return False  # the broker refused the handshake of a client without a certificate
    except OSError as exc:
        raise BrokerUnreachable(f"cannot reach the MQTT broker at {url} ({redact_urls(str(exc))}); "
                                "start it, or point HUB_MQTT__URL / --mqtt-url at a running broker") from exc
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            raise BrokerUnreachable(f"the MQTT broker at {url} did not answer a CONNECT")
    finally:
        client.loop_stop()
        _close_socket(client)
    return answer[0]


def _close_socket(client: mqtt.Client) -> None:
    """Close a client's socket after a refused or unanswered CONNECT (its loop is stopped; paho has no public call)."""
    with contextlib.suppress(Exception):
        client._sock_close()
