"""The hotline's tables on both state backends: lines and calls, caring calls, the catalogue and completions."""

from __future__ import annotations

from collections.abc import Callable

from dashboard.call_log import Call, CallLog
from devices.records import Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.caring_calls import CaringCalls
from dispatch.service_catalogue import ServiceCatalogue


def test_hotline_tables_on_both_state_backends(open_db: Callable[[], StateDB]) -> None:
    db = open_db()
    registry = Registry(db)
    registry.add_home(Home("H1", "岳麓区莲花镇桐木村3组12号", 28.1, 112.8))
    registry.add_resident(Resident("R1", "王秀英", "H1", phone="13800001111", birth_year=1940, lives_alone=1))
    registry.add_resident(Resident("R2", "李桂英", "H1", birth_year=1960, limited_mobility=1))
    calls = CallLog(db)
    calls.take_line("op1", "8001")
    calls.take_line("op2", "8001")  # the line changes hands
    assert calls.operator_on("8001") == "op2" and calls.line_of("op1") == ""
    call = Call("pbx-1", "13800001111", "8001", "R1", "op2", 1.0, "cti")
    assert calls.record(call) and not calls.record(call)
    assert [c["call_id"] for c in CallLog(open_db()).recent()] == ["pbx-1"]
    now = [1_800_000_000.0]
    caring = CaringCalls(db, registry, None, clock=lambda: now[0])
    assert caring.plan() == 1 and caring.plan() == 0
    [task] = caring.due()
    assert task["resident_id"] == "R1" and task["name"] == "王秀英"
    assert caring.record(int(task["id"]), "op1", "well")["state"] == "done"
    now[0] += 8 * 86_400.0
    assert caring.plan() == 1  # a week later: the next call
    catalogue = ServiceCatalogue(db, registry, caring, clock=lambda: now[0])
    assert catalogue.quote("meals", "R2") == {"service": "meals", "category": "disabled", "price_cny": 15.0,
                                              "subsidy_cny": 10.5, "copay_cny": 4.5}
    assert catalogue.quote("nursing", "R1")["category"] == "advanced_age"
    assert len(ServiceCatalogue(open_db(), registry, caring).services()) == 7  # seeded once
    followup = caring.add_followup("R2", 42)
    assert caring.get(followup)["kind"] == "satisfaction"
