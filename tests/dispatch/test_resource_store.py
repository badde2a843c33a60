"""Issue 14 (items 3 and 6): teams, warehouse ledgers and relief plans live in the state database (SQLite and
PostgreSQL): the ledger balances, an approval issues stock once even when taken twice or by two workers, a receipt is
confirmed per village, and a reopened database has it all."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devices.statedb.sqlite import StateDB
from dispatch.disaster.assignment import Team
from dispatch.disaster.relief import Village, plan_relief
from dispatch.disaster.resource_store import ISSUE, RECEIPT, ResourceError, ResourceStore

T0 = 1_780_000_000.0


def stocked(db: StateDB) -> ResourceStore:
    store = ResourceStore(db)
    store.save_warehouse("WH-A", "县救灾物资储备库", 28.10, 112.90, "keeper", T0)
    store.save_warehouse("WH-B", "北部中转库", 28.30, 112.90, "keeper", T0)
    assert store.receive("r1", "WH-A", "tent", 40, "王仓管", T0, expires="2030-06-30")
    assert store.receive("r2", "WH-A", "water_l", 2000, "王仓管", T0 + 1, expires="2027-03-01")
    assert store.receive("r3", "WH-B", "tent", 10, "李仓管", T0 + 2)
    assert store.receive("r4", "WH-A", "water_l", 500, "王仓管", T0 + 3, expires="2026-12-31")
    assert not store.receive("r4", "WH-A", "water_l", 500, "王仓管", T0 + 3)  # the same receipt twice counts once
    return store


def test_ledger_balances_and_approval_issues_stock_once(open_db: Callable[[], StateDB]) -> None:
    a, b = stocked(open_db()), ResourceStore(open_db())  # b: a second worker on the same database
    assert a.stock() == {"WH-A": {"tent": 40, "water_l": 2500}, "WH-B": {"tent": 10}}
    assert a.earliest_expiry()["WH-A"]["water_l"] == "2026-12-31"
    villages = [Village("V01", 28.12, 112.91, 60), Village("V02", 28.28, 112.91, 20)]
    draft = plan_relief(a.warehouses(), villages, days=3)
    a.save_plan("P1", draft, "指挥长", T0 + 10)
    with pytest.raises(ResourceError):
        a.confirm_receipt("P1", "V01", "officer", T0 + 11)  # not approved yet: nothing was sent
    approved = a.approve_plan("P1", "指挥长", T0 + 20)
    assert approved.plan.status == "approved" and approved.plan.approved_by == "指挥长"
    with pytest.raises(ResourceError):
        b.approve_plan("P1", "副指挥长", T0 + 21)  # the other worker's click comes too late
    shipped_tents = sum(s.quantity for s in draft.shipments if s.item == "tent")
    assert shipped_tents == 20  # 80 people, one tent per four
    stock = b.stock()
    assert stock["WH-A"]["tent"] + stock["WH-B"]["tent"] == 50 - 20
    assert stock["WH-A"]["water_l"] == pytest.approx(2500 - 3 * 3 * 80)
    issues = [e for e in b.ledger() if e.kind == ISSUE]
    assert all(e.actor == "指挥长" and e.ref == "P1" and e.lot for e in issues)
    for n, line in enumerate(draft.shipments):  # each line issued in full, from one lot or more (FEFO)
        assert -sum(e.quantity for e in issues if e.entry_id.startswith(f"P1:{n}:")) == pytest.approx(line.quantity)
    water = sorted((e for e in issues if e.item == "water_l"), key=lambda e: e.entry_id)
    assert water[0].lot == "r4" and water[0].quantity == -500  # the lot expiring 2026-12-31 goes first, whole
    assert {e.lot for e in water[1:]} == {"r2"}  # then the one of 2027-03-01
    assert sum(e.quantity for e in b.ledger("WH-A")) == pytest.approx(sum(b.stock()["WH-A"].values()))
    assert [e.actor for e in b.ledger("WH-B") if e.kind == RECEIPT] == ["李仓管"]
    got = b.confirm_receipt("P1", "V02", "村信息员", T0 + 30)
    assert got.receipts == {"V02": ("村信息员", T0 + 30)}
    with pytest.raises(ResourceError):
        b.confirm_receipt("P1", "V99", "村信息员", T0 + 31)
    again = ResourceStore(open_db())  # a restarted hub reads the same
    assert again.stock() == stock and again.plan("P1").receipts == got.receipts
    assert again.plan("P1").plan.shipments == draft.shipments


def test_a_plan_shipping_more_than_is_left_is_refused(open_db: Callable[[], StateDB]) -> None:
    store = stocked(open_db())
    villages = [Village("V01", 28.12, 112.91, 200)]
    store.save_plan("P1", plan_relief(store.warehouses(), villages), "cmd", T0 + 10)
    store.save_plan("P2", plan_relief(store.warehouses(), villages), "cmd", T0 + 11)
    assert store.plan("P1").plan.status == "superseded"
    with pytest.raises(ResourceError):
        store.approve_plan("P1", "cmd", T0 + 12)
    store.approve_plan("P2", "cmd", T0 + 13)
    assert store.stock()["WH-A"]["tent"] == 0 and store.stock()["WH-B"]["tent"] == 0


def test_team_moves_are_recorded_with_who_and_when(open_db: Callable[[], StateDB]) -> None:
    store = ResourceStore(open_db())
    store.save_team(Team("T1", 28.1, 112.9, frozenset({"water_rescue"}), name="水上救援一队"), "指挥长", T0)
    with pytest.raises(ResourceError):
        store.save_team(Team("T1", 28.1, 112.9, frozenset()), "指挥长", T0 + 1)
    with pytest.raises(ResourceError):
        store.move_team("T1", "on_scene", "x", T0 + 1)  # not sent yet
    store.move_team("T1", "en_route", "指挥长", T0 + 2, incident="V01")
    store.move_team("T1", "on_scene", "队长", T0 + 3)
    done = store.move_team("T1", "done", "队长", T0 + 4)
    assert (done.team.status, done.incident, done.updated_by) == ("done", "V01", "队长")
    again = ResourceStore(open_db())
    assert [(r["status"], r["actor"]) for r in again.team_log("T1")] == [
        ("done", "队长"), ("on_scene", "队长"), ("en_route", "指挥长"), ("available", "指挥长")]
    assert again.team("T1").team.capabilities == {"water_rescue"} and again.team("T1").team.name == "水上救援一队"
