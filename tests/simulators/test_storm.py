"""The storm scenario: its curves, and `hub demo --scenario storm` reaching a warning and a CAP alert within 60 s."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from lxml import etree

from devices.records import DeviceRecord
from hub.broker import free_port
from simulators.storm import BASE_LEVEL_M, SLIP_AT_S, StormScenario, storm_for
from simulators.telemetry import SimDevice, terminal_payload

HUB = [sys.executable, "-m", "hub.cli"]
ATOM = "{http://www.w3.org/2005/Atom}"
FIRST_WARNING_S = 60.0


def _terminal(device_id: str, kind: str, village: str) -> SimDevice:
    return SimDevice(DeviceRecord(device_id, "terminal", kind, village_id=village, lat=28.0, lon=112.9), 28.0, 112.9,
                     random.Random(1))  # fmt: skip


def test_river_rises_south_first_landslide_slips_and_reports_grow() -> None:
    south, north = _terminal("T1", "river_gauge", "V01"), _terminal("T2", "river_gauge", "V02")
    slide = _terminal("T3", "landslide", "V01")
    storm: StormScenario = storm_for([south, north, slide], [("V02", 28.3), ("V01", 28.1)])
    assert storm.order == ["V01", "V02"]
    t0 = 1_783_000_000.0
    levels = [storm.shape(south, t0 + s, terminal_payload(south, t0 + s))["river_level_m"] for s in (0, 40, 200)]
    assert levels[0] == pytest.approx(BASE_LEVEL_M, abs=0.05) and levels[1] > 32.0 and levels[2] > 34.0
    assert storm.shape(north, t0 + 40, terminal_payload(north, t0 + 40))["river_level_m"] < levels[1]
    before = storm.shape(slide, t0 + SLIP_AT_S - 1, terminal_payload(slide, t0))["displacement_mm"]
    after = storm.shape(slide, t0 + SLIP_AT_S + 1, terminal_payload(slide, t0))["displacement_mm"]
    assert before < 50 < 100 < after
    first = storm.reports_due(t0 + 36)  # the southern village reports first
    assert [(d.record.device_id, r["stage"]) for d, r in first] == [("T1", "initial")]
    later = storm.reports_due(t0 + 400)
    assert later[0][1]["stage"] == "follow_up"
    assert later[0][1]["indicators"]["affected_population"] > first[0][1]["indicators"]["affected_population"]


def _first_cap(base: str, deadline: float) -> tuple[float, str]:
    """Poll the open CAP feed until it lists an alert; (seconds waited, the alert's CAP XML)."""
    while time.monotonic() < deadline:
        try:
            feed = etree.fromstring(httpx.get(f"{base}/cap/alerts.xml", timeout=2).content)
        except (httpx.HTTPError, etree.XMLSyntaxError):
            feed = None
        links = [] if feed is None else feed.findall(f"{ATOM}entry/{ATOM}link")
        if links:
            return time.monotonic(), httpx.get(links[0].get("href"), timeout=5).text
        time.sleep(0.5)
    raise AssertionError("no CAP alert in the feed")


@pytest.mark.integration
def test_demo_storm_reaches_a_warning_and_a_cap_alert_within_60_s(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    args = ["demo", "--scenario", "storm", "--http-port", str(port), "--data-dir", str(tmp_path), "--residents", "30",
            "--terminals", "12", "--fall-every", "0"]  # fmt: skip
    proc = subprocess.Popen([*HUB, "--log-level", "WARNING", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        at, xml = _first_cap(base, started + FIRST_WARNING_S + 30)
        print(f"\nstorm demo: first CAP alert {at - started:.1f} s after `hub demo --scenario storm` started")
        assert at - started <= FIRST_WARNING_S
        assert "<msgType>Alert</msgType>" in xml and "warningColour" in xml
        login = httpx.post(f"{base}/api/login", json={"username": "admin", "password": "admin-demo"}, timeout=10)
        state = httpx.get(f"{base}/api/command/state", cookies=login.cookies, timeout=10).json()
        assert state["areas"] and state["teams"]
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
