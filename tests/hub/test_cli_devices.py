"""`hub devices ...` and `hub run`'s broker check as real commands (issue 16)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hubproc import HubProcess
from mqtt_peer import Peer, wait_for

from hub import demo_auth
from hub.broker import Mosquitto, auth_config, free_port
from simulators.community import build_community

pytestmark = pytest.mark.integration


def _hub(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=60,
                          env=env, check=False)


def test_hub_run_refuses_an_anonymous_broker_unless_allowed(mosquitto: Mosquitto, tmp_path: Path) -> None:
    out = _hub("run", "--mqtt-url", mosquitto.url, "--data-dir", str(tmp_path / "a"), "--http-port", str(free_port()))
    assert out.returncode == 2, out.stderr
    assert "accepts clients without credentials" in out.stderr and "--allow-anonymous-broker" in out.stderr
    assert "Traceback" not in out.stderr
    hub = HubProcess(tmp_path / "b", mosquitto.url, log_level="WARNING").start()  # passes the flag
    try:
        warnings = hub.get("/api/stats")["warnings"]
        assert warnings == ["anonymous_broker"]
    finally:
        hub.kill()
    assert "accepts clients without credentials" in hub.log.read_text()


def test_issue_revoke_list_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    data.mkdir()
    community = build_community(2, 1, seed=7)
    ids = demo_auth.prepare(data, community, data / "broker-auth")
    broker = Mosquitto(data / "mosquitto", extra_config=auth_config(ids.passwords_file, ids.acl_file)).start()
    try:
        device = next(d for d in ids.devices if d.startswith("W"))
        out_file = tmp_path / "provision" / f"{device}.json"
        issued = _hub("devices", "--data-dir", str(data), "issue", device, "--out", str(out_file),
                      "--broker-url", "mqtts://broker.example:8883")
        assert issued.returncode == 0 and "broker reloaded" in issued.stdout, issued.stderr
        doc = json.loads(out_file.read_text())
        assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
        assert doc["username"] == device and doc["broker_url"] == "mqtts://broker.example:8883"
        assert doc["password"] not in issued.stdout
        live = Peer(broker.port, device, doc["password"])
        assert live.accepted
        revoked = _hub("devices", "--data-dir", str(data), "revoke", device)
        assert revoked.returncode == 0 and "broker reloaded" in revoked.stdout, revoked.stderr
        assert live.disconnected_at is not None or not live.connected
        assert Peer(broker.port, device, doc["password"]).accepted is False
        listed = [json.loads(line) for line in _hub("devices", "--data-dir", str(data), "list").stdout.splitlines()]
        mine = next(e for e in listed if e["device_id"] == device)
        assert mine["revoked"] and not mine["active"]
        text = json.dumps(listed)
        assert doc["password"] not in text and "$7$" not in text and '"hub"' not in text
        printed = _hub("devices", "--data-dir", str(data), "issue", device)
        assert printed.returncode == 0 and "shown once" in printed.stdout
        reserved = _hub("devices", "--data-dir", str(data), "issue", "hub")
        assert reserved.returncode == 2 and "reserved" in reserved.stderr
        live.close()
    finally:
        broker.stop()


def test_a_rescue_team_device_from_the_command_line(tmp_path: Path) -> None:
    """Issue 14: `hub devices issue T --kind team` for a registered team: its device reads its missions and writes
    its status, not another team's; an unregistered team is refused; `revoke` cuts it off."""
    from devices.credentials import HUB_USER
    from devices.statedb.sqlite import StateDB
    from dispatch.disaster.assignment import Team
    from dispatch.disaster.resource_store import ResourceStore

    data = tmp_path / "hub"
    data.mkdir()
    ids = demo_auth.prepare(data, build_community(2, 1, seed=7), data / "broker-auth")
    db = StateDB(data / "state.sqlite")
    ResourceStore(db).save_team(Team("TEAM-1", 28.2, 112.9, frozenset({"search"}), name="搜救队"), "cmd", 0.0)
    db.close()
    broker = Mosquitto(data / "mosquitto", extra_config=auth_config(ids.passwords_file, ids.acl_file)).start()
    try:
        refused = _hub("devices", "--data-dir", str(data), "issue", "TEAM-9", "--kind", "team")
        assert refused.returncode != 0 and "not registered" in refused.stderr
        out_file = tmp_path / "TEAM-1.json"
        issued = _hub("devices", "--data-dir", str(data), "issue", "TEAM-1", "--kind", "team", "--out", str(out_file))
        assert issued.returncode == 0 and "broker reloaded" in issued.stdout, issued.stderr
        doc = json.loads(out_file.read_text())
        assert (doc["kind"], doc["assignment_topic"], doc["status_topic"]) == (
            "team", "teams/TEAM-1/assignment", "teams/TEAM-1/status")  # fmt: skip
        hub = Peer(broker.port, HUB_USER, ids.hub_password)
        hub.subscribe("teams/+/status")
        team = Peer(broker.port, "TEAM-1", doc["password"])
        assert team.accepted
        team.subscribe("teams/#")
        assert hub.publish("teams/TEAM-1/assignment", b"mission") and hub.publish("teams/TEAM-2/assignment", b"other")
        assert team.publish("teams/TEAM-1/status", b"on_scene")
        forger = Peer(broker.port, "TEAM-1", doc["password"])  # its own session: a denied publish may cost it
        forger.publish("teams/TEAM-2/status", b"forged", wait_s=2)
        forger.close()
        assert wait_for(lambda: ("teams/TEAM-1/status", b"on_scene") in hub.got)
        assert wait_for(lambda: team.got == [("teams/TEAM-1/assignment", b"mission")])
        assert [t for t, _p in hub.got] == ["teams/TEAM-1/status"]  # TEAM-2's topic is closed to it
        listed = [json.loads(line) for line in _hub("devices", "--data-dir", str(data), "list").stdout.splitlines()]
        assert {c["device_id"]: c["kind"] for c in listed}["TEAM-1"] == "team"
        assert team.connected
        revoked = _hub("devices", "--data-dir", str(data), "revoke", "TEAM-1")
        assert revoked.returncode == 0, revoked.stderr
        assert wait_for(lambda: team.disconnected_at is not None, 5)
        assert Peer(broker.port, "TEAM-1", doc["password"]).accepted is False
        for peer in (hub, team):
            peer.close()
    finally:
        broker.stop()
