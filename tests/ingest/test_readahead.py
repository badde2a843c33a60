"""The PUBLISH fast path (ingest/readahead.py): what it takes from the buffer, and what it leaves to paho."""

from __future__ import annotations

import pytest

from ingest.readahead import ReadAheadSocket


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, byte = n >> 7, n & 0x7F
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(topic: str, payload: bytes, mid: int = 1, qos: int = 1, v5: bool = True, props: bytes = b"") -> bytes:
    """A PUBLISH packet as MQTT 3.1.1 / 5.0 section 3.3 lay it out."""
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name + (mid.to_bytes(2, "big") if qos else b"")
    body += (_varint(len(props)) + props if v5 else b"") + payload
    return bytes([0x30 | qos << 1]) + _varint(len(body)) + body


class _Wire:
    """A socket whose one recv() returns the given bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def recv(self, _n: int) -> bytes:
        data, self.data = self.data, b""
        return data


def _loaded(data: bytes) -> ReadAheadSocket:
    sock = ReadAheadSocket(_Wire(data))
    assert sock.recv(1) == data[:1]
    sock._pos = 0  # the whole wire is buffered, nothing consumed
    return sock


@pytest.mark.parametrize("v5", [True, False])
def test_takes_qos0_and_qos1_publishes_of_any_length(v5: bool) -> None:
    big = bytes(range(256)) * 80  # 20 KiB: a three-byte remaining length
    wire = publish("eldercare/W1/telemetry", b'{"a":1}', 7, v5=v5) + publish("x/y", b"", 0, qos=0, v5=v5)
    wire += publish("eldercare/W2/telemetry", big, 65535, v5=v5)
    sock = _loaded(wire)
    assert sock.take_publishes(v5) == [(b"eldercare/W1/telemetry", b'{"a":1}', 7, 1), (b"x/y", b"", 0, 0),
                                       (b"eldercare/W2/telemetry", big, 65535, 1)]  # fmt: skip
    assert sock.pending() == 0


def test_leaves_properties_qos2_control_packets_and_cut_packets_to_paho() -> None:
    first = publish("a/b", b"1", 1)
    with_props = publish("a/b", b"2", 2, props=b"\x26\x00\x01k\x00\x01v")  # a user property: paho's to parse
    sock = _loaded(first + with_props + publish("a/b", b"3", 3))
    assert sock.take_publishes(True) == [(b"a/b", b"1", 1, 1)]
    assert sock.recv(len(with_props)) == with_props  # paho reads it from exactly there
    assert sock.take_publishes(True) == [(b"a/b", b"3", 3, 1)]
    for rest in (publish("a/b", b"q2", 9, qos=2), b"\xd0\x00", publish("a/b", b"cut", 4)[:-1]):
        sock = _loaded(publish("a/b", b"ok", 5) + rest)
        assert sock.take_publishes(True) == [(b"a/b", b"ok", 5, 1)]
        assert sock.pending() == len(rest)


def test_malformed_bytes_are_not_consumed() -> None:
    topic_too_long = b"\x32\x06\x00\x40ab\x00\x01"  # says a 64-byte topic inside a 6-byte packet
    five_byte_length = b"\x32\xff\xff\xff\xff\x01"
    for bad in (topic_too_long, five_byte_length, b"\x32\x01\x00"):
        sock = _loaded(bad)
        assert sock.take_publishes(True) == []
        assert sock.pending() == len(bad)


def test_a_batch_is_bounded() -> None:
    sock = _loaded(b"".join(publish("a/b", b"x", i + 1) for i in range(10)))
    assert len(sock.take_publishes(True, limit=4)) == 4
    assert len(sock.take_publishes(True, limit=100)) == 6
