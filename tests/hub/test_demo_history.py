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
from simulators.community import build_community


def test_ninety_days_seeded_once_chained_and_on_the_page(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    community = build_community(residents=40, terminals=2, villages=4, seed=7)
    community.register(Registry(db))
    now = time.time()
    seeded = seed_history(db, community, now)
    assert 60 < seeded < 140  # about 10 a resident a year
    assert seed_history(db, community, now + 60) == 0  # a restarted demo keeps its history
    assert chain.verify(db, "audit_log", AUDIT_CHAINED).ok
    today = dt.datetime.fromtimestamp(now, dt.timezone(dt.timedelta(hours=8))).date()
    report = Insights(db).compute(Period(today - dt.timedelta(days=90), today))
    stages = {r["stage"] for r in report.response if r["dim"] == "all"}
    assert stages == {"ack", "dispatch", "on_scene", "resolved"}
    total = next(r for r in report.false_alarms if r["dim"] == "all")
    assert total["closed"] == seeded and 0.1 < total["share"] < 0.4
    assert len({r["key"] for r in report.response if r["dim"] == "week"}) >= 13
    db.close()
