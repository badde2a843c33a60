"""A read-ahead socket for paho, and a fast path for the PUBLISH packets that fill it.

paho reads each packet with recv(1) for the command byte, recv(1) per remaining-length byte and recv(n) for the
body: three or four system calls a message, plus a select() each time. Wrapped in `ReadAheadSocket`, those reads
are served from one large buffer, and `pending()` (the hook paho already uses for TLS sockets, paho client.py
`_loop`) tells paho's loop that bytes are waiting, so it does not sleep in select() while the buffer holds data.

Then, per message, paho builds a Properties object, an MQTTMessage, matches the topic against its callback
table and calls on_message: about 80 % of its network thread's time in a py-spy profile of bench/ingest.py.
`ReadAheadClient` parses the complete QoS 0/1 PUBLISH packets at the head of the buffer itself, in one loop,
and hands them to `fast_publish` as one list (one inbox hand-off per buffer instead of one per message).
Anything else - CONNACK, SUBACK, PINGRESP, a QoS 2 PUBLISH, a PUBLISH carrying MQTT 5 properties (a topic alias
must be resolved by paho), a packet cut at the buffer's end, or bytes that do not parse - goes through paho's
own code, which keeps the session, keepalive and protocol errors exactly as they were.
Measured effect: see bench/ingest.py.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

READ_AHEAD_BYTES = 256 * 1024
MAX_PER_CALL = 4096  # messages handed over per call: bounds the batch, and paho's thread gets to its writes
Publish = tuple[bytes, bytes, int, int]  # topic (raw bytes), payload, packet id, qos


class ReadAheadSocket:
    """Delegates everything to the wrapped socket except recv() and pending()."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        """Serve from the buffer; refill with one large read when it is empty (raises like socket.recv)."""
        if self._pos >= len(self._buf):
            self._buf = self._sock.recv(max(bufsize, READ_AHEAD_BYTES))
            self._pos = 0
            if not self._buf:
                return b""  # the peer closed the connection
        chunk = self._buf[self._pos : self._pos + bufsize]
        self._pos += len(chunk)
        return chunk

    def pending(self) -> int:
        """Bytes already read from the network but not yet handed to paho (plus TLS's own)."""
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buf) - self._pos + inner

    def take_publishes(self, v5: bool, limit: int = MAX_PER_CALL) -> list[Publish]:
        """Consume the complete QoS 0/1 PUBLISH packets without properties at the head of the buffer.

        Stops, leaving the bytes for paho, at the first packet that is anything else, incomplete or malformed.
        """
        buf, pos, end = self._buf, self._pos, len(self._buf)
        out: list[Publish] = []
        while pos < end and len(out) < limit:
            first = buf[pos]
            qos = (first >> 1) & 3
            if first >> 4 != 3 or qos > 1:
                break
            body, size = _remaining_length(buf, pos + 1, end)
            stop = body + size
            if body < 0 or stop > end or size < 2:
                break
            topic_end = body + 2 + ((buf[body] << 8) | buf[body + 1])
            at, mid = topic_end, 0
            if qos:
                if at + 2 > stop:
                    break
                mid = (buf[at] << 8) | buf[at + 1]
                at += 2
            if v5:
                if at >= stop or buf[at] != 0:  # MQTT 5 properties present: paho resolves them
                    break
                at += 1
            if at > stop:
                break
            out.append((buf[body + 2 : topic_end], buf[at:stop], mid, qos))
            pos = stop
        self._pos = pos
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _remaining_length(buf: bytes, at: int, end: int) -> tuple[int, int]:
    """(offset of the packet body, its length); (-1, 0) when the length is cut off or longer than 4 bytes."""
    size, shift = 0, 0
    for i in range(at, min(at + 4, end)):
        byte = buf[i]
        size |= (byte & 0x7F) << shift
        if byte < 0x80:
            return i + 1, size
        shift += 7
    return -1, 0


class ReadAheadClient(mqtt.Client):
    """paho's Client with its TCP socket wrapped in a ReadAheadSocket (websocket transport left as it is).

    Set `fast_publish` to receive QoS 0/1 PUBLISH packets in lists, bypassing on_message (see the module doc).
    """

    fast_publish: Callable[[list[Publish]], None] | None = None

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if isinstance(sock, socket.socket) or hasattr(sock, "pending"):
            return ReadAheadSocket(sock)
        return sock

    def _packet_read(self) -> MQTTErrorCode:
        sock, sink = self._sock, self.fast_publish
        if sink is not None and isinstance(sock, ReadAheadSocket) and self._in_packet["command"] == 0:
            publishes = sock.take_publishes(self._protocol == mqtt.MQTTv5)
            if publishes:
                sink(publishes)
                with self._msgtime_mutex:  # what paho's own read does per packet (its keepalive reads it)
                    self._last_bytes_received = mqtt.time_func()
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_read()
