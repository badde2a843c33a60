"""The responder-status inbox and the service orders on both state backends: SQLite and PostgreSQL (issue 7)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from alerts.detection import Severity
from alerts.incidents.record import Incident, IncidentAlert
from devices.models import ResponderStatus
from devices.statedb.postgres import open_state
from devices.statedb.sqlite import StateDB
from dispatch.offers import OfferBook
from dispatch.responders import Responder, ResponderRegistry
from dispatch.service_orders import ServiceOrders, next_hour
from dispatch.status_stage import StatusInbox
from ingest.pipeline import Batch


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateDB]:
    url = request.getfixturevalue("postgres") if request.param == "postgresql" else ""
    state = open_state(tmp_path / "data", url)
    yield state
    state.close()


def _status(status: str) -> ResponderStatus:
    return ResponderStatus("P1", 7, status, time.time(), "responders/P1/status", b"{}", time.time())


def test_status_inbox_keeps_each_status_once_and_settles(db: StateDB) -> None:
    inbox = StatusInbox(db)
    inbox.keep(Batch([], statuses=[_status("accepted"), _status("accepted")]))
    inbox.keep(Batch([], statuses=[_status("accepted"), _status("en_route")]))
    pending = inbox.pending()
    assert [(s.offer_id, s.status) for _, s in pending] == [(7, "accepted"), (7, "en_route")]
    inbox.settle(pending[0][0], "applied")
    inbox.settle(pending[1][0], "offer_conflict")  # rejected: dropped, its dead letter keeps it
    assert inbox.outcomes() == {"applied": 1}
    inbox.keep(Batch([], statuses=[_status("en_route")]))
    assert [s.status for _, s in inbox.pending()] == ["en_route"]


def test_service_order_is_scheduled_once(db: StateDB) -> None:
    responders = ResponderRegistry(db)
    responders.add(Responder("M1", "Meals", "provider", "meals", 28.2, 112.9))
    orders = ServiceOrders(db, responders, OfferBook(db))
    now = time.time()
    green_key = IncidentAlert(id=1, incident_id=3, ts=now, received_at=now, detector="device", kind="service_request",
                              severity=Severity.INFO, device_id="W1", confidence=1.0, features={}, message="meals")
    incident = Incident(id=3, group_key="service:R1", kind="service_request", severity=Severity.INFO, state="open",
                        resident_id="R1", device_id="W1", title="service request", opened_at=now, updated_at=now,
                        last_alert_at=now, lat=28.2, lon=112.9, alerts=(green_key,))  # fmt: skip
    first = orders.schedule(incident)
    assert first == {"incident_id": 3, "service": "meals", "requested_at": now, "scheduled_at": next_hour(now),
                     "responder_id": "M1"}  # fmt: skip
    assert orders.schedule(replace(incident, opened_at=now + 7200)) == first  # the slot does not drift
