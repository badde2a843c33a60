"""The bureau's statistics over a small known history, on SQLite and PostgreSQL: every figure against medians,
p90s and shares worked out by hand (quantiles interpolate linearly: p90 of 5 values sits at position 3.6)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from insights_history import AS_OF, PERIOD, T1, T1_NAME, T2, build, build_disasters, build_services, fill_readings
from pydantic import ValidationError

from alerts.incidents.store import IncidentStore
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.insights.engine import Insights, Period, PeriodError
from dispatch.insights.settings import InsightsSettings
from ingest.store.duckdb_store import DuckDBStore

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


def services_report(db: StateDB, tmp_path: Any, townships: list[str] | None = None) -> Any:
    build(db)
    build_services(db)
    build_disasters(db)
    store = DuckDBStore(tmp_path / "telemetry.duckdb")
    fill_readings(store)
    try:
        return Insights(db, store=store, clock=lambda: AS_OF + 30 * 86400).compute(PERIOD, townships or [])
    finally:
        store.close()


def test_services_fleet_and_disasters_match_the_hand_computed_ones(open_db: Callable[[], StateDB],
                                                                    tmp_path: Any) -> None:  # fmt: skip
    report = services_report(open_db(), tmp_path)
    # the service requests were never acknowledged: the response figures are those of the alarms alone
    assert pick(report.response, dim="all", stage="ack")["n"] == 6

    sv = report.services
    figures = ("orders", "completed", "completed_share", "completion_median_s", "completion_p90_s", "rated",
               "satisfaction", "satisfied_share")
    def check(row: dict[str, Any], *expected: Any) -> None:
        assert tuple(row[k] for k in figures) == pytest.approx(expected, nan_ok=True), row

    # five orders of the period; done after 3600, 7200, 1800, 5400 s (p90 of four at position 2.7: 5400 + 0.7 x 1800);
    # rated 5, 3 and 4 (4 or 5: satisfied)
    check(pick(sv, dim="all"), 5, 4, 0.8, 4500, 6660, 3, 4.0, 2 / 3)
    check(pick(sv, dim="service", service="meals"), 2, 2, 1.0, 4500, 5220, 1, 5.0, 1.0)
    check(pick(sv, dim="service", service="cleaning"), 2, 2, 1.0, 4500, 6660, 2, 3.5, 0.5)
    bathing = pick(sv, dim="service", service="bathing")
    assert (bathing["orders"], bathing["completed_share"], bathing["completion_median_s"]) == (1, 0, None)
    # the provider: who completed it, else whom its slot was proposed to
    check(pick(sv, dim="provider", provider="P1"), 2, 2, 1.0, 5400, 6840, 2, 4.0, 0.5)
    check(pick(sv, dim="provider", provider="P2"), 3, 2, 2 / 3, 3600, 5040, 1, 4.0, 1.0)
    assert pick(sv, dim="provider", provider="P2")["provider_name"] == "颐年护理"
    assert pick(sv, dim="all")["provider_name"] is None and pick(sv, dim="service", service="meals")["provider"] is None
    assert pick(sv, dim="service_provider", service="meals", provider="P2")["orders"] == 1
    towns = {r["township_code"]: (r["orders"], r["completed"]) for r in sv if r["dim"] == "township"}
    assert towns == {T1: (3, 3), T2: (2, 1)}

    # subsidy paid in the period: the four completions above and the October order done on 2 November
    subsidy = {(r["dim"], r["key"]): (r["services"], r["residents"], r["price_cny"], r["subsidy_cny"], r["copay_cny"])
               for r in report.subsidy}
    assert subsidy == {  # sums of halves: exact in binary
        ("all", ""): (5, 3, 165.0, 67.5, 97.5), ("category", "advanced_age"): (2, 1, 30.0, 15.0, 15.0),
        ("category", "disabled"): (2, 1, 75.0, 52.5, 22.5), ("category", "ordinary"): (1, 1, 60.0, 0.0, 60.0),
        ("township", T1): (4, 2, 105.0, 67.5, 37.5), ("township", T2): (1, 1, 60.0, 0.0, 60.0)}

    # the fleet at the period's end: W1 heard 5 min before (online), W2 2 h before with 10 % (offline, low), W3 two
    # days before and the smoke alarm never (both silent for a day); R4 has no device
    fleet = {r["key"]: (r["residents"], r["covered"], r["devices"], r["online"], r["low_battery"], r["silent_day"])
             for r in report.fleet}
    assert fleet == {"": (4, 3, 4, 1, 1, 2), T1: (3, 2, 2, 1, 1, 0), T2: (1, 1, 2, 0, 0, 2)}
    assert pick(report.fleet, dim="all")["covered_share"] == pytest.approx(0.75)
    assert pick(report.fleet, dim="all")["online_share"] == pytest.approx(0.25)
    assert report.fleet_as_of == AS_OF

    # E1 by stage: each village's latest version of the stage; the 核报 of 20 November is after the period
    rep = report.disaster_reports
    assert {r["event_id"] for r in rep} == {"E1"}
    def stage(name: str, key: str = "") -> tuple[Any, ...]:
        row = pick(rep, stage=name, key=key)
        return (row["villages"], row["affected_population"], row["emergency_relocated"], row["direct_loss_10k_cny"],
                row["houses_damaged_rooms"])
    assert stage("initial") == (2, 140, 10, 12.5, 0)
    assert stage("initial", T1) == (1, 100, 10, 0, 0) and stage("initial", T2) == (1, 40, 0, 12.5, 0)
    assert stage("follow_up") == (1, 160, 25, 0, 0)
    assert stage("verified") == (1, 45, 0, 13.0, 3)
    assert pick(rep, stage="initial", key="")["hazard"] == "flood"

    evac = {r["key"]: (r["tasks"], r["evacuate"], r["open"], r["contacted"], r["confirmed_safe"], r["relocated"],
                       r["unreachable"], r["done_share"]) for r in report.evacuation}
    assert {r["warning_id"] for r in report.evacuation} == {"WARN1"}
    assert evac == {"": (5, 4, 1, 1, 1, 1, 1, 2 / 5), T1: (3, 2, 1, 0, 1, 1, 0, 2 / 3), T2: (2, 2, 0, 1, 0, 0, 1, 0.0)}

    relief = {(r["item"], r["key"]): (r["planned"], r["received"], r["villages"], r["villages_received"])
              for r in report.relief}
    assert {r["plan_id"] for r in report.relief} == {"PL1"}
    assert relief == {("food_kg", ""): (150, 100, 2, 1), ("food_kg", T1): (100, 100, 1, 1),
                      ("food_kg", T2): (50, 0, 1, 0), ("water_l", ""): (200, 200, 1, 1),
                      ("water_l", T1): (200, 200, 1, 1)}  # fmt: skip
    assert pick(report.relief, item="food_kg", key="")["received_share"] == pytest.approx(2 / 3)


def test_a_township_list_limits_the_services_fleet_and_disaster_figures(tmp_path: Any) -> None:
    report = services_report(StateDB(tmp_path / "s.sqlite"), tmp_path, [T2])
    assert pick(report.services, dim="all")["orders"] == 2
    assert {r["township_code"] for r in report.services if r["dim"] == "township"} == {T2}
    assert pick(report.subsidy, dim="all")["subsidy_cny"] == 0 and pick(report.subsidy, dim="all")["services"] == 1
    assert [(r["key"], r["residents"], r["devices"], r["silent_day"]) for r in report.fleet] == [
        ("", 1, 2, 2), (T2, 1, 2, 2)]
    assert {r["key"] for r in report.disaster_reports} == {"", T2}
    assert pick(report.disaster_reports, stage="initial", key="")["affected_population"] == 40
    assert {(r["key"], r["tasks"]) for r in report.evacuation} == {("", 2), (T2, 2)}
    assert {(r["item"], r["key"], r["planned"]) for r in report.relief} == {("food_kg", "", 50), ("food_kg", T2, 50)}


def test_without_a_telemetry_store_the_fleet_is_counted_but_its_state_unknown(tmp_path: Any) -> None:
    db = StateDB(tmp_path / "s.sqlite")
    build(db)
    row = pick(Insights(db).compute(PERIOD).fleet, dim="all")
    assert (row["residents"], row["covered"], row["devices"]) == (3, 3, 4)
    assert (row["online"], row["low_battery"], row["silent_day"]) == (None, None, None)
    db.close()


def test_a_column_empty_in_its_first_thousand_rows_is_still_read(tmp_path: Any) -> None:
    """The storm demo's first 1,600 devices have no village, then its terminals have one: the ADBC SQLite driver
    typed the column from its first 1,024 rows and the page answered 500 (found on a real demo's /insights)."""
    db = StateDB(tmp_path / "state.sqlite")
    build(db)
    rows = [(f"Z{i:05d}", "home_sensor", "motion", None) for i in range(1_500)]
    village = db.execute("SELECT village_id FROM villages LIMIT 1")[0][0]
    rows.append(("ZT0001", "terminal", "rain_gauge", village))
    db.executemany("INSERT INTO devices (device_id, family, kind, village_id) VALUES (?, ?, ?, ?)", rows)
    report = Insights(db).compute(PERIOD)  # raised OSError: "Type mismatch ... expected INT64 but got STRING"
    assert pick(report.response, dim="all", key="", stage="ack")["n"] == 6
