"""The bureau's statistics over a small known history, on SQLite and PostgreSQL: every figure against medians,
p90s and shares worked out by hand (quantiles interpolate linearly: p90 of 5 values sits at position 3.6)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from alerts.incidents.store import IncidentStore
from devices.records import DeviceRecord, Home, Resident, Village
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.insights.engine import Insights, Period, PeriodError

TZ = dt.timezone(dt.timedelta(hours=8))
T1, T1_NAME, T2 = "430121113", "暮云镇", "南托街道"  # T2: a hand-registered village, no official code
PERIOD = Period(dt.date(2026, 11, 2), dt.date(2026, 11, 15))  # Monday to Sunday: ISO weeks 45 and 46
M = 365.2425 / 12

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


def pick(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def check_response(rows: list[dict[str, Any]], dim: str, key: str, stage: str, n: int, median: float,
                   p90: float, share: float) -> None:  # fmt: skip
    row = pick(rows, dim=dim, key=key, stage=stage)
    assert (row["n"], row["median_s"], row["p90_s"], row["within_share"]) == pytest.approx((n, median, p90, share))


def test_every_figure_matches_the_hand_computed_one(open_db: Callable[[], StateDB]) -> None:
    db = open_db()
    build(db)
    report = Insights(db).compute(PERIOD)
    rs = report.response
    # acknowledged after 30, 90, 120, 45, 20, 600 s; inside 60 s (critical) / 300 s (warning): 4 of 6
    check_response(rs, "all", "", "ack", 6, 67.5, 360, 4 / 6)
    check_response(rs, "severity", "critical", "ack", 4, 37.5, 76.5, 3 / 4)
    check_response(rs, "severity", "warning", "ack", 2, 360, 552, 1 / 2)
    assert pick(rs, dim="severity", key="critical", stage="ack")["target_s"] == 60
    check_response(rs, "week", "2026-W45", "ack", 3, 90, 114, 2 / 3)
    check_response(rs, "week", "2026-W46", "ack", 3, 45, 489, 2 / 3)
    check_response(rs, "township", T1, "ack", 3, 45, 81, 2 / 3)
    check_response(rs, "township", T2, "ack", 3, 120, 504, 2 / 3)
    assert pick(rs, dim="township", key=T1, stage="ack")["label"] == T1_NAME
    check_response(rs, "all", "", "dispatch", 3, 200, 360, 2 / 3)
    check_response(rs, "all", "", "on_scene", 3, 1500, 1900, 2 / 3)
    check_response(rs, "all", "", "resolved", 5, 2400, 6000, 4 / 5)

    fa = report.false_alarms
    assert (pick(fa, dim="all")["closed"], pick(fa, dim="all")["false_alarms"]) == (5, 2)
    shares = {(r["dim"], r["key"]): r["share"] for r in fa}
    assert shares == pytest.approx({
        ("all", ""): 0.4, ("detector", "fall"): 0.5, ("detector", "sos"): 0, ("detector", "vitals"): 1,
        ("detector", "home_safety"): 0, ("device_kind", "wearable"): 0.5, ("device_kind", "smoke"): 0,
        ("worn_at", "wrist"): 2 / 3, ("worn_at", "pendant"): 0, ("worn_at", ""): 0})  # fmt: skip

    rate = {r["key"]: (r["alerts"], r["residents"], r["per_resident_month"]) for r in report.alert_rate}
    assert rate == {"": (7, 3, pytest.approx(7 / (3 * 14 / M))), T1: (4, 2, pytest.approx(4 / (2 * 14 / M))),
                    T2: (3, 1, pytest.approx(3 / (1 * 14 / M)))}  # fmt: skip

    cells = {(c["weekday"], c["hour"]): c["alerts"] for c in report.heatmap if c["alerts"]}
    assert len(report.heatmap) == 7 * 24
    assert cells == {(1, 10): 3, (2, 3): 1, (3, 14): 1, (2, 22): 1, (3, 8): 1}


def test_a_township_list_limits_every_figure(open_db: Callable[[], StateDB]) -> None:
    db = open_db()
    build(db)
    report = Insights(db).compute(PERIOD, [T2])
    check_response(report.response, "all", "", "ack", 3, 120, 504, 2 / 3)
    assert {r["key"] for r in report.response if r["dim"] == "township"} == {T2}
    assert pick(report.false_alarms, dim="all")["closed"] == 2
    assert [(r["key"], r["alerts"], r["residents"]) for r in report.alert_rate] == [("", 3, 1), (T2, 3, 1)]
    assert sum(c["alerts"] for c in report.heatmap) == 3
    by_code = Insights(db).compute(PERIOD, [T1])
    assert pick(by_code.false_alarms, dim="all")["closed"] == 3


def test_an_empty_period_and_a_reversed_one() -> None:
    with pytest.raises(PeriodError):
        Period(dt.date(2026, 11, 2), dt.date(2026, 11, 1))


def test_an_empty_database_gives_zero_figures(tmp_path: Any) -> None:
    db = StateDB(tmp_path / "s.sqlite")
    Registry(db)
    IncidentStore(db)
    report = Insights(db).compute(PERIOD)
    assert report.response == [] and sum(c["alerts"] for c in report.heatmap) == 0
    assert [(r["alerts"], r["residents"], r["per_resident_month"]) for r in report.alert_rate] == [(0, 0, None)]
    db.close()
