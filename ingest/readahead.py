"""A read-ahead socket for paho: one recv() of up to 256 KiB instead of three or four tiny ones per message.

paho reads each packet with recv(1) for the command byte, recv(1) per remaining-length byte and recv(n) for the
body: three or four system calls a message, plus a select() each time. Wrapped in `ReadAheadSocket`, those reads
are served from one large buffer, and `pending()` (the hook paho already uses for TLS sockets, paho client.py
`_loop`) tells paho's loop that bytes are waiting, so it does not sleep in select() while the buffer holds data.
Measured effect: see bench/ingest.py.
"""

from __future__ import annotations

import socket
from typing import Any

import paho.mqtt.client as mqtt

READ_AHEAD_BYTES = 256 * 1024


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

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class ReadAheadClient(mqtt.Client):
    """paho's Client with its TCP socket wrapped in a ReadAheadSocket (websocket transport left as it is)."""

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if isinstance(sock, socket.socket) or hasattr(sock, "pending"):
            return ReadAheadSocket(sock)
        return sock
