"""The storm scenario: its curves, and `hub demo --scenario storm` drafting a CAP warning within 60 s that goes out
only once a commander approves it (issue 14); the teams the commander then sends answer over MQTT by themselves."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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
XSD = Path(__file__).resolve().parents[3] / "shared/standards/cap-1.2.xsd"


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


def _feed_links(base: str) -> list[str]:
    """The CAP links the open feed lists."""
    feed = etree.fromstring(httpx.get(f"{base}/cap/alerts.xml", timeout=5).content)
    return [link.get("href") for link in feed.findall(f"{ATOM}entry/{ATOM}link")]


def _first_draft(base: str, cookies: httpx.Cookies, deadline: float) -> tuple[float, dict[str, Any]]:
    """Poll the drafts until one waits for the commander; (when, the draft)."""
    while time.monotonic() < deadline:
        try:
            drafts = httpx.get(f"{base}/api/command/drafts", cookies=cookies, timeout=2).json()["drafts"]
        except (httpx.HTTPError, KeyError, ValueError):
            drafts = []
        if drafts:
            return time.monotonic(), drafts[0]
        time.sleep(0.5)
    raise AssertionError("no CAP draft within the time")


def _login(base: str, deadline: float, user: str = "commander") -> httpx.Cookies:
    while True:
        try:
            login = httpx.post(f"{base}/api/login", json={"username": user, "password": f"{user}-demo"},
                               timeout=5)  # fmt: skip
            login.raise_for_status()
            return login.cookies
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.integration
def test_demo_storm_drafts_within_60_s_and_issues_only_what_a_commander_approved(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    args = ["demo", "--scenario", "storm", "--http-port", str(port), "--data-dir", str(tmp_path), "--residents", "30",
            "--terminals", "12", "--fall-every", "0"]  # fmt: skip
    proc = subprocess.Popen([*HUB, "--log-level", "WARNING", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        cookies = _login(base, started + 30)
        at, draft = _first_draft(base, cookies, started + FIRST_WARNING_S + 30)
        print(f"\nstorm demo: first CAP draft {at - started:.1f} s after `hub demo --scenario storm` started")
        assert at - started <= FIRST_WARNING_S
        assert _feed_links(base) == []  # issue 14: nothing goes out that nobody approved
        state = httpx.get(f"{base}/api/command/state", cookies=cookies, timeout=10).json()
        assert state["areas"] and state["teams"]
        assert _feed_links(base) == []
        csrf = {"X-CSRF-Token": cookies.get("hub_csrf", "")}
        answer = httpx.post(f"{base}/api/command/drafts/{draft['draft_id']}/approve", cookies=cookies, headers=csrf,
                            timeout=10).json()  # fmt: skip
        (link,) = _feed_links(base)
        xml = httpx.get(link, timeout=5).content
        assert answer["identifier"] in link
        schema = etree.XMLSchema(etree.parse(str(XSD)))
        assert schema.validate(etree.fromstring(xml)), schema.error_log
        assert b"<msgType>Alert</msgType>" in xml and "预警".encode() in xml
        # issue 14: the commander sends the proposed teams; their devices confirm over MQTT, nobody clicks for them
        deadline = time.monotonic() + 60  # once the crest takes a village's gauges to orange, it is an incident
        pairs: list[list[str]] = []
        while not pairs and time.monotonic() < deadline:
            proposed = httpx.get(f"{base}/api/resources/assignment", cookies=cookies, timeout=10).json()
            pairs = [[p["team_id"], p["incident"]] for p in proposed["optimal"]["pairs"]]
            time.sleep(0.0 if pairs else 1.0)
        assert pairs
        sent = httpx.post(f"{base}/api/resources/assignment", cookies=cookies, headers=csrf, json={"pairs": pairs},
                          timeout=10)  # fmt: skip
        assert sent.status_code == 200, sent.text
        sent_at = time.monotonic()
        admin = _login(base, time.monotonic() + 10, "admin")
        deadline = time.monotonic() + 20

        def by_teams() -> list[dict[str, Any]]:
            audit = httpx.get(f"{base}/api/audit", cookies=admin, timeout=10).json()
            return [a for a in audit if a["action"] == "team_status_recorded"]

        while not by_teams() and time.monotonic() < deadline:
            time.sleep(0.5)
        confirmed = by_teams()
        print(f"storm demo: {len(pairs)} teams sent; the first team's device confirmed over MQTT "
              f"{time.monotonic() - sent_at:.1f} s later")
        assert confirmed and {a["actor"] for a in confirmed} <= {f"team:{t}" for t, _i in pairs}
        assert confirmed[0]["detail"]["status"] == "en_route" and confirmed[0]["detail"]["via"] == "mqtt"
        kinds = {c["device_id"]: c["kind"] for c in httpx.get(f"{base}/api/devices/credentials", cookies=admin,
                                                                timeout=10).json()}  # fmt: skip
        assert all(kinds.get(t) == "team" for t, _i in pairs)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
