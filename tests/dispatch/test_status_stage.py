"""Responder statuses over MQTT: decoded, kept before the ack, applied as REST does, bad ones dead-lettered."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from alerts.detection import Detection, Severity
from alerts.incidents.service import IncidentService
from devices.decode import Decoder
from devices.models import Rejection, ResponderStatus
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.desk import DispatchDesk
from dispatch.offers import OfferBook
from dispatch.responders import Responder, ResponderRegistry
from dispatch.status_stage import StatusInbox, StatusStage
from ingest.journal import Journal
from ingest.pipeline import Batch


def _desk(db: StateDB) -> DispatchDesk:
    reg = Registry(db)
    reg.add_home(Home("H1", "addr", 28.2, 112.9))
    reg.add_resident(Resident("R1", "Zhao Lei", "H1"))
    reg.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="pendant"))
    responders = ResponderRegistry(db)
    for rid, dlat in (("P1", 0.01), ("P2", 0.02)):
        responders.add(Responder(rid, rid, "provider", "emergency_visit", 28.2 + dlat, 112.9))
    incidents = IncidentService(db, reg)
    desk = DispatchDesk(incidents, responders, OfferBook(db))
    incidents.on_detections([Detection("flow", "fall", "R1", "W1", time.time(), Severity.CRITICAL)])
    desk.dispatch(1, "op", "P1")
    return desk


def _status(responder: str, offer_id: int, status: str) -> ResponderStatus | Rejection:
    payload = orjson.dumps({"offer_id": offer_id, "status": status, "ts": time.time()})
    rec = Decoder(65536, 3600).decode(f"responders/{responder}/status", payload, {}, time.time())
    assert isinstance(rec, ResponderStatus | Rejection)
    return rec


def _run(stage: StatusStage, inbox: StatusInbox, *statuses: ResponderStatus | Rejection) -> None:
    batch = Batch([], statuses=[s for s in statuses if isinstance(s, ResponderStatus)])
    inbox.keep(batch)
    stage.apply_pending()


def test_decoder_routes_responder_topics_and_rejects_bad_payloads() -> None:
    assert isinstance(_status("P1", 3, "accepted"), ResponderStatus)
    dec, now = Decoder(65536, 3600), time.time()
    cases = {
        b'{"offer_id": 1, "status": "sleeping", "ts": 1767000000}': "invalid",
        b'{"offer_id": 1, "status": "accepted"}': "invalid",
        b"not json": "not_json",
        orjson.dumps({"offer_id": 1, "status": "done", "ts": now + 86400}): "clock",
    }
    for payload, reason in cases.items():
        rec = dec.decode("responders/P1/status", payload, {}, now)
        assert isinstance(rec, Rejection) and rec.reason == reason, (payload, rec)
    for topic in ("responders/P1/offer", "responders/a b/status", "responders/P1/status/x"):
        rec = dec.decode(topic, b"{}", {}, now)
        assert isinstance(rec, Rejection) and rec.reason == "bad_topic"


def test_statuses_move_the_offer_and_incident_as_rest_does(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "s.sqlite")
    desk, inbox, journal = _desk(db), StatusInbox(db), Journal(db)
    stage = StatusStage(asyncio.Queue(), inbox, desk, journal)
    [offer] = desk.offers.of_incident(1)
    _run(stage, inbox, *(_status("P1", offer["id"], s) for s in ("accepted", "en_route", "on_scene", "done")))
    assert desk.offers.get(offer["id"])["state"] == "done"
    assert desk.incidents.get(1).state == "on_scene"
    audit = desk.incidents.store.audit_log(1)
    recorded = [a for a in audit if a["action"] == "offer_status_recorded"]
    assert [a["detail"]["status"] for a in recorded] == ["accepted", "en_route", "on_scene", "done"]
    assert {a["actor"] for a in recorded} == {"responder:P1"}
    assert [a["actor"] for a in audit if a["action"] == "on_scene"] == ["responder:P1"]
    assert inbox.outcomes() == {"applied": 4}


def test_bad_statuses_are_dead_lettered_and_repeats_kept_once(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "s.sqlite")
    desk, inbox, journal = _desk(db), StatusInbox(db), Journal(db)
    stage = StatusStage(asyncio.Queue(), inbox, desk, journal)
    [offer] = desk.offers.of_incident(1)
    _run(stage, inbox, _status("P2", offer["id"], "accepted"), _status("P1", 999, "accepted"))
    _run(stage, inbox, _status("P1", offer["id"], "on_scene"))  # must accept first
    _run(stage, inbox, _status("P1", offer["id"], "accepted"), _status("P1", offer["id"], "accepted"))  # kept once
    _run(stage, inbox, _status("P1", offer["id"], "accepted"))  # a redelivery after a crash: kept once, too
    desk.offers.update(offer["id"], "en_route")  # recorded over REST (a phone call) before the app's message
    _run(stage, inbox, _status("P1", offer["id"], "en_route"))
    assert journal.dead_letter_counts() == {"responder_mismatch": 1, "unknown_offer": 1, "offer_conflict": 1}
    [mismatch] = journal.dead_letters("responder_mismatch")
    assert mismatch.topic == "responders/P2/status" and b'"accepted"' in mismatch.payload
    assert stage.rejected == {"responder_mismatch": 1, "unknown_offer": 1, "offer_conflict": 1}
    assert inbox.outcomes() == {"applied": 1, "duplicate": 1}  # rejected rows live on as dead letters only
    _run(stage, inbox, _status("P1", offer["id"], "on_scene"))  # rejected too early above, valid now
    assert desk.offers.get(offer["id"])["state"] == "on_scene" and inbox.outcomes() == {"applied": 2, "duplicate": 1}


def test_statuses_kept_before_a_crash_are_applied_on_start(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "s.sqlite")
    desk = _desk(db)
    [offer] = desk.offers.of_incident(1)
    StatusInbox(db).keep(Batch([], statuses=[_status("P1", offer["id"], "accepted")]))  # acked, then kill -9
    db.close()
    db = StateDB(tmp_path / "s.sqlite")
    incidents = IncidentService(db, Registry(db))
    desk = DispatchDesk(incidents, ResponderRegistry(db), OfferBook(db))
    queue: asyncio.Queue[Batch] = asyncio.Queue()
    stage = StatusStage(queue, StatusInbox(db), desk, Journal(db))

    async def start() -> None:
        task = asyncio.create_task(stage.run())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(start())
    assert desk.offers.get(offer["id"])["state"] == "accepted"
    assert StatusInbox(db).outcomes() == {"applied": 1}
