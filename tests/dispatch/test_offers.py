"""Offer lifecycle: decline and timeout move to the next candidate; progress updates the incident."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.detection import Detection, Severity
from alerts.incidents.service import IncidentService
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.desk import DispatchDesk
from dispatch.offers import OfferBook, OfferError
from dispatch.responders import Responder, ResponderRegistry


class Clock:
    now = 3_000_000.0

    def __call__(self) -> float:
        return self.now


def test_offer_chain_and_progress(tmp_path: Path) -> None:
    db, clock = StateDB(tmp_path / "s.sqlite"), Clock()
    reg = Registry(db)
    reg.add_home(Home("H1", "addr", 28.2, 112.9))
    reg.add_resident(Resident("R1", "Zhao Lei", "H1"))
    reg.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="pendant"))
    responders = ResponderRegistry(db)
    for rid, dlat in (("P1", 0.01), ("P2", 0.02), ("P3", 0.03)):
        responders.add(Responder(rid, rid, "provider", "emergency_visit,nursing", 28.2 + dlat, 112.9))
    sent: list[tuple[str, dict[str, object]]] = []
    incidents = IncidentService(db, reg, None, clock)
    desk = DispatchDesk(
        incidents, responders, OfferBook(db, lambda t, b: sent.append((t, b)), clock=clock, timeout_s=60), clock
    )
    incidents.on_detections([Detection("flow", "fall", "R1", "W1", clock.now, Severity.CRITICAL)])
    assert [c.responder_id for c in desk.candidates(1)] == ["P1", "P2", "P3"]
    desk.dispatch(1, "op", "P1")
    assert sent[-1][0] == "responders/P1/offer" and incidents.get(1).state == "dispatched"
    [offer] = desk.offers.of_incident(1)
    nxt = desk.offers.update(offer["id"], "declined", "P1")
    assert nxt["responder_id"] == "P2" and sent[-1][0] == "responders/P2/offer"
    clock.now += 61
    [third] = desk.offers.tick(clock.now)
    assert third["responder_id"] == "P3" and incidents.get(1).responder_id == "P3"
    with pytest.raises(OfferError):
        desk.offers.update(third["id"], "on_scene", "P3")  # must accept first
    desk.offers.update(third["id"], "accepted", "P3")
    assert desk.offers.loads() == {"P3": 1}
    desk.offers.update(third["id"], "en_route")
    desk.offers.update(third["id"], "on_scene")
    assert incidents.get(1).state == "on_scene"
    actions = [a["action"] for a in incidents.store.audit_log(1)]
    assert actions.count("offer_offered") == 3 and "offer_timeout" in actions and "offer_declined" in actions
