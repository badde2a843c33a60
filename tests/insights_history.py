"""A small known history for the bureau's statistics: two townships (one with an official code, one hand-registered),
three residents, a smoke alarm, and eight incidents with known timings, two of them just outside the period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alerts.incidents.store import IncidentStore
from devices.records import DeviceRecord, Home, Resident, Village
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.insights.engine import Period

TZ = dt.timezone(dt.timedelta(hours=8))
T1, T1_NAME, T2 = "430121113", "暮云镇", "南托街道"  # T2: a hand-registered village, no official code
PERIOD = Period(dt.date(2026, 11, 2), dt.date(2026, 11, 15))  # Monday to Sunday: ISO weeks 45 and 46

# (device, resident, home, severity, local opening (day of Nov, hour), detectors of its alerts, seconds from opening
# to ack, dispatch, on scene, resolved, outcome)
HISTORY: list[tuple[Any, ...]] = [
    ("W1", "R1", None, "critical", (2, 10), ["fall", "fall"], 30, 200, 1500, 3000, "helped"),
    ("W2", "R2", None, "critical", (3, 3), ["sos"], 90, 400, 2000, 8000, "helped"),
    ("W3", "R3", None, "warning", (4, 14), ["vitals"], 120, None, None, 600, "false_alarm"),
    ("W1", "R1", None, "critical", (9, 10), ["fall"], 45, None, None, 300, "false_alarm"),
    ("S1", None, "H2", "critical", (10, 22), ["home_safety"], 20, 100, 900, 2400, "helped"),
    ("W3", "R3", None, "warning", (11, 8), ["vitals"], 600, None, None, None, None),
    # outside the period (local 1 Nov 23:59 and 16 Nov 00:30): never counted
    ("W1", "R1", None, "critical", (1, 23.99), ["fall"], 5, 5, 5, 5, "false_alarm"),
    ("W2", "R2", None, "critical", (16, 0.5), ["sos"], 5, 5, 5, 5, "false_alarm"),
]


def build(db: StateDB) -> None:
    reg = Registry(db)
    reg.add_village(Village("V1", "新塘村", T1_NAME, "长沙县", 28.0, 113.0, code="430121113202"))
    reg.add_village(Village("V2", "南托村", T2, "长沙县", 28.1, 113.1))
    reg.add_home(Home("H1", "一号", 28.0, 113.0, "V1"))
    reg.add_home(Home("H2", "二号", 28.1, 113.1, "V2"))
    for rid, home in (("R1", "H1"), ("R2", "H1"), ("R3", "H2")):
        reg.add_resident(Resident(rid, f"居民{rid}", home))
    reg.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
    reg.add_device(DeviceRecord("W2", "wearable", "wearable", resident_id="R2", worn_at="pendant"))
    reg.add_device(DeviceRecord("W3", "wearable", "wearable", resident_id="R3", worn_at="wrist"))
    reg.add_device(DeviceRecord("S1", "home_sensor", "smoke", home_id="H2", room="kitchen"))
    store = IncidentStore(db)
    for device, resident, home, severity, (day, hour), detectors, ack, disp, scene, done, outcome in HISTORY:
        t0 = (dt.datetime(2026, 11, 1, tzinfo=TZ) + dt.timedelta(days=day - 1, hours=hour)).timestamp()
        iid = store.create({
            "group_key": device, "kind": detectors[0], "severity": severity, "state": "open", "resident_id": resident,
            "home_id": home, "device_id": device, "title": "t", "opened_at": t0, "updated_at": t0,
            "last_alert_at": t0, "acked_at": t0 + ack, "dispatched_at": None if disp is None else t0 + disp,
            "outcome": outcome})  # fmt: skip
        for n, detector in enumerate(detectors):
            store.add_alert(iid, {"ts": t0 + 60 * n, "received_at": t0 + 60 * n, "detector": detector,
                                  "kind": detector, "severity": severity, "device_id": device, "confidence": 1.0,
                                  "features": {}, "message": ""})  # fmt: skip
        for action, after in (("on_scene", scene), ("resolved", done)):
            if after is not None:
                store.audit("op", action, iid, {}, t0 + after)
        store.audit("op", "callback", iid, {}, t0 + 10)  # other entries of the log are not stages


# ---- services, fleet and disasters (issue 19's second part) -------------------------------------------------------
def local(day: int, hour: float, month: int = 11) -> float:
    """UTC epoch seconds of a local (UTC+8) day and hour of 2026."""
    return (dt.datetime(2026, month, day, tzinfo=TZ) + dt.timedelta(hours=hour)).timestamp()


AS_OF = local(16, 0)  # the period's end: the moment of the fleet figures
PROVIDERS = (("P1", "康乐家政"), ("P2", "颐年护理"))
# (resident, service, requested (month, day, hour), proposed provider, completion: (provider, seconds after the
# request, category, price, subsidy) or None, call-back rating or None)
ORDERS: list[tuple[Any, ...]] = [
    ("R1", "meals", (11, 3, 9), "P1", ("P1", 3600, "advanced_age", 15.0, 7.5), 5),
    ("R2", "cleaning", (11, 4, 10), "P1", ("P1", 7200, "disabled", 60.0, 42.0), 3),
    ("R3", "cleaning", (11, 5, 14), "P2", ("P2", 1800, "ordinary", 60.0, 0.0), 4),
    ("R1", "meals", (11, 10, 8), "P1", ("P2", 5400, "advanced_age", 15.0, 7.5), None),  # another provider did it
    ("R3", "bathing", (11, 12, 15), "P2", None, None),  # not done
    # ordered on 31 October (not an order of the period), done on 2 November: its subsidy is paid in the period
    ("R2", "meals", (10, 31, 20), "P1", ("P1", 2 * 86400 - 36000, "disabled", 15.0, 10.5), None),
]
# (device, seconds before AS_OF of each reading, battery of each reading (None: none sent)); readings after AS_OF
# never count. S1 (the smoke alarm) never reported.
READINGS: list[tuple[str, list[float], list[float | None]]] = [
    ("W1", [7200, 300], [85.0, 80.0]),  # online (wearable timeout 600 s)
    ("W2", [7200, -3600], [10.0, 90.0]),  # 2 h silent: offline but not a day; low battery (the later 90 % is after)
    ("W3", [4 * 86400, 2 * 86400], [50.0, None]),  # silent for two days; its last battery reading 50 %
]
INDICATORS = {"affected_population", "emergency_relocated", "direct_loss_10k_cny", "houses_damaged_rooms"}
# (event, village, version, stage, local (month, day), indicators)
REPORTS: list[tuple[Any, ...]] = [
    ("E1", "V1", 1, "initial", (11, 8), {"affected_population": 100, "emergency_relocated": 10}),
    ("E1", "V1", 2, "follow_up", (11, 9), {"affected_population": 150, "emergency_relocated": 20}),
    ("E1", "V1", 3, "follow_up", (11, 10), {"affected_population": 160, "emergency_relocated": 25}),  # corrects v2
    ("E1", "V1", 4, "verified", (11, 20), {"affected_population": 161}),  # after the period
    ("E1", "V2", 1, "initial", (11, 8), {"affected_population": 40, "direct_loss_10k_cny": 12.5}),
    ("E1", "V2", 2, "verified", (11, 12), {"affected_population": 45, "direct_loss_10k_cny": 13.0,
                                           "houses_damaged_rooms": 3}),
    ("E0", "V1", 1, "initial", (10, 5), {"affected_population": 9}),  # an event of October
]
# (task, warning, village, kind, state, local (month, day))
TASKS: list[tuple[str, str, str, str, str, tuple[int, int]]] = [
    ("t1", "WARN1", "V1", "evacuate", "relocated", (11, 8)),
    ("t2", "WARN1", "V1", "evacuate", "confirmed_safe", (11, 8)),
    ("t3", "WARN1", "V1", "check_on", "open", (11, 7)),
    ("t4", "WARN1", "V2", "evacuate", "contacted", (11, 8)),
    ("t5", "WARN1", "V2", "evacuate", "unreachable", (11, 9)),
    ("t0", "WARN0", "V1", "evacuate", "relocated", (10, 6)),  # a warning of October
]
# (plan, status, approved (month, day) or None, shipments, villages that confirmed receipt)
PLANS: list[tuple[Any, ...]] = [
    ("PL1", "approved", (11, 9), [["WH1", "V1", "food_kg", 100.0, 3.2], ["WH1", "V2", "food_kg", 50.0, 5.0],
                                  ["WH1", "V1", "water_l", 200.0, 3.2]], ["V1"]),
    ("PL0", "draft", None, [["WH1", "V2", "food_kg", 999.0, 5.0]], []),
    ("PL2", "approved", (10, 7), [["WH1", "V2", "food_kg", 77.0, 5.0]], ["V2"]),
]


def build_services(db: StateDB) -> None:
    """Providers, the orders above as service-request incidents (green key of the resident's wearable, never
    acknowledged: no response-time rows) with
    their completions and call-backs, and a fourth resident without any device (R4, in township T1)."""
    from dispatch import caring_calls, responders, service_catalogue, service_orders

    for ddl in (caring_calls.DDL, responders.DDL, service_catalogue.DDL, service_orders.DDL):
        db.migrate(ddl)
    Registry(db).add_resident(Resident("R4", "居民R4", "H1"))
    for pid, name in PROVIDERS:
        db.execute("INSERT INTO responders (responder_id, name, kind, services, lat, lon) VALUES (?, ?, 'provider',"
                   " 'meals,cleaning', 28.0, 113.0)", [pid, name])
    store = IncidentStore(db)
    for resident, service, (month, day, hour), proposed, done, rating in ORDERS:
        t0 = local(day, hour, month)
        iid = store.create({"group_key": f"resident:{resident}", "kind": "service_request", "severity": "info",
                            "state": "open", "resident_id": resident, "device_id": f"W{resident[1:]}",
                            "title": service, "opened_at": t0,
                            "updated_at": t0, "last_alert_at": t0})  # fmt: skip
        db.execute("INSERT INTO service_orders (incident_id, service, requested_at, scheduled_at, responder_id)"
                   " VALUES (?, ?, ?, ?, ?)", [iid, service, t0, t0 + 3600, proposed])
        if done is None:
            continue
        provider, after, category, price, subsidy = done
        db.execute("INSERT INTO caring_calls (resident_id, due_at, state, kind, about_incident, satisfaction, done_at)"
                   " VALUES (?, ?, ?, 'satisfaction', ?, ?, ?)",
                   [resident, t0 + after, "due" if rating is None else "done", iid, rating,
                    None if rating is None else t0 + after + 600])  # fmt: skip
        db.execute("INSERT INTO service_completions (incident_id, service, responder_id, resident_id, category,"
                   " price_cny, subsidy_cny, copay_cny, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [iid, service, provider, resident, category, price, subsidy, price - subsidy, t0 + after])


def fill_readings(store: Any) -> None:
    """The fleet's readings (into a TimeSeriesStore)."""
    from devices.models import Family, Reading

    readings = []
    for device, befores, batteries in READINGS:
        for seq, (before, battery) in enumerate(zip(befores, batteries, strict=True)):
            values = {"heart_rate": 70.0} | ({} if battery is None else {"battery": battery})
            readings.append(Reading(device, Family.WEARABLE, AS_OF - before, seq, values))
    store.write(readings)


def build_disasters(db: StateDB) -> None:
    """A flood's village reports, an evacuation warning's work list and relief plans (with an October of each)."""
    import orjson

    from dispatch.disaster import report_store, resource_store
    from dispatch.disaster import store as command_store

    for ddl in (report_store.DDL, resource_store.DDL, command_store.DDL):
        db.migrate(ddl)
    for event, started in (("E1", local(8, 6)), ("E0", local(5, 6, 10))):
        db.execute("INSERT INTO report_events (event_id, hazard, started_at, villages, checked_until, declared,"
                   " declared_by, stabilised_by) VALUES (?, 'flood', ?, '[]', ?, 1, 'cmd', '')",
                   [event, started, started])  # fmt: skip
    for seq, (event, village, version, stage, (month, day), values) in enumerate(REPORTS, start=1):
        db.execute("INSERT INTO report_versions (event_id, village_id, version, stage, hazard, ts, indicators, zero,"
                   " corrected, officer, note, seq) VALUES (?, ?, ?, ?, 'flood', ?, ?, 0, 0, 'officer', '', ?)",
                   [event, village, version, stage, local(day, 12, month), orjson.dumps(values).decode(), seq])
    for task, warning, village, kind, state, (month, day) in TASKS:
        db.execute("INSERT INTO command_tasks (task_id, warning_id, resident_id, village_id, kind, state, updated_at,"
                   " note) VALUES (?, ?, 'R1', ?, ?, ?, ?, '')", [task, warning, village, kind, state,
                                                                 local(day, 12, month)])  # fmt: skip
    for plan, status, approved, shipments, received in PLANS:
        body = {"shipments": shipments, "need": {}, "fill": {}}
        at = None if approved is None else local(approved[1], 12, approved[0])
        db.execute("INSERT INTO relief_plans (plan_id, status, body, created_by, created_at, approved_by, approved_at)"
                   " VALUES (?, ?, ?, 'cmd', ?, ?, ?)",
                   [plan, status, orjson.dumps(body).decode(), at or local(9, 8), "chief" if at else "", at])
        for village in received:
            db.execute("INSERT INTO relief_receipts (plan_id, village_id, actor, ts, note) VALUES (?, ?, 'officer',"
                       " ?, '')", [plan, village, (at or 0) + 86400])
