"""The bureau's statistics over a small known history, on SQLite and PostgreSQL: every figure against medians,
p90s and shares worked out by hand (quantiles interpolate linearly: p90 of 5 values sits at position 3.6)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from insights_history import PERIOD, T1, T1_NAME, T2, build
from pydantic import ValidationError

from alerts.incidents.store import IncidentStore
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.insights.engine import Insights, Period, PeriodError
from dispatch.insights.settings import InsightsSettings

M = 365.2425 / 12


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
        ("detector", "home_safety"): 0, ("kind", "fall"): 0.5, ("kind", "sos"): 0, ("kind", "vitals"): 1,
        ("kind", "home_safety"): 0, ("device_kind", "wearable"): 0.5, ("device_kind", "smoke"): 0,
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


def test_targets_come_from_the_settings(tmp_path: Any) -> None:
    settings = InsightsSettings.model_validate({"targets": {"ack": {"critical": 100}}})
    db = StateDB(tmp_path / "s.sqlite")
    build(db)
    rows = Insights(db, settings.targets).compute(PERIOD).response
    check_response(rows, "severity", "critical", "ack", 4, 37.5, 76.5, 1.0)  # 30, 90, 45, 20 s: all inside 100 s
    assert pick(rows, dim="severity", key="warning", stage="ack")["within_share"] is None  # no target now
    for bad in ({"ack": {"severe": 60}}, {"arrived": {"critical": 60}}, {"ack": {"critical": 0}}):
        with pytest.raises(ValidationError):
            InsightsSettings.model_validate({"targets": bad})
    db.close()
