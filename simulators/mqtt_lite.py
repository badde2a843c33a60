"""A lean asyncio MQTT 3.1.1 client: enough of the protocol for thousands of simulated devices in one process.

paho costs a Python object graph and (with its loop) a thread per client; the load generator (simulators/loadgen.py)
holds 10,000 connections from a few processes, so each device here is one `asyncio.Protocol` on the event loop:
CONNECT (client id, username/password, retained last will), QoS 0/1 PUBLISH with the PUBACKs counted, PINGREQ on
idle, SUBSCRIBE for the bench's counting subscriber, DISCONNECT. No MQTT 5, no QoS 2, no inbound flow control:
the simulator only needs what devices do (docs/mqtt-contract.md).

An unacknowledged QoS 1 publish is kept until its PUBACK; after a reconnect (to the next node of a cluster, as
simulators/fleet.py does) it is sent again with DUP set, so a reading may arrive twice but is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 1, 2, 3, 4, 8, 9, 12, 13, 14
PING = bytes([PINGREQ << 4, 0])
BYE = bytes([DISCONNECT << 4, 0])


class MqttRefused(ConnectionError):
    """The broker answered CONNECT with a non-zero return code (5: not authorised)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"broker refused the connection (CONNACK return code {code})")
        self.code = code


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str | bytes) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(raw)) + raw


@dataclass(frozen=True)
class Will:
    """A retained last will (the device's availability topic)."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def connect_packet(client_id: str, keepalive: int, username: str | None = None, password: str | None = None,
                   will: Will | None = None, clean: bool = True) -> bytes:
    """The CONNECT packet of MQTT 3.1.1."""
    flags = 0x02 if clean else 0
    payload = _str(client_id)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        payload += _str(will.topic) + _str(will.payload)
    if username is not None:
        flags |= 0x80
        payload += _str(username)
        if password is not None:
            flags |= 0x40
            payload += _str(password)
    body = _str("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + payload
    return bytes([CONNECT << 4]) + _remaining(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, qos: int, pid: int = 0, retain: bool = False,
                   dup: bool = False) -> bytes:
    """A PUBLISH packet (`topic` already encoded)."""
    head = (PUBLISH << 4) | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0)
    body_len = 2 + len(topic) + (2 if qos else 0) + len(payload)
    pid_bytes = struct.pack("!H", pid) if qos else b""
    return b"".join((bytes([head]), _remaining(body_len), struct.pack("!H", len(topic)), topic, pid_bytes, payload))


class MqttClient(asyncio.Protocol):
    """One MQTT connection. `on_message(topic, payload)` for a subscriber; counters for the generator."""

    def __init__(self, client_id: str, username: str | None = None, password: str | None = None,
                 will: Will | None = None, keepalive: int = 60,
                 on_message: Callable[[bytes, bytes], None] | None = None) -> None:
        self.client_id, self.username, self.password, self.will = client_id, username, password, will
        self.keepalive = keepalive
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._connack: asyncio.Future[int] | None = None
        self._suback: asyncio.Future[None] | None = None
        self.closed: asyncio.Future[None] | None = None
        self.unacked: dict[int, bytes] = {}  # pid -> the PUBLISH packet, sent again (DUP) after a reconnect
        self._pid = 0
        self.published = 0
        self.acked = 0
        self.last_write = 0.0
        self.node = 0

    # --- asyncio.Protocol ---------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._write(connect_packet(self.client_id, self.keepalive, self.username, self.password, self.will))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for fut in (self._connack, self._suback):
            if fut is not None and not fut.done():
                fut.set_exception(ConnectionError(f"connection lost: {exc}"))
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos, end = 0, len(buf)
        while end - pos >= 2:
            mult, length, i = 1, 0, pos + 1
            while True:  # remaining length: 1..4 bytes, 7 bits each
                if i >= end:
                    del buf[:pos]
                    return
                byte = buf[i]
                length += (byte & 0x7F) * mult
                mult *= 128
                i += 1
                if not byte & 0x80:
                    break
            if end - i < length:
                break
            self._packet(buf[pos] >> 4, buf[pos] & 0x0F, bytes(buf[i : i + length]))
            pos = i + length
        del buf[:pos]

    # --- packets -----------------------------------------------------------------------------------------------
    def _packet(self, kind: int, flags: int, body: bytes) -> None:
        if kind == PUBACK:
            if self.unacked.pop(struct.unpack_from("!H", body)[0], None) is not None:
                self.acked += 1
        elif kind == PUBLISH:
            (tlen,) = struct.unpack_from("!H", body)
            topic, qos, start = body[2 : 2 + tlen], (flags >> 1) & 3, 2 + tlen
            if qos:
                self._write(bytes([PUBACK << 4, 2]) + body[start : start + 2])
                start += 2
            if self.on_message is not None:
                self.on_message(topic, body[start:])
        elif kind == CONNACK:
            if self._connack is not None and not self._connack.done():
                self._connack.set_result(body[1])
        elif kind == SUBACK and self._suback is not None and not self._suback.done():
            self._suback.set_result(None)

    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)
            self.last_write = time.monotonic()

    # --- API ---------------------------------------------------------------------------------------------------
    async def connect(self, host: str, port: int, timeout_s: float = 10.0,
                      ssl_ctx: ssl.SSLContext | None = None) -> None:
        """Open the connection and wait for CONNACK; resend what was unacknowledged (DUP). MqttRefused on a refusal."""
        loop = asyncio.get_running_loop()
        self._connack, self.closed = loop.create_future(), loop.create_future()
        self._buf.clear()
        await asyncio.wait_for(loop.create_connection(lambda: self, host, port, ssl=ssl_ctx), timeout_s)
        code = await asyncio.wait_for(self._connack, timeout_s)
        if code:
            self.close()
            raise MqttRefused(code)
        for packet in self.unacked.values():
            self._write(bytes([packet[0] | 0x08]) + packet[1:])

    @property
    def connected(self) -> bool:
        """True while the transport is open and CONNACK accepted it."""
        return self.transport is not None and self._connack is not None and self._connack.done() \
            and not self._connack.exception() and self._connack.result() == 0

    def publish(self, topic: bytes, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Send at once (the transport buffers when the socket is full); QoS 1 kept until its PUBACK."""
        pid = 0
        if qos:
            self._pid = self._pid % 65535 + 1
            pid = self._pid
        packet = publish_packet(topic, payload, qos, pid, retain)
        if qos:
            self.unacked[pid] = packet
        self.published += 1
        self._write(packet)

    async def subscribe(self, topics: Sequence[str], qos: int = 0, timeout_s: float = 10.0) -> None:
        """SUBSCRIBE to `topics` and wait for the SUBACK."""
        self._suback = asyncio.get_running_loop().create_future()
        self._pid = self._pid % 65535 + 1
        body = struct.pack("!H", self._pid) + b"".join(_str(t) + bytes([qos]) for t in topics)
        self._write(bytes([(SUBSCRIBE << 4) | 0x02]) + _remaining(len(body)) + body)
        await asyncio.wait_for(self._suback, timeout_s)

    def ping_if_idle(self, now: float) -> None:
        """PINGREQ when nothing was written for half the keepalive (the broker drops at 1.5 x keepalive)."""
        if self.transport is not None and now - self.last_write > self.keepalive / 2:
            self._write(PING)

    def buffered(self) -> int:
        """Bytes waiting in the transport's write buffer (the broker is not reading fast enough)."""
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def close(self, clean: bool = True) -> None:
        """DISCONNECT (clean: the broker drops the last will) and close the socket."""
        if self.transport is not None:
            if clean:
                self._write(BYE)
            with contextlib.suppress(Exception):
                self.transport.close()
