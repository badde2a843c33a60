"""Incidents: grouping per resident and household, duplicate suppression, state machine, audit, restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alerts.detection import Detection, Severity
from alerts.incidents.service import IncidentError, IncidentService
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _registry(db: StateDB) -> Registry:
    reg = Registry(db)
    reg.add_home(Home("H1", "1 Riverside Rd", 28.2, 112.9))
    reg.add_resident(Resident("R1", "Wang Fang", "H1", national_id="430104194501010012", phone="13812345678"))
    reg.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="waist"))
    reg.add_device(DeviceRecord("S1", "home_sensor", "smoke", home_id="H1"))
    return reg


def _det(kind: str, device: str = "W1", severity: Severity = Severity.CRITICAL, detector: str = "flow",
         ts: float = 1_000_000.0) -> Detection:
    return Detection(detector, kind, "R1", device, ts, severity)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[IncidentService, Clock, list[tuple[str, int]], Path]:
    db = StateDB(tmp_path / "state.sqlite")
    clock = Clock()
    events: list[tuple[str, int]] = []
    service = IncidentService(db, _registry(db), lambda e, inc: events.append((e, inc.id)), clock)
    return service, clock, events, tmp_path


def test_fall_sos_and_heart_rate_of_one_person_are_one_incident(setup) -> None:
    service, clock, events, _ = setup
    service.on_detections([_det("heart_rate", severity=Severity.WARNING)])
    clock.now += 30
    service.on_detections([_det("fall"), _det("sos")])
    [incident] = service.store.active()
    assert incident.alert_count == 3
    assert incident.severity == "critical"  # raised by the fall
    assert incident.lat == 28.2
    assert [e for e, _ in events] == ["opened", "updated", "updated"]


def test_home_safety_groups_per_household_and_repeats_are_suppressed(setup) -> None:
    service, clock, events, _ = setup
    for _ in range(5):  # a flapping smoke alarm
        service.on_detections([_det("smoke", "S1", detector="home_safety", ts=clock.now)])
        clock.now += 5
    service.on_detections([_det("fall")])
    active = {i.group_key: i for i in service.store.active()}
    assert set(active) == {"home:H1", "resident:R1"}
    assert active["home:H1"].alert_count == 1 and active["home:H1"].repeats == 4
    assert service.suppressed == 4
    assert len(events) == 2


def test_the_same_alert_detected_again_after_a_redelivery_is_kept_once(setup) -> None:
    service, clock, events, _ = setup
    service.on_detections([_det("fall")])
    clock.now += 3600  # long past the repeat window: only the alert's identity can tell
    service.on_detections([_det("fall"), _det("sos", ts=1_000_001.0)])
    [incident] = service.store.active()
    alerts = service.get(incident.id).alerts or ()
    assert sorted(a.kind for a in alerts) == ["fall", "sos"]
    assert service.replayed == 1 and incident.repeats == 0
    assert len(events) == 2  # opened, then updated by the SOS: nothing announced for the repeat


def test_lifecycle_is_audited_and_wrong_transitions_refused(setup) -> None:
    service, clock, _, _ = setup
    service.on_detections([_det("fall")])
    [incident] = service.store.active()
    with pytest.raises(IncidentError) as err:
        service.move(incident.id, "closed", "op1")
    assert err.value.status == 409
    service.acknowledge(incident.id, "op1", "calling her now")
    service.callback(incident.id, "op1", True, "she is on the floor, conscious")
    service.dispatch(incident.id, "op1", "P1")
    service.move(incident.id, "on_scene", "responder:P1")
    with pytest.raises(IncidentError):
        service.resolve(incident.id, "op1", "whatever")
    done = service.resolve(incident.id, "op1", "taken_to_hospital")
    assert done.state == "resolved" and done.acked_by == "op1" and done.outcome == "taken_to_hospital"
    steps = [(a["actor"], a["action"]) for a in service.store.audit_log(incident.id)]
    assert steps == [
        ("system", "opened"),
        ("op1", "acknowledged"),
        ("op1", "callback"),
        ("op1", "dispatched"),
        ("responder:P1", "on_scene"),
        ("op1", "resolved"),
    ]
    clock.now += 60
    service.on_detections([_det("fall", ts=1_000_060.0)])  # after resolution: a new incident
    assert len(service.store.active()) == 1 and service.store.active()[0].id != incident.id


def test_audit_log_is_append_only(setup) -> None:
    service, _, _, _ = setup
    service.on_detections([_det("sos")])
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        service.store.db.execute("UPDATE audit_log SET actor='x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        service.store.db.execute("DELETE FROM audit_log")


def test_state_survives_a_restart(setup) -> None:
    service, clock, _, path = setup
    service.on_detections([_det("fall")])
    [incident] = service.store.active()
    service.acknowledge(incident.id, "op1", "")
    service.store.db.close()
    db = StateDB(path / "state.sqlite")
    again = IncidentService(db, Registry(db), None, clock)
    assert again.get(incident.id).state == "acknowledged"
    again.on_detections([_det("heart_rate")])  # still merges into the same incident
    assert again.get(incident.id).alert_count == 2
