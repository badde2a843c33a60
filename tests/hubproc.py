"""The hub as a subprocess (`python -m hub.cli run`), for tests that kill it for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

from dashboard.auth import StaffAuth
from devices.statedb.sqlite import StateDB
from hub.broker import free_port

START_TIMEOUT_S = 90.0  # a bound, not a speed target: the suite runs several tests at once (pytest-xdist)
TEST_USER = ("tester", "tester-password")  # an admin account made in the data folder before the hub starts


def ensure_test_user(data_dir: Path) -> None:
    """Create the tests' admin account (the API needs a session, issue 5)."""
    db = StateDB(data_dir / "state.sqlite")
    try:
        auth = StaffAuth(db)
        if not any(u["username"] == TEST_USER[0] for u in auth.users()):
            auth.add_user(*TEST_USER, role="admin")
    finally:
        db.close()


class PortTaken(RuntimeError):
    """The hub's HTTP port was taken by another process between choosing it and binding it."""


class HubProcess:
    """One hub process with its own data folder and HTTP port."""

    def __init__(self, data_dir: Path, mqtt_url: str, client_id: str = "hub-test",
                 env: dict[str, str] | None = None, allow_anonymous: bool = True, log_level: str = "WARNING") -> None:
        self.extra_env = env or {}
        # the suite's shared broker fixture is anonymous; issue 16's `hub run` refuses one unless told
        self.run_args = ["--allow-anonymous-broker"] if allow_anonymous else []
        self.log_level = log_level
        self.data_dir = data_dir
        self.mqtt_url = mqtt_url
        self.client_id = client_id
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "hub.log"
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}

    @property
    def url(self) -> str:
        """Base URL of the hub's HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HubProcess:
        """Start and wait until /health answers with the broker connected.

        The free port is chosen before the hub binds it, so a test running beside this one (pytest-xdist) may take it
        in between: the hub then exits with its one-line "in use" error, and it is started again on another port.
        """
        for _ in range(3):
            try:
                return self._start_once()
            except PortTaken:
                continue
        return self._start_once()

    def _start_once(self) -> HubProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_test_user(self.data_dir)
        self.port = free_port()
        cmd = [sys.executable, "-m", "hub.cli", "--log-level", self.log_level, "run", "--mqtt-url", self.mqtt_url,
               *self.run_args,
               "--http-port", str(self.port), "--data-dir", str(self.data_dir), "--client-id", self.client_id]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | self.extra_env
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text()[-2000:]
                if f"HTTP port {self.port} on 127.0.0.1 is in use" in tail:
                    raise PortTaken(tail)
                raise RuntimeError(f"hub exited with {self.proc.returncode}: {tail}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).json()["mqtt_connected"]:
                    return self.login()
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"hub did not become healthy: {self.log.read_text()[-2000:]}")

    def login(self) -> HubProcess:
        """Sign in as the test user; the session cookie goes with every later request."""
        response = httpx.post(f"{self.url}/api/login", json=dict(zip(("username", "password"), TEST_USER, strict=True)),
                              timeout=10)
        response.raise_for_status()
        self.cookies = dict(response.cookies)
        self.headers = {"X-CSRF-Token": self.cookies.get("hub_csrf", "")}  # issue 8: sent with every POST
        return self

    def get(self, path: str, **params: Any) -> Any:
        """GET a JSON API path."""
        response = httpx.get(f"{self.url}{path}", params=params, cookies=self.cookies, timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        """POST JSON to an API path with the session and its CSRF header."""
        response = httpx.post(f"{self.url}{path}", json=body, cookies=self.cookies, headers=self.headers, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        """The ingest counters."""
        return self.get("/api/stats")["ingest"]

    def wait_stored(self, count: int, timeout_s: float = 60.0) -> int:
        """Wait until this process has stored `count` readings (returns what it stored)."""
        deadline = time.monotonic() + timeout_s
        stored = 0
        while time.monotonic() < deadline:
            stored = self.stats()["stored"]
            if stored >= count:
                return int(stored)
            time.sleep(0.1)
        return int(stored)

    def stored_total(self) -> int:
        """Readings in the store (all processes that wrote to this data folder)."""
        return int(self.get("/api/stats")["stored_total"])

    def wait_total(self, count: int, timeout_s: float = 60.0) -> int:
        """Wait until the store holds `count` readings; returns what it holds."""
        deadline = time.monotonic() + timeout_s
        total = self.stored_total()
        while total < count and time.monotonic() < deadline:
            time.sleep(0.2)
            total = self.stored_total()
        return total

    def stop(self) -> int:
        """SIGTERM and wait: the exit code of a clean shutdown."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def kill(self) -> None:
        """SIGKILL (no cleanup at all), if still running."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stored_rows(self) -> tuple[int, int]:
        """(rows, distinct (device, seq)) in the telemetry file; call after the process stopped."""
        con = duckdb.connect(str(self.data_dir / "telemetry.duckdb"), read_only=True)
        try:
            row = con.execute("SELECT count(*), count(DISTINCT (device_id, seq)) FROM readings").fetchone()
        finally:
            con.close()
        assert row is not None
        return int(row[0]), int(row[1])
