"""`hub demo` as a newcomer meets it: within seconds the console's queue holds SOS, green key, smoke and inactivity
besides falls; as operator, the reveal endpoint gives an open incident's numbers and the audit records it; a
simulated responder answers an offer; the PBX token pops a card; the hub's own downlinks are no dead letters."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from hub.broker import free_port

pytestmark = pytest.mark.integration
HUB = [sys.executable, "-m", "hub.cli"]
T = TypeVar("T")


def _banner(proc: subprocess.Popen[str]) -> str:
    lines = []
    assert proc.stdout is not None
    while not lines or "api/calls" not in lines[-1]:
        line = proc.stdout.readline()
        assert line, "".join(lines)
        lines.append(line)
    return "".join(lines)


def _until(what: Callable[[], T], timeout_s: float) -> T:
    """Ask `what` until it answers something true or the time is up; its last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = what()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_demo_queue_numbers_responders_and_screen_pop(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    port = free_port()
    proc = subprocess.Popen([*HUB, "--log-level", "WARNING", "demo", "--http-port", str(port), "--data-dir",
                             str(tmp_path), "--residents", "20", "--terminals", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = _banner(proc)
        started = time.monotonic()
        token = re.search(r"Bearer (\S+)'", banner)
        assert token, banner
        op = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        request.addfinalizer(op.close)
        op.post("/api/login", json={"username": "operator", "password": "operator-demo"}).raise_for_status()
        op.headers["X-CSRF-Token"] = op.cookies["hub_csrf"]

        def first_call() -> dict | None:
            return next((i for i in op.get("/api/incidents").json()
                         if i["kind"] in ("sos", "service_request") and i["resident_id"]), None)

        sos = _until(first_call, 20.0)
        assert sos is not None, "no SOS or green key in the queue"
        people = op.post(f"/api/incidents/{sos['id']}/contacts/reveal", json={}).json()["people"]
        assert [p["relation"] for p in people if p["who"] == "contact"] == ["儿子", "女儿", "邻居"]
        assert all(re.fullmatch(r"1\d{10}", p["phone"]) and p["tel"] == f"tel:{p['phone']}" for p in people)
        audit = op.get(f"/api/incidents/{sos['id']}/audit").json()
        assert [a["actor"] for a in audit if a["action"] == "contacts_revealed"] == ["operator"]
        ranked = op.get(f"/api/incidents/{sos['id']}/candidates").json()
        op.post(f"/api/incidents/{sos['id']}/dispatch", json={"responder_id": ranked[0]["responder_id"]})

        def kinds() -> set[str]:
            found = {i["kind"] for i in op.get("/api/incidents").json()} - {"fall"}
            return found if len(found) >= 3 else set()

        seen = _until(kinds, 30.0)
        assert len(seen) >= 3, f"only {seen} after {time.monotonic() - started:.0f} s"
        assert time.monotonic() - started < 30.0  # measured: SOS, green key and inactivity 7 s after the banner

        def answered() -> list[str]:
            offers = op.get(f"/api/incidents/{sos['id']}").json()["offers"]
            return [o["state"] for o in offers if o["state"] != "offered"]

        assert _until(answered, 20.0), "no simulated responder answered its offer"
        caller = {"caller": people[0]["phone"], "line": "8001", "call_id": "test-1"}
        pop = httpx.post(f"http://127.0.0.1:{port}/api/calls", json=caller,
                         headers={"Authorization": f"Bearer {token.group(1)}"})
        assert pop.status_code == 202 and pop.json()["resident_id"] == sos["resident_id"]
        assert "bad_topic" not in op.get("/api/stats").json()["dead_letters"]  # downlinks do not come back
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0 and "Traceback" not in rest, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
