"""Escalation timers under an accelerated clock, including a restart in the middle."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alerts.detection import Detection, Severity
from alerts.incidents.escalation import POLICIES, Escalator, due
from alerts.incidents.record import Incident
from alerts.incidents.service import IncidentService
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB

T0 = 2_000_000.0
CRIT = POLICIES["critical"]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _service(path: Path, clock: Clock) -> IncidentService:
    db = StateDB(path / "state.sqlite")
    reg = Registry(db)
    if not reg.residents():
        reg.add_home(Home("H1", "addr", 28.0, 112.0))
        reg.add_resident(Resident("R1", "Li Na", "H1"))
        reg.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
    return IncidentService(db, reg, None, clock)


def test_timers_fire_on_time_and_repeat_until_someone_acts(tmp_path: Path) -> None:
    clock = Clock()
    service = _service(tmp_path, clock)
    service.on_detections([Detection("flow", "sos", "R1", "W1", T0, Severity.CRITICAL)])
    esc = Escalator(service, clock)
    assert esc.tick(T0 + CRIT.ack_s - 0.1) == []
    [first] = esc.tick(T0 + CRIT.ack_s)
    assert (first.level, first.reason, first.notify_role) == (1, "not_acknowledged", "supervisor")
    assert esc.tick(T0 + CRIT.ack_s + CRIT.repeat_s - 0.1) == []
    [second] = esc.tick(T0 + CRIT.ack_s + CRIT.repeat_s)
    assert second.level == 2
    # restart in the middle: a new service over the same file keeps the timers and the level
    service.store.db.close()
    service = _service(tmp_path, clock)
    esc = Escalator(service, clock)
    [third] = esc.tick(T0 + CRIT.ack_s + 2 * CRIT.repeat_s)
    assert third.level == 3
    ack_at = T0 + CRIT.ack_s + 2 * CRIT.repeat_s + 5
    clock.now = ack_at
    service.acknowledge(1, "op", "")
    assert esc.tick(ack_at + CRIT.dispatch_s - 1) == []
    [fourth] = esc.tick(ack_at + CRIT.dispatch_s)
    assert (fourth.level, fourth.reason, fourth.notify_role) == (4, "not_dispatched", "commander")
    service.dispatch(1, "op", "P1")
    assert esc.tick(ack_at + 10 * CRIT.dispatch_s) == []
    actions = [a["action"] for a in service.store.audit_log(1)]
    assert actions.count("escalated") == 4


def test_the_run_loop_drives_the_timers_with_an_injected_clock(tmp_path: Path) -> None:
    clock = Clock()
    service = _service(tmp_path, clock)
    service.on_detections([Detection("flow", "fall", "R1", "W1", T0, Severity.CRITICAL)])

    async def fast_sleep(_s: float) -> None:
        clock.now += 10.0  # each 1 s tick is 10 s of hub time
        await asyncio.sleep(0)

    esc = Escalator(service, clock, fast_sleep)

    async def go() -> None:
        task = asyncio.create_task(esc.run())
        while esc.fired < 3:
            await asyncio.sleep(0)
        task.cancel()

    asyncio.run(asyncio.wait_for(go(), 5))
    assert clock.now - T0 >= CRIT.ack_s + 2 * CRIT.repeat_s


def test_due_is_pure() -> None:
    incident = Incident(
        id=1,
        group_key="resident:R1",
        kind="fall",
        device_id="W1",
        title="fall",
        state="open",
        severity=Severity.WARNING,
        opened_at=0.0,
        updated_at=0.0,
        last_alert_at=0.0,
        acked_at=None,
        last_escalated_at=None,
        escalation_level=0,
    )
    assert due([incident], POLICIES["warning"].ack_s - 1) == []
    assert due([incident], POLICIES["warning"].ack_s)[0].level == 1
