"""Issue 14, item 4: village reports live in the state database (SQLite and PostgreSQL) at every stage. A book
opened again on the same database (as after kill -9) holds every event and version, refuses a verified report until
a commander marks the event stable, and raises no overdue report twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alerts.disaster.reports import ReportBook, ReportError, parse_indicators
from devices.statedb.sqlite import StateDB
from dispatch.disaster.report_store import ReporterScopes, ReportStore

T0 = 1_783_000_000.0
DAY = 86400.0


def book_on(db: StateDB) -> ReportBook:
    return ReportStore(db).load_into(ReportBook())


def test_every_stage_survives_a_restart(open_db: Callable[[], StateDB]) -> None:
    book = book_on(open_db())
    book.open_event("storm-1", "flood", T0, ["V01"], declared_by="cmd")
    book.submit("storm-1", "V01", "initial", parse_indicators({"affected_population": 120}), T0 + 600,
                officer="li", device_ts=T0 + 540)  # fmt: skip  # a terminal's own clock, kept beside the hub's
    book.submit("storm-1", "V01", "follow_up", None, T0 + DAY, zero=True)
    with pytest.raises(ReportError, match="not_stabilised"):  # 核报 only once the commander marked it stable
        book.submit("storm-1", "V01", "verified", parse_indicators({"affected_population": 130}), T0 + DAY + 60)
    overdue = book.advance(T0 + 3 * DAY)  # V01 misses the third day's 09:00 follow-up
    assert [(d.subject_id, d.features["stage"]) for d in overdue] == [("V01", 1.0)]
    book.submit("storm-2", "V02", "initial", parse_indicators({"trapped": 2}), T0 + 3 * DAY)  # named by a village

    again = book_on(open_db())  # a new process on the same database
    assert [r.stage for r in again.history("storm-1", "V01")] == ["initial", "follow_up"]
    first = again.history("storm-1", "V01")[0]
    assert (first.indicators.affected_population, first.officer, first.ts) == (120, "li", T0 + 600)
    assert first.device_ts == T0 + 540 and again.history("storm-1", "V01")[1].device_ts is None
    assert again.history("storm-1", "V01")[1].zero
    assert again.advance(T0 + 3 * DAY) == []  # the deadlines already checked are not raised again
    assert again.current() is not None and again.current().event_id == "storm-1"  # type: ignore[union-attr]  # checked
    assert not again.events["storm-2"].declared  # a village's report declares nothing
    again.stabilise("storm-1", T0 + 3 * DAY + 60, "cmd")

    third = book_on(open_db())
    assert third.events["storm-1"].stabilised_by == "cmd"
    kept = third.submit("storm-1", "V01", "verified", parse_indicators({"affected_population": 130}), T0 + 4 * DAY)
    assert kept.version == 3
    assert [r.stage for r in book_on(open_db()).history("storm-1", "V01")] == ["initial", "follow_up", "verified"]
    with pytest.raises(ReportError, match="already_stable"):
        third.stabilise("storm-1", T0 + 5 * DAY, "cmd")


def test_reporter_villages_are_kept(open_db: Callable[[], StateDB]) -> None:
    ReporterScopes(open_db()).grant("li", ["V02", "V01", "V01"], "admin", T0)
    assert ReporterScopes(open_db()).villages("li") == ["V01", "V02"]
    ReporterScopes(open_db()).grant("li", ["V03"], "admin", T0 + 1)
    assert ReporterScopes(open_db()).villages("li") == ["V03"]
    assert ReporterScopes(open_db()).villages("wang") == []


def test_late_villages_are_those_owing_a_report_past_its_deadline() -> None:
    book = ReportBook()
    book.open_event("e", "flood", T0, ["V01", "V02", "V03"], declared_by="cmd")
    assert book.late_now("e", T0 + 3600) == {}  # within the 2 h of the initial report
    book.submit("e", "V01", "initial", parse_indicators({"trapped": 1}), T0 + 600)
    book.submit("e", "V02", "initial", parse_indicators({"trapped": 1}), T0 + 600)
    assert book.late_now("e", T0 + 3 * 3600) == {"V03": "initial"}
    book.submit("e", "V02", "follow_up", None, T0 + DAY - 7200, zero=True)
    late = book.late_now("e", T0 + 2 * DAY)  # V01 never sent a follow-up
    assert late["V01"] == "follow_up" and late["V03"] == "initial"
    book.stabilise("e", T0 + 2 * DAY, "cmd")
    assert set(book.late_now("e", T0 + 4 * DAY + 60).values()) == {"verified", "initial"}
    book.submit("e", "V01", "verified", parse_indicators({"trapped": 1}), T0 + 4 * DAY + 120)
    assert "V01" not in book.late_now("e", T0 + 4 * DAY + 180)


def test_two_workers_raise_an_overdue_report_once(open_db: Callable[[], StateDB]) -> None:
    """Issue 14: two workers share the database, both books know the event (take_event) and both check its
    deadlines: the overdue report comes out of one of them only, whichever claims it first."""
    a, b = book_on(open_db()), book_on(open_db())
    a.open_event("storm-1", "flood", T0, ["V01", "V02"], declared_by="cmd")
    b.take_event(ReportStore(open_db()).events()[0])
    a.submit("storm-1", "V02", "initial", parse_indicators({"trapped": 1}), T0 + 600)
    b.take_report(a.history("storm-1", "V02")[0])
    from_b = b.advance(T0 + 3 * 3600)  # V01 missed its initial report (due 2 h after the start)
    from_a = a.advance(T0 + 3 * 3600)
    assert [(d.subject_id, d.features["stage"]) for d in from_b] == [("V01", 0.0)]
    assert from_a == []
    both = a.advance(T0 + 2 * DAY) + b.advance(T0 + 2 * DAY)  # the daily follow-ups: once each between the two
    raised = sorted((d.subject_id, d.ts) for d in both)
    assert len(raised) == len(set(raised)) and {v for v, _ in raised} == {"V01", "V02"}
