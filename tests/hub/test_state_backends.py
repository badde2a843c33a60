"""The state layer's two backends pass the same tests: SQLite (the default) and PostgreSQL (shared by workers, issue 7).

Each test runs the real modules (registry, journal, detection log, incident store, staff accounts, responders)
against a fresh store: a SQLite file, or a fresh database on the suite's private PostgreSQL server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from alerts.detection import Detection, Severity
from alerts.falls.evidence import EvidenceClip
from alerts.incidents.store import IncidentStore
from alerts.log import DetectionLog
from dashboard.auth import StaffAuth, StaffUser
from dashboard.bus import Bus
from devices.models import DeviceEvent, Rejection
from devices.registry import Registry
from devices.statedb.postgres import PgStateDB
from devices.statedb.sqlite import StateDB
from dispatch.responders import Responder, ResponderRegistry
from ingest.journal import Journal
from simulators.community import build_community

OpenDB = Callable[[], StateDB]


def _wait_for(check: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_backend_and_data_folder(open_db: OpenDB, tmp_path: Path) -> None:
    db = open_db()
    assert db.path.parent == tmp_path / "data"  # the spool and other files go beside it
    assert isinstance(db, PgStateDB) == (not str(db.path).endswith(".sqlite"))


def test_registry_crud_and_replace(open_db: OpenDB) -> None:
    registry = Registry(open_db())
    community = build_community(residents=6, terminals=2, villages=2, seed=3)
    community.register(registry)
    community.register(registry)  # INSERT OR REPLACE: idempotent
    assert {d.device_id for d in registry.list_devices()} == {d.device_id for d in community.devices}
    assert registry.residents() == sorted(community.residents, key=lambda r: r.resident_id)
    with pytest.raises(ValueError, match="cannot register"):
        registry.add_village(community.villages[0])  # a duplicate without replace
    device = community.devices[0]
    registry.set_active(device.device_id, False)
    assert device.device_id not in registry.devices()
    assert registry.resident(community.residents[0].resident_id) == community.residents[0]


def test_registry_notices_another_connections_commit(open_db: OpenDB) -> None:
    community = build_community(residents=4, terminals=1, villages=1, seed=5)
    mine, theirs = Registry(open_db()), Registry(open_db())
    seen: list[int] = []
    mine.on_refresh.append(lambda snapshot: seen.append(len(snapshot)))
    assert mine.devices() == {}
    community.register(theirs)  # another process (the CLI, the other worker)
    assert _wait_for(lambda: len(mine.devices()) == len(community.devices))
    assert seen[-1] == len(community.devices)
    theirs.set_active(community.devices[0].device_id, False)
    assert _wait_for(lambda: community.devices[0].device_id not in mine.devices())


def test_journal_dead_letters_and_device_messages(open_db: OpenDB) -> None:
    journal = Journal(open_db())
    payload = bytes(range(256))
    journal.write([Rejection("eldercare/x/telemetry", "unknown_device", "no such device", payload, 1.5)] * 2, [])
    events = [DeviceEvent("w1", 100.0 + i, i, "sos", {"key": "red"}) for i in range(3)]
    journal.write([], events)
    journal.write([], events[:2])  # redelivered: stored once (INSERT OR IGNORE)
    letters = journal.dead_letters()
    assert [d.payload for d in letters] == [payload, payload]
    assert letters[0].id > letters[1].id
    assert journal.dead_letter_counts() == {"unknown_device": 2}
    assert journal.dead_letters(reason="nothing") == []
    assert sorted(journal.recent_seqs()["w1"]) == [0, 1, 2]


def test_detection_log_and_evidence(open_db: OpenDB) -> None:
    bus = Bus()
    sub = bus.subscribe()
    log = DetectionLog(open_db(), bus)
    found = [Detection("fall", "fall", "r1", "w1", 10.0 + i, Severity.CRITICAL, 0.9, {"peak_g": 3.5}) for i in range(2)]
    log(found)
    recent = log.recent()
    assert [r["ts"] for r in recent] == [11.0, 10.0]
    assert recent[0]["features"] == {"peak_g": 3.5} and recent[0]["severity"] == "critical"
    assert sub.queue.qsize() == 2
    samples = np.arange(40, dtype=np.float32).reshape(-1, 4)
    log.store_clips([EvidenceClip("w1", 10.0, 9.0, samples)])
    log.store_clips([EvidenceClip("w1", 10.0, 8.0, samples * 2)])  # INSERT OR REPLACE on (device_id, impact_ts)
    clip = log.clip("w1", 10.0)
    assert clip is not None and clip.start_ts == 8.0
    np.testing.assert_array_equal(clip.samples, samples * 2)


def test_incident_store_and_append_only_audit(open_db: OpenDB) -> None:
    store = IncidentStore(open_db())
    row = {
        "group_key": "r1",
        "kind": "fall",
        "severity": "critical",
        "state": "open",
        "resident_id": "r1",
        "home_id": "h1",
        "device_id": "w1",
        "title": "Fall",
        "opened_at": 1.0,
        "updated_at": 1.0,
        "last_alert_at": 1.0,
    }
    first, second = store.create(row), store.create(row)
    assert second > first
    store.update(first, state="acknowledged", acked_by="op")
    acked = store.get(first)
    assert acked is not None and acked.state == "acknowledged"
    assert [i.id for i in store.active()] == [first, second]
    store.add_alert(
        first,
        {
            "ts": 1.0,
            "received_at": 1.0,
            "detector": "fall",
            "kind": "fall",
            "severity": "critical",
            "device_id": "w1",
            "confidence": 0.9,
            "features": {"g": 3},
            "message": "fall",
        },
    )
    assert store.alerts(first)[0].features == {"g": 3}
    for i in range(3):
        store.audit("op", f"step{i}", first, {"n": i}, ts=float(i))
    assert [a["action"] for a in store.audit_log(first, limit=2)] == ["step1", "step2"]
    with pytest.raises(Exception, match="append-only"):
        store.db.execute("UPDATE audit_log SET actor='x'")


def test_staff_accounts_and_responders(open_db: OpenDB) -> None:
    db = open_db()
    auth = StaffAuth(db)
    auth.add_user("ann", "a-long-password", role="operator")
    auth.add_user("ann", "another-password", role="supervisor", replace=True)
    auth.set_townships("ann", ["南托街道", "430121113"])  # scope by place: kept with the account, sorted
    token, user = auth.login("ann", "another-password", "127.0.0.1")
    assert user.role == "supervisor" and auth.session(token) == user
    assert user.townships == ("430121113", "南托街道") and auth.users()[0]["townships"] == ["430121113", "南托街道"]
    auth.set_townships("ann", [])
    assert auth.session(token) == StaffUser("ann", "supervisor", "ann")  # the whole county again
    auth.set_active("ann", False)
    assert auth.session(token) is None
    responders = ResponderRegistry(db)
    responders.add(Responder("p1", "Care Co", "provider", "meals,nursing", 30.0, 120.0, capacity=2))
    responders.add(Responder("p1", "Care Co", "provider", "meals", 30.0, 120.0), replace=True)
    assert [r.service_set for r in responders.all()] == [frozenset({"meals"})]


def test_one_timer_leader_among_workers(postgres: str, tmp_path: Path) -> None:
    first, second = PgStateDB(postgres, tmp_path / "a"), PgStateDB(postgres, tmp_path / "b")
    try:
        assert first.try_lead("escalation") and not second.try_lead("escalation")
        assert second.try_lead("offers")  # each timer has its own lock
        first.close()  # the leader's worker ends: its session and lock go with it
        assert _wait_for(lambda: second.try_lead("escalation"))
    finally:
        second.close()


def test_a_subquery_with_an_empty_literal_runs_on_both_backends(open_db: OpenDB) -> None:
    """PostgreSQL needs `FROM (SELECT ...) AS x`: the alias goes after the closing parenthesis, not inside a `''`."""
    db = open_db()
    registry = Registry(db)
    build_community(residents=3, terminals=0, villages=1, seed=5).register(registry)
    rows = db.execute(
        "SELECT COUNT(*) FROM (SELECT COALESCE(phone, '') AS p FROM residents WHERE name <> ?) WHERE p <> ''",
        ["nobody"],
    )
    expected = sum(1 for r in registry.residents() if r.phone)
    assert rows[0][0] == expected
