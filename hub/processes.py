"""Waiting for a server process to become ready, and stopping it: shared by the Mosquitto, influxd and PostgreSQL
launchers (hub/broker.py, hub/influxd.py, hub/pgserver.py)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class BrokerError(RuntimeError):
    """A server (broker, store, database) could not be started; `hint` says what to do about it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message}: {hint}")
        self.hint = hint


def log_tail(path: Path, chars: int = 800) -> str:
    """The end of a log file ('' when there is none)."""
    return path.read_text(errors="replace")[-chars:].strip() if path.exists() else ""


def wait_ready(process: subprocess.Popen[bytes], ready: Callable[[], bool], why_exited: Callable[[], str],
               name: str, timeout_s: float, stop: Callable[[], None], poll_s: float = 0.05) -> None:
    """Poll `ready()` until it is true; raise BrokerError if the process exits first or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokerError(f"{name} exited at start", why_exited() or "see its log")
        if ready():
            return
        time.sleep(poll_s)
    stop()
    raise BrokerError(f"{name} did not become ready", f"within {timeout_s} s")


def stop_process(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, grace_s: float = 10.0) -> None:
    """Send `sig`, wait up to `grace_s`, then SIGKILL; nothing to do when it already exited."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
