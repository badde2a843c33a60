"""A counting proxy in front of InfluxDB, for the takeover tests (issue 20).

InfluxDB keeps one point per (series, time), so a reading written twice looks stored once in InfluxDB itself. The
workers write through this proxy instead, which counts every (device, seq) of every accepted /write body: a reading
stored by two workers (or twice by one) shows up here, even when the worker that wrote it was SIGKILLed since.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

_POINT = re.compile(rb"device_id=([^, ]+)[^ ]* .*\bseq=(\d+)i ")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A worker SIGKILLed mid-request resets its connection: expected here, not worth a traceback."""


class InfluxTally:
    """Forwards /write and /query to `upstream`; `written[(device, seq)]` counts accepted writes of each reading."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.written: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()
        tally = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with httpx.Client(timeout=30) as client:
                    answer = client.post(tally.upstream + self.path, content=body,
                                         headers={"Content-Type": self.headers.get("Content-Type", "")})
                if self.path.startswith("/write") and answer.status_code == 204:
                    tally.count(body)
                with contextlib.suppress(OSError):  # the worker was killed, or gave up waiting
                    self.send_response(answer.status_code)
                    self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)


        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The proxy's URL (give it to the workers as their InfluxDB)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self, body: bytes) -> None:
        """Count the readings of one accepted line-protocol body."""
        points = [(m.group(1).decode(), int(m.group(2))) for m in map(_POINT.search, body.split(b"\n")) if m]
        with self._lock:
            self.written.update(points)

    def twice(self) -> dict[tuple[str, int], int]:
        """Readings written more than once."""
        with self._lock:
            return {k: n for k, n in self.written.items() if n > 1}

    def start(self) -> InfluxTally:
        """Serve in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
