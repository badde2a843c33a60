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
