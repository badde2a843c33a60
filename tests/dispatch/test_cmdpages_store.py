"""Issue 14, the records behind the new pages, on SQLite and PostgreSQL: a closed event (kept, seen by another
worker, no initial report, no deadline after closing) and stock lots issued oldest-expiry-first (lots without expiry
last, expired lots never, issues recorded before lots existed taken from the oldest lots)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alerts.disaster.reports import ReportBook, ReportError, parse_indicators
from devices.statedb.sqlite import StateDB
from dispatch.disaster.relief import ReliefPlan, Shipment, Village, plan_relief
from dispatch.disaster.report_store import ReportStore
from dispatch.disaster.resource_store import ISSUE, ResourceError, ResourceStore, cst_day

T0 = 1_783_000_000.0  # 2026-07-02 21:46 CST
DAY = 86400.0


def test_a_closed_event_takes_no_initial_report_and_raises_nothing_more(open_db: Callable[[], StateDB]) -> None:
    book = ReportStore(open_db()).load_into(ReportBook())
    other = ReportStore(open_db()).load_into(ReportBook())  # a second worker on the same database
    book.open_event("rain-1", "rainstorm", T0, ["V01", "V02"], declared_by="cmd", name="七月暴雨")
    other.take_event(ReportStore(open_db()).events()[0])
    book.submit("rain-1", "V01", "initial", parse_indicators({"affected_population": 5}), T0 + 600)
    assert {d.subject_id for d in book.advance(T0 + 3 * 3600)} == {"V02"}  # open: V02 owes its initial report
    with pytest.raises(ReportError, match="unknown_event"):
        book.close("rain-9", T0, "cmd")
    closed = book.close("rain-1", T0 + 4 * 3600, "cmd", "雨停")
    assert (closed.closed_by, closed.close_note, book.current()) == ("cmd", "雨停", None)
    with pytest.raises(ReportError, match="already_closed"):
        book.close("rain-1", T0 + 5 * 3600, "cmd")
    with pytest.raises(ReportError, match="event_closed"):
        book.submit("rain-1", "V02", "initial", parse_indicators({"affected_population": 1}), T0 + 5 * 3600)
    follow = book.submit("rain-1", "V01", "follow_up", None, T0 + 5 * 3600, zero=True)  # the villages may still report
    assert follow.version == 2
    assert book.advance(T0 + 5 * DAY) == [] and book.late_now("rain-1", T0 + 5 * DAY) == {}  # 3 days of 09:00s
    for event in ReportStore(open_db()).events():
        other.take_event(event)  # the other worker sees it closed
    assert other.events["rain-1"].closed_by == "cmd" and other.current() is None
    assert all(d.ts <= T0 + 4 * 3600 for d in other.advance(T0 + 6 * DAY))  # nothing due after the closing
    again = ReportStore(open_db()).load_into(ReportBook())  # a restart
    kept = again.events["rain-1"]
    assert (kept.name, kept.closed_at, kept.close_note) == ("七月暴雨", T0 + 4 * 3600, "雨停")
    assert again.advance(T0 + 9 * DAY) == []


def stocked(db: StateDB) -> ResourceStore:
    store = ResourceStore(db)
    store.save_warehouse("WH-A", "县库", 28.10, 112.90, "keeper", T0, township="岳麓街道")
    store.receive("never", "WH-A", "tent", 5, "keeper", T0)  # no expiry: issued last
    store.receive("late", "WH-A", "tent", 5, "keeper", T0 + 1, expires="2030-01-01", signed_by="张保管")
    store.receive("soon", "WH-A", "tent", 3, "keeper", T0 + 2, expires="2026-07-05")  # expires 3 days after T0
    store.receive("old", "WH-A", "tent", 7, "keeper", T0 + 3, expires="2026-06-30")  # expired at T0
    return store


def test_lots_are_issued_oldest_expiry_first_never_expired(open_db: Callable[[], StateDB]) -> None:
    store = stocked(open_db())
    today = cst_day(T0)
    assert today == "2026-07-02"
    assert [lot.lot_id for lot in store.lots(today)] == ["old", "soon", "late", "never"]
    assert [lot.expired for lot in store.lots(today)] == [True, False, False, False]
    assert store.lots(today)[2].signed_by == "张保管" and store.lots(today)[0].signed_by == "keeper"
    assert store.stock()["WH-A"]["tent"] == 20 and store.usable(today)["WH-A"]["tent"] == 13
    (wh,) = store.warehouses(today)
    assert wh.stock == {"tent": 13}  # the planner is offered no expired tent
    assert store.warehouse_rows()[0]["township"] == "岳麓街道"
    plan = plan_relief([wh], [Village("V01", 28.11, 112.91, 40)])  # 10 tents
    store.save_plan("P1", plan, "cmd", T0)
    store.approve_plan("P1", "cmd", T0 + 60)
    taken = {e.lot: -e.quantity for e in store.ledger("WH-A") if e.kind == ISSUE}
    assert taken == {"soon": 3, "late": 5, "never": 2}
    assert {lot.lot_id: lot.remaining for lot in ResourceStore(open_db()).lots(today)} == {
        "old": 7, "soon": 0, "late": 0, "never": 3}  # fmt: skip


def test_approval_refuses_stock_that_expired_since_the_plan(open_db: Callable[[], StateDB]) -> None:
    store = stocked(open_db())
    ship = ReliefPlan((Shipment("WH-A", "V01", "tent", 12.0, 1.0),), {}, {})  # 13 valid tents when planned
    store.save_plan("P1", ship, "cmd", T0)
    with pytest.raises(ResourceError, match="not expired"):  # on 2026-07-06 the 3 "soon" tents are out of date: 10
        store.approve_plan("P1", "cmd", T0 + 4 * DAY)
    assert [e for e in store.ledger("WH-A") if e.kind == ISSUE] == []
    assert store.plan("P1").plan.status == "draft"


def test_issues_recorded_before_lots_come_from_the_oldest_lots(open_db: Callable[[], StateDB]) -> None:
    db = open_db()
    store = stocked(db)
    db.execute("INSERT INTO relief_ledger (entry_id, warehouse_id, item, quantity, kind, expires, ref, actor, ts, note)"
               " VALUES ('P0:0', 'WH-A', 'tent', -9, 'issue', '', 'P0', 'cmd', ?, 'V01')", [T0 + 10])  # fmt: skip
    left = {lot.lot_id: lot.remaining for lot in store.lots(cst_day(T0))}
    assert left == {"old": 0, "soon": 1, "late": 5, "never": 5}  # FEFO over every lot, as it was then
    assert sum(left.values()) == store.stock()["WH-A"]["tent"]
