"""`hub demo`'s 90 days of history: seeded once per data folder, chained into the audit log like the hub's own
entries, and enough for every figure of the statistics page."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from alerts.incidents.store import AUDIT_CHAINED
from devices.registry import Registry
from devices.statedb import chain
from devices.statedb.sqlite import StateDB
from dispatch.insights.engine import Insights, Period
from hub.demo_history import seed_history
from hub.demo_seed import demo_responders
from simulators.community import build_community


def test_ninety_days_seeded_once_chained_and_on_the_page(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    community = build_community(residents=40, terminals=2, villages=4, seed=7)
    community.register(Registry(db))
    now = time.time()
    providers = [r for r in demo_responders(community) if r.kind == "provider"]
    seeded = seed_history(db, community, now, providers=providers)
    assert 60 < seeded < 140  # about 10 a resident a year
    assert seed_history(db, community, now + 60) == 0  # a restarted demo keeps its history
    assert chain.verify(db, "audit_log", AUDIT_CHAINED).ok
    today = dt.datetime.fromtimestamp(now, dt.timezone(dt.timedelta(hours=8))).date()
    report = Insights(db).compute(Period(today - dt.timedelta(days=90), today))
    stages = {r["stage"] for r in report.response if r["dim"] == "all"}
    assert stages == {"ack", "dispatch", "on_scene", "resolved"}
    total = next(r for r in report.false_alarms if r["dim"] == "all")
    orders = next(r for r in report.services if r["dim"] == "all")
    alarms = sum(r["closed"] for r in report.false_alarms if r["dim"] == "kind" and r["key"] != "service_request")
    assert alarms == seeded and 0.1 < total["share"] < 0.4
    # issue 19: about 5 orders a resident a year, 90 % completed and mostly rated; subsidies by category; a storm
    assert 25 < orders["orders"] < 75 and 0.75 < orders["completed_share"] <= 1 and orders["rated"] > 0
    assert 3.5 < orders["satisfaction"] < 5 and orders["completion_median_s"] > 0
    assert {r["provider"] for r in report.services if r["dim"] == "provider"} <= {p.responder_id for p in providers}
    assert {r["key"] for r in report.subsidy if r["dim"] == "category"} <= {"disabled", "advanced_age", "ordinary"}
    assert next(r for r in report.subsidy if r["dim"] == "all")["subsidy_cny"] > 0
    assert {r["stage"] for r in report.disaster_reports} == {"initial", "follow_up", "verified"}
    initial, verified = (next(r for r in report.disaster_reports if r["dim"] == "all" and r["stage"] == s)
                         for s in ("initial", "verified"))  # fmt: skip
    assert 0 < initial["affected_population"] <= verified["affected_population"]
    evac = next(r for r in report.evacuation if r["dim"] == "all")
    assert evac["tasks"] > 0 and 0.5 < evac["done_share"] <= 1
    relief = [r for r in report.relief if r["dim"] == "all"]
    assert {r["item"] for r in relief} == {"water_l", "food_kg", "blanket"}
    assert all(0 < r["received"] <= r["planned"] for r in relief)
    assert len({r["key"] for r in report.response if r["dim"] == "week"}) >= 13
    db.close()
