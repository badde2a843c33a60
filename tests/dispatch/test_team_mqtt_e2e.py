"""Rescue teams over a real Mosquitto with passwords and ACLs, against `hub run` as a process (issue 14, item 6).

A team registered on /resources gets a device credential of kind `team`; the commander sends it to a village under
an orange warning; the team's device gets the mission, retained, on `teams/<id>/assignment` and reports its progress
(en route, on scene, done, back at base) on `teams/<id>/status`; the hub records each under `team:<id>` and audits
it. Back at base the team is sent again: the second mission has its own assignment id and is followed the same way,
while a status naming the first mission (one it never reached there) is dead-lettered as stale. Team B cannot
publish on team A's topic (the broker's ACL), a status naming a mission B never had is dead-lettered as unknown, and
a revoked team is cut off.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hubproc import HubProcess
from mqtt_peer import Peer, wait_for

from alerts.disaster.cap import build_alert, issue
from alerts.disaster.warnings import WarningLevel
from devices.credentials import HUB_USER
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub import demo_auth
from hub.broker import Mosquitto, auth_config
from simulators.community import build_community

pytestmark = pytest.mark.integration


@dataclass
class Site:
    broker: Mosquitto
    hub: HubProcess
    village_id: str
    village_name: str
    lat: float
    lon: float


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    community = build_community(3, 1, seed=7)
    ids = demo_auth.prepare(data_dir, community, data_dir / "broker-auth")
    broker = Mosquitto(data_dir / "mosquitto", extra_config=auth_config(ids.passwords_file, ids.acl_file)).start()
    db = StateDB(data_dir / "state.sqlite")
    village = Registry(db).villages()[0]
    db.close()
    url = f"mqtt://{HUB_USER}:{ids.hub_password}@127.0.0.1:{broker.port}"
    hub = HubProcess(data_dir, url, allow_anonymous=False, env={"HUB_BROKER__PID_FILE": str(broker.pid_file)})
    try:
        yield Site(broker, hub.start(), village.village_id, village.name, village.lat, village.lon)
    finally:
        hub.kill()
        broker.stop()


def _team(peer: Peer, team_id: str) -> list[dict[str, Any]]:
    """The assignments a team's device received (an empty message clears the retained one)."""
    return [orjson.loads(p) if p else {} for t, p in peer.got if t == f"teams/{team_id}/assignment"]


def _status(peer: Peer, team_id: str, assignment_id: str, status: str, seq: int) -> None:
    body = {"assignment_id": assignment_id, "status": status, "ts": time.time(), "seq": seq}
    assert peer.publish(f"teams/{team_id}/status", orjson.dumps(body))


def _teams(hub: HubProcess) -> dict[str, dict[str, Any]]:
    return {t["team_id"]: t for t in hub.get("/api/resources")["teams"]}


def test_a_team_device_follows_two_missions_and_is_kept_to_its_own_topics(site: Site) -> None:
    hub, port = site.hub, site.broker.port
    for team_id in ("TEAM-A", "TEAM-B"):
        hub.post("/api/resources/teams", {"name": f"救援队{team_id[-1]}", "team_id": team_id, "lat": site.lat,
                                          "lon": site.lon + 0.01, "capabilities": ["water_rescue"]})  # fmt: skip
    nobody = httpx.post(f"{hub.url}/api/devices/TEAM-X/credentials?kind=team", cookies=hub.cookies,
                        headers=hub.headers)  # fmt: skip
    assert nobody.status_code == 404  # only a registered team gets a team credential
    issued = {t: hub.post(f"/api/devices/{t}/credentials?kind=team") for t in ("TEAM-A", "TEAM-B")}
    assert issued["TEAM-A"]["kind"] == "team" and issued["TEAM-A"]["status_topic"] == "teams/TEAM-A/status"
    a = Peer(port, "TEAM-A", issued["TEAM-A"]["password"])
    b = Peer(port, "TEAM-B", issued["TEAM-B"]["password"])
    assert a.accepted and b.accepted
    a.subscribe("teams/TEAM-A/assignment")
    b.subscribe("teams/#")  # granted, but the broker delivers only what its ACL lets it read

    outside = issue("cma-team-1", "weather@hunan.example", time.time(), WarningLevel.ORANGE, event="暴雨",
                    area_desc=site.village_name, shapes=())  # fmt: skip
    imported = httpx.post(f"{hub.url}/api/cap/import", content=build_alert(outside), cookies=hub.cookies,
                          headers=hub.headers)  # fmt: skip
    assert imported.status_code == 200 and imported.json()["areas"] == [site.village_id]

    # mission 1: sent from the page, received over MQTT, followed to done by the team's device (its en_route is its
    # word that the mission arrived: logged and audited, the status unchanged)
    hub.post("/api/resources/assignment", {"pairs": [["TEAM-A", site.village_id]]})
    assert wait_for(lambda: _team(a, "TEAM-A"), 10)
    first = _team(a, "TEAM-A")[0]
    assert (first["incident"], first["village"], first["status"]) == (site.village_id, site.village_name, "en_route")
    mission1 = first["assignment_id"]
    assert _teams(hub)["TEAM-A"]["assignment"] == mission1
    for seq, status in enumerate(("en_route", "done"), start=1):  # stood down on the way: no one to rescue there
        _status(a, "TEAM-A", mission1, status, seq)
    assert wait_for(lambda: _teams(hub)["TEAM-A"]["status"] == "done", 10)
    assert _teams(hub)["TEAM-A"]["updated_by"] == "team:TEAM-A"
    _status(a, "TEAM-A", mission1, "available", 3)  # back at base: the retained mission is cleared
    assert wait_for(lambda: _teams(hub)["TEAM-A"]["status"] == "available", 10)
    assert wait_for(lambda: _team(a, "TEAM-A")[-1] == {}, 10)

    # mission 2 for the same team: a new assignment id, not taken for a repeat of the first
    hub.post("/api/resources/assignment", {"pairs": [["TEAM-A", site.village_id]]})
    assert wait_for(lambda: _team(a, "TEAM-A")[-1].get("status") == "en_route", 10)
    mission2 = _team(a, "TEAM-A")[-1]["assignment_id"]
    assert mission2 != mission1
    # the retained message followed the first mission (en route, done), then was cleared
    assert [m.get("status") for m in _team(a, "TEAM-A")] == ["en_route", "done", None, "en_route"]
    _status(a, "TEAM-A", mission1, "on_scene", 4)  # a late message about the first mission, out of its order
    for seq, status in enumerate(("on_scene", "done"), start=5):
        _status(a, "TEAM-A", mission2, status, seq)
    assert wait_for(lambda: _teams(hub)["TEAM-A"]["status"] == "done", 10)

    # team B: A's topic is closed to it; on its own topic it names a mission it never had
    b.publish("teams/TEAM-A/status", orjson.dumps({"assignment_id": mission2, "status": "available",
                                                    "ts": time.time(), "seq": 1}), wait_s=2)  # fmt: skip
    b2 = Peer(port, "TEAM-B", issued["TEAM-B"]["password"])  # Mosquitto may drop a client's denied publish
    _status(b2, "TEAM-B", mission2, "on_scene", 2)
    assert wait_for(lambda: hub.get("/api/dead-letters", reason="unknown_assignment"), 10)
    [unknown] = hub.get("/api/dead-letters", reason="unknown_assignment")
    assert unknown["topic"] == "teams/TEAM-B/status"
    [stale] = hub.get("/api/dead-letters", reason="stale_assignment")
    assert stale["topic"] == "teams/TEAM-A/status"
    time.sleep(0.5)
    teams = _teams(hub)
    assert (teams["TEAM-A"]["status"], teams["TEAM-B"]["status"]) == ("done", "available")  # B's forgery did nothing
    assert not [t for t, _p in b.got if t.startswith("teams/TEAM-A/")]  # B never read A's missions

    audit = [a_ for a_ in hub.get("/api/audit") if a_["action"] == "team_status_recorded"]
    recorded = sorted((e["detail"]["assignment_id"], e["detail"]["seq"], e["detail"]["status"]) for e in audit)
    assert recorded == sorted([(mission1, 1, "en_route"), (mission1, 2, "done"), (mission1, 3, "available"),
                               (mission2, 5, "on_scene"), (mission2, 6, "done")])  # fmt: skip
    assert {e["actor"] for e in audit} == {"team:TEAM-A"}

    # a revoked team is cut off: its live session ends and it cannot connect again
    assert hub.post("/api/devices/TEAM-A/revoke")["broker_reloaded"]
    assert wait_for(lambda: a.disconnected_at is not None, 5)
    assert Peer(port, "TEAM-A", issued["TEAM-A"]["password"]).accepted is False
    for peer in (a, b, b2):
        peer.close()
