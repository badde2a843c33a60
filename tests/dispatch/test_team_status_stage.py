"""Rescue teams' statuses over MQTT (issue 14), on SQLite and PostgreSQL: decoded, kept before the ack, applied to
the team's current assignment with the actor team:<id>, repeats kept once, bad ones dead-lettered; a status kept
before a kill -9 is applied on the next start; each sending publishes the mission for the team's device."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from devices.decode import Decoder
from devices.models import Rejection, TeamStatus
from devices.statedb.sqlite import StateDB
from dispatch.disaster.assignment import Team
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.field_ops import FieldOps
from dispatch.disaster.resource_store import ResourceStore
from dispatch.disaster.team_status import TeamStatusInbox, TeamStatusStage
from ingest.journal import Journal
from ingest.pipeline import Batch

T0 = time.time()


class World:
    """A state database with one team, the FieldOps over it, the stage, and what they sent and audited."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        self.sent: list[tuple[str, dict[str, Any] | None]] = []
        self.audit: list[tuple[str, str, dict[str, Any]]] = []
        self.frames: list[tuple[str, Any]] = []
        centre = CommandCentre({}, {}, {}, lambda kind, data: self.frames.append((kind, data)))
        self.ops = FieldOps(centre, store=ResourceStore(db), send_assignment=lambda t, b: self.sent.append((t, b)))
        self.ops.refresh()
        self.inbox, self.journal = TeamStatusInbox(db), Journal(db)
        self.stage = TeamStatusStage(asyncio.Queue(), self.inbox, self.ops, self.journal,
                                     lambda *entry: self.audit.append(entry))  # fmt: skip

    def send(self, team_id: str, incident: str = "V01") -> str:
        """The commander sends a team (as POST /api/resources/assignment does); the new mission's id."""
        assert self.ops.store is not None
        self.ops.announce(self.ops.store.move_team(team_id, "en_route", "cmd", time.time(), incident=incident))
        return self.ops.store.team(team_id).assignment

    def report(self, *statuses: TeamStatus | Rejection) -> None:
        self.inbox.keep(Batch([], team_statuses=[s for s in statuses if isinstance(s, TeamStatus)]))
        self.stage.apply_pending()

    def status(self, team_id: str) -> str:
        assert self.ops.store is not None
        return self.ops.store.team(team_id).team.status


def _status(team: str, assignment: str, status: str, seq: int) -> TeamStatus | Rejection:
    payload = orjson.dumps({"assignment_id": assignment, "status": status, "ts": time.time(), "seq": seq})
    return Decoder(65536, 3600).decode(f"teams/{team}/status", payload, {}, time.time())


@pytest.fixture
def world(open_db: Callable[[], StateDB]) -> World:
    db = open_db()
    store = ResourceStore(db)
    for team_id in ("TEAM-A", "TEAM-B"):
        store.save_team(Team(team_id, 28.2, 112.9, frozenset({"search"}), name=team_id), "cmd", T0)
    return World(db)


def test_decoder_routes_team_topics_and_rejects_bad_payloads() -> None:
    dec, now = Decoder(65536, 3600), time.time()
    ok = dec.decode("teams/TEAM-A/status", orjson.dumps({"assignment_id": "A-1", "status": "on_scene",
                                                          "ts": now - 5, "seq": 3}), {}, now)  # fmt: skip
    assert isinstance(ok, TeamStatus) and (ok.team_id, ok.assignment_id, ok.seq, ok.received_at) == (
        "TEAM-A", "A-1", 3, now)  # fmt: skip
    cases = {
        b'{"assignment_id": "A-1", "status": "resting", "ts": 1767000000, "seq": 1}': "invalid",
        b'{"assignment_id": "A-1", "status": "done", "seq": 1}': "invalid",
        b'{"status": "done", "ts": 1767000000, "seq": 1}': "invalid",
        b"not json": "not_json",
        orjson.dumps({"assignment_id": "A-1", "status": "done", "ts": now + 86400, "seq": 1}): "clock",
    }
    for payload, reason in cases.items():
        rec = dec.decode("teams/TEAM-A/status", payload, {}, now)
        assert isinstance(rec, Rejection) and rec.reason == reason, (payload, rec)
    for topic in ("teams/TEAM-A/assignment", "teams/a b/status", "teams/TEAM-A/status/x"):
        rec = dec.decode(topic, b"{}", {}, now)
        assert isinstance(rec, Rejection) and rec.reason == "bad_topic"


def test_two_missions_followed_repeats_once_bad_ones_dead_lettered(world: World) -> None:
    first = world.send("TEAM-A")
    assert world.sent[-1][0] == "TEAM-A" and world.sent[-1][1] is not None
    assert world.sent[-1][1]["assignment_id"] == first and world.sent[-1][1]["status"] == "en_route"
    world.report(*(_status("TEAM-A", first, s, n) for n, s in enumerate(("en_route", "on_scene", "on_scene"), 1)))
    world.report(_status("TEAM-A", first, "on_scene", 3))  # a redelivery after a crash: kept once, too
    assert world.status("TEAM-A") == "on_scene"
    world.report(_status("TEAM-A", first, "available", 4))  # on scene -> back at base skips done: refused
    world.report(_status("TEAM-A", first, "done", 5), _status("TEAM-A", first, "available", 6))
    assert world.status("TEAM-A") == "available" and world.sent[-1] == ("TEAM-A", None)  # its topic is cleared
    second = world.send("TEAM-A", "V02")
    assert second != first
    world.report(_status("TEAM-A", first, "en_route", 7))  # what the first mission went through: a repeat
    world.report(_status("TEAM-A", second, "on_scene", 8), _status("TEAM-A", first, "done", 9))
    world.report(_status("TEAM-B", second, "on_scene", 1), _status("TEAM-X", second, "on_scene", 1))
    assert world.status("TEAM-A") == "on_scene" and world.status("TEAM-B") == "available"
    world.report(_status("TEAM-A", "A-made-up", "done", 10))
    assert world.journal.dead_letter_counts() == {"team_conflict": 1, "unknown_assignment": 2, "unknown_team": 1}
    # the first mission's `done` (seq 9) was recorded on it already: a repeat, not a stale message
    recorded = [(d["assignment_id"], d["status"]) for actor, action, d in world.audit
                if action == "team_status_recorded" and actor == "team:TEAM-A"]  # fmt: skip
    assert recorded == [(first, "en_route"), (first, "on_scene"), (first, "done"), (first, "available"),
                        (second, "on_scene")]  # fmt: skip
    assert {actor for actor, _a, _d in world.audit} == {"team:TEAM-A"}
    assert world.ops.store is not None
    log = world.ops.store.team_log("TEAM-A")
    assert [(r["status"], r["actor"]) for r in reversed(log)][-2:] == [("en_route", "cmd"), ("on_scene", "team:TEAM-A")]
    assert ("teams", {"team_id": "TEAM-A", "status": "on_scene", "assignment_id": second, "by": "team:TEAM-A"}) in \
        world.frames  # the page reloads on it


def test_a_stale_status_of_an_earlier_mission_is_dead_lettered(world: World) -> None:
    first = world.send("TEAM-B")
    world.report(_status("TEAM-B", first, "done", 1), _status("TEAM-B", first, "available", 2))
    second = world.send("TEAM-B")
    world.report(_status("TEAM-B", first, "on_scene", 3))  # late, and never reached on the first mission
    [stale] = world.journal.dead_letters("stale_assignment")
    assert stale.topic == "teams/TEAM-B/status" and second.encode() not in stale.payload
    assert world.status("TEAM-B") == "en_route"


def test_statuses_kept_before_a_crash_are_applied_on_start(open_db: Callable[[], StateDB]) -> None:
    db = open_db()
    ResourceStore(db).save_team(Team("TEAM-A", 28.2, 112.9, frozenset(), name="A"), "cmd", T0)
    mission = World(db).send("TEAM-A")
    TeamStatusInbox(db).keep(Batch([], team_statuses=[_status("TEAM-A", mission, "on_scene", 1)]))  # acked, kill -9
    again = World(open_db())

    async def start() -> None:
        task = asyncio.create_task(again.stage.run())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(start())
    assert again.status("TEAM-A") == "on_scene" and again.audit[0][0] == "team:TEAM-A"
