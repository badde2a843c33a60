"""Service orders (green key): a slot at the next opening hour of a provider, then the incident lifecycle."""

from __future__ import annotations

import time
from pathlib import Path

from alerts.detection import Detection, Severity
from alerts.incidents.record import Incident
from alerts.incidents.service import IncidentService
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.desk import DispatchDesk
from dispatch.offers import OfferBook
from dispatch.responders import Responder, ResponderRegistry
from dispatch.service_orders import ServiceOrders, local_minute, next_hour, next_slot


class Clock:
    now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def _hours_from(ts: float, offset_h: int, length_h: int = 2) -> str:
    """Opening hours starting `offset_h` full hours after the hour of `ts` (local time)."""
    start = (time.localtime(ts).tm_hour + offset_h) % 24
    return f"{start:02d}:00-{(start + length_h) % 24:02d}:00"


def test_slot_is_the_next_full_hour_a_provider_of_the_service_is_open() -> None:
    now = Clock.now
    cooks = [
        Responder("M1", "Meals late", "provider", "meals", 28.21, 112.9, hours=_hours_from(now, 5)),
        Responder("M2", "Meals soon", "provider", "meals", 28.30, 112.9, hours=_hours_from(now, 3)),
        Responder("C1", "Cleaner", "provider", "cleaning", 28.2, 112.9),
    ]
    slot, responder = next_slot(cooks, {}, 28.2, 112.9, "meals", "R1", now) or (0.0, "")
    assert responder == "M2" and slot == next_hour(now) + 2 * 3600
    assert local_minute(slot) % 60 == 0 and slot > now
    assert next_slot(cooks, {}, 28.2, 112.9, "cleaning", "R1", now) == (next_hour(now), "C1")  # always open
    assert next_slot(cooks, {"C1": 1}, 28.2, 112.9, "cleaning", "R1", now) is None  # full for a week
    assert next_slot(cooks, {}, 28.2, 112.9, "nursing", "R1", now) is None  # nobody offers it


def test_green_key_order_goes_through_the_incident_lifecycle(tmp_path: Path) -> None:
    db, clock = StateDB(tmp_path / "s.sqlite"), Clock()
    reg = Registry(db)
    reg.add_home(Home("H1", "addr", 28.2, 112.9))
    reg.add_resident(Resident("R1", "Li Na", "H1"))
    reg.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
    responders = ResponderRegistry(db)
    responders.add(Responder("M1", "Meals", "provider", "meals", 28.21, 112.9, hours=_hours_from(clock.now, 2)))
    responders.add(Responder("E1", "120", "emergency", "emergency_visit", 28.2, 112.9))
    frames: list[tuple[str, Incident]] = []
    sent: list[tuple[str, dict[str, object]]] = []
    offers = OfferBook(db, lambda t, b: sent.append((t, b)), clock=clock)
    orders = ServiceOrders(db, responders, offers)
    incidents = IncidentService(db, reg, orders.notifier(lambda e, inc: frames.append((e, inc))), clock)
    desk = DispatchDesk(incidents, responders, offers, clock, orders=orders)
    incidents.on_detections(
        [Detection("device", "service_request", "R1", "W1", clock.now, Severity.INFO, 1, {}, "meals")]
    )

    order = desk.orders.get(1)
    assert order is not None and order["service"] == "meals" and order["responder_id"] == "M1"
    assert order["scheduled_at"] == next_hour(clock.now) + 3600
    assert frames[0][0] == "opened" and frames[0][1].service_order == order  # the console's frame carries it
    assert [c.responder_id for c in desk.candidates(1)] == ["M1"] and desk.candidates(1)[0].available  # at the slot
    incidents.acknowledge(1, "op", "booked for lunch")
    desk.dispatch(1, "op", "M1")
    topic, offer = sent[-1]
    assert topic == "responders/M1/offer" and offer["service"] == "meals"
    assert offer["scheduled_at"] == order["scheduled_at"]
    for status in ("accepted", "en_route", "on_scene", "done"):
        desk.offers.update(int(offer["offer_id"]), status, "M1")
    incidents.resolve(1, "op", "service_done")
    incidents.move(1, "closed", "supervisor")
    states = [a["action"] for a in incidents.store.audit_log(1) if a["actor"] in ("op", "supervisor", "responder:M1")]
    assert [s for s in states if not s.startswith("offer_")] == [
        "acknowledged",
        "dispatched",
        "on_scene",
        "resolved",
        "closed",
    ]
    assert [e for e, _ in frames][-1] == "closed" and frames[-1][1].service_order == order


def test_other_incidents_have_no_order(tmp_path: Path) -> None:
    db, clock = StateDB(tmp_path / "s.sqlite"), Clock()
    reg = Registry(db)
    reg.add_home(Home("H1", "addr", 28.2, 112.9))
    reg.add_resident(Resident("R1", "Li Na", "H1"))
    reg.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
    responders, offers = ResponderRegistry(db), OfferBook(db, clock=clock)
    orders = ServiceOrders(db, responders, offers)
    incidents = IncidentService(db, reg, orders.notifier(lambda _e, _inc: None), clock)
    desk = DispatchDesk(incidents, responders, offers, clock, orders=orders)
    incidents.on_detections([Detection("device", "sos", "R1", "W1", clock.now, Severity.CRITICAL)])
    assert desk.orders.get(1) is None and desk.orders.annotate(incidents.get(1)).service_order is None
