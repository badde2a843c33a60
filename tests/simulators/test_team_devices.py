"""The storm demo's simulated team devices (issue 14) over a real Mosquitto: a mission published retained on
`teams/<id>/assignment` is followed to the end on `teams/<id>/status`, in order, naming that mission; an update of
the same mission or the empty message that clears it starts nothing; a second mission is followed again."""

from __future__ import annotations

import orjson
import pytest
from mqtt_peer import Peer, wait_for

from hub.broker import Mosquitto
from simulators.teams import STEPS_S, TeamApps

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


def _run(apps: TeamApps, clock: Clock, seconds: float) -> None:
    """Pump the devices while the fake clock runs `seconds` on."""
    for _ in range(int(seconds)):
        clock.now += 1.0
        apps.pump(0.01)


def test_a_team_device_follows_each_mission_once(mosquitto: Mosquitto) -> None:
    clock = Clock()
    hub = Peer(mosquitto.port, None, None)
    hub.subscribe("teams/+/status")
    apps = TeamApps("127.0.0.1", mosquitto.port, ["TEAM-A"], lambda _id: None, seed=3, clock=clock)
    mission = {"assignment_id": "A-1", "team_id": "TEAM-A", "incident": "V01", "status": "en_route", "ts": clock.now}
    assert hub.client.publish("teams/TEAM-A/assignment", orjson.dumps(mission), qos=1, retain=True).rc == 0
    apps.connect()  # connected after the mission went out: the retained message brings it
    longest = sum(high for _s, _low, high in STEPS_S)
    _run(apps, clock, 3)
    assert hub.publish("teams/TEAM-A/assignment", orjson.dumps(mission | {"status": "on_scene"}))  # an update
    _run(apps, clock, longest)
    assert wait_for(lambda: len(hub.got) == 4)
    got = [orjson.loads(p) for _t, p in hub.got]
    assert [(b["assignment_id"], b["status"]) for b in got] == [("A-1", s) for s, _low, _high in STEPS_S]
    assert [b["seq"] for b in got] == [1, 2, 3, 4] and got == sorted(got, key=lambda b: b["ts"])
    assert hub.publish("teams/TEAM-A/assignment", b"")  # back at base: cleared
    assert hub.publish("teams/TEAM-A/assignment", orjson.dumps(mission | {"assignment_id": "A-2"}))
    _run(apps, clock, longest + 5)
    assert wait_for(lambda: len(hub.got) == 8)
    assert [orjson.loads(p)["assignment_id"] for _t, p in hub.got[4:]] == ["A-2"] * 4
    assert {t for t, _p in hub.got} == {"teams/TEAM-A/status"}
    apps.close()
    hub.close()
