"""The Incident record (issue 13): frozen and slotted, and its JSON is field by field what the incident dicts were.

The "old" shapes below are built from the database rows exactly as the code before the record built them
(IncidentService.get, IncidentStore.active, ServiceOrders.annotate, the escalation frame, notify._summary), on
both state backends, and compared with what the records give now: same fields, same order, same types, same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Any

import orjson
import pytest

from alerts.detection import Detection, Severity
from alerts.incidents.escalation import Escalator
from alerts.incidents.notify import Notifier
from alerts.incidents.record import UNSET, Incident
from alerts.incidents.service import IncidentService
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.offers import OfferBook
from dispatch.responders import Responder, ResponderRegistry
from dispatch.service_orders import ServiceOrders

T0 = 1_700_000_000.0


class Frames:
    """A LiveFrames sink that keeps what it is given."""

    def __init__(self) -> None:
        self.incidents: list[dict[str, Any]] = []

    def publish(self, kind: str, data: Any) -> None:
        assert kind == "incident"
        self.incidents.append(data["incident"])


def _old_get(db: StateDB, incident_id: int) -> dict[str, Any]:
    row = db.execute("SELECT * FROM incidents WHERE id=?", [incident_id])[0]
    alerts = db.execute("SELECT * FROM incident_alerts WHERE incident_id=? ORDER BY id", [incident_id])
    return {**dict(row), "alerts": [{**dict(r), "features": orjson.loads(r["features"])} for r in alerts]}


def _old_annotate(orders: ServiceOrders, incident: dict[str, Any]) -> dict[str, Any]:
    order = orders.get(incident["id"]) if incident["kind"] == "service_request" else None
    return {**incident, "service_order": order}


def _old_summary(incident: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in incident.items() if k != "alerts"} | {"alerts": len(incident.get("alerts", []))}


def _same(new: Any, old: Any, where: str = "") -> None:
    """Equal field by field, in the same order and of the same types (a StrEnum is not a str here)."""
    assert type(new) is type(old), where
    if isinstance(old, dict):
        assert list(new) == list(old), where
        for key in old:
            _same(new[key], old[key], f"{where}.{key}")
    elif isinstance(old, list):
        assert len(new) == len(old), where
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert new == old, where
    assert orjson.dumps(new) == orjson.dumps(old), where


def test_incident_json_is_field_by_field_what_the_dicts_were(open_db: Callable[[], StateDB]) -> None:
    db = open_db()
    reg = Registry(db)
    reg.add_home(Home("H1", "1 Riverside Rd", 28.2, 112.9))
    reg.add_resident(Resident("R1", "Wang Fang", "H1"))
    reg.add_resident(Resident("R2", "Li Na", "H1"))
    reg.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="waist"))
    reg.add_device(DeviceRecord("W2", "wearable", "wearable", resident_id="R2", worn_at="wrist"))
    reg.add_device(DeviceRecord("S1", "home_sensor", "smoke", home_id="H1"))
    responders = ResponderRegistry(db)
    responders.add(Responder("M1", "Meals", "provider", "meals", 28.2, 112.91))
    now = [T0]
    service = IncidentService(db, reg, None, lambda: now[0])
    orders = ServiceOrders(db, responders, OfferBook(db, clock=lambda: now[0]))
    frames = Frames()
    service.notify = orders.notifier(Notifier(frames))

    def frame_of(incident_id: int, **extra: Any) -> None:  # the last frame, against the old frame of the row
        _same(frames.incidents[-1], _old_summary(_old_annotate(orders, {**_old_get(db, incident_id), **extra})))

    service.on_detections([Detection("vitals", "heart_rate", "R1", "W1", T0, Severity.WARNING, 0.8,
                                     {"value": 150.0}, "hr 150")])  # fmt: skip
    frame_of(1)
    now[0] += 5
    service.on_detections([Detection("flow", "fall", "R1", "W1", now[0], Severity.CRITICAL, 0.9, {"peak_g": 3.1})])
    frame_of(1)  # merged, severity raised
    service.on_detections([Detection("home_safety", "smoke", "H1", "S1", now[0], Severity.CRITICAL)])
    frame_of(2)
    service.on_detections([Detection("device", "service_request", "R2", "W2", now[0], Severity.INFO, 1, {}, "meals")])
    frame_of(3)  # with its service order
    now[0] += 5
    service.acknowledge(1, "op1", "calling")
    frame_of(1)
    [step] = Escalator(service).tick(now[0] + 60)  # the smoke alarm, not acknowledged within a minute
    # issue 18 added the escalation's text for people to the frame (the rest is as the dicts were)
    text = frames.incidents[-1]["escalation"]["text"]
    assert "分钟" in text or "min" in text
    # issue 15 added the step's channel (console, sms_family, ...)
    frame_of(2, escalation={"level": step.level, "reason": step.reason, "notify_role": step.notify_role, "text": text,
                            "channel": step.channel})
    assert len(frames.incidents) == 6

    for incident_id in (1, 2, 3):  # REST: one incident with its alerts, as the actions answer it
        _same(service.get(incident_id).to_json(), _old_get(db, incident_id))
    rows = db.execute("SELECT * FROM incidents WHERE state IN ('open', 'acknowledged') ORDER BY id")
    queue = [orders.annotate(i).to_json() for i in service.store.active()]  # the console's queue
    _same(queue, [_old_annotate(orders, dict(r)) for r in rows])
    _same([Incident.from_row(r).to_json() for r in rows], [dict(r) for r in rows])  # a row round-trips


def test_records_are_frozen_and_slotted_and_changes_are_new_records(tmp_path: Any) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    reg = Registry(db)
    reg.add_home(Home("H1", "addr", 28.2, 112.9))
    reg.add_resident(Resident("R1", "Li Na", "H1"))
    reg.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
    service = IncidentService(db, reg, None, lambda: T0)
    service.on_detections([Detection("flow", "fall", "R1", "W1", T0, Severity.CRITICAL, 0.9, {"peak_g": 3.1})])
    incident = service.get(1)
    assert incident.alerts is not None
    alert = incident.alerts[0]
    with pytest.raises(FrozenInstanceError):
        incident.state = "closed"  # type: ignore[misc]  # the point: a frozen record refuses it
    with pytest.raises(FrozenInstanceError):
        alert.kind = "sos"  # type: ignore[misc]  # the point: a frozen record refuses it
    assert not hasattr(incident, "__dict__") and not hasattr(alert, "__dict__")  # slotted
    orders = ServiceOrders(db, ResponderRegistry(db), OfferBook(db))
    annotated = orders.annotate(incident)
    assert annotated is not incident and incident.service_order is UNSET and annotated.service_order is None
    acked = service.acknowledge(1, "op1", "")
    assert (incident.state, acked.state) == ("open", "acknowledged")  # the old record is unchanged
    assert "service_order" not in incident.to_json() and annotated.to_json()["service_order"] is None
