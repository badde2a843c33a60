"""Relief allocation: needs from relocated people, stock limits, equal shares when short, approval."""

from __future__ import annotations

import pytest

from dispatch.disaster.relief import Village, Warehouse, approve, needs, plan_relief, remaining_stock

NEAR_A = Warehouse("wh-a", 30.00, 120.00, {"water_l": 10_000.0, "food_kg": 300.0, "blanket": 50.0})
NEAR_B = Warehouse("wh-b", 30.30, 120.30, {"water_l": 10_000.0, "food_kg": 1000.0, "blanket": 30.0})
VILLAGES = [Village("v1", 30.01, 120.01, 100), Village("v2", 30.29, 120.29, 50), Village("v3", 30.15, 120.15, 7)]


def test_needs_per_person() -> None:
    need = needs(VILLAGES, days=2)
    assert need["water_l"]["v1"] == 600 and need["food_kg"]["v2"] == 50 and need["blanket"]["v3"] == 7


def test_plenty_goes_from_the_nearest_warehouse() -> None:
    plan = plan_relief([NEAR_A, NEAR_B], VILLAGES, days=3)
    water = {(s.warehouse_id, s.village_id): s.quantity for s in plan.shipments if s.item == "water_l"}
    assert water[("wh-a", "v1")] == pytest.approx(900) and water[("wh-b", "v2")] == pytest.approx(450)
    assert plan.fill["water_l"] == 1.0 and plan.delivered("water_l")["v3"] == pytest.approx(63)
    assert plan.status == "draft"


def test_short_stock_is_shared_in_proportion_and_within_limits() -> None:
    plan = plan_relief([NEAR_A, NEAR_B], VILLAGES, days=3)
    # food: need 1.5 kg x 157 = 235.5 kg; plenty. blankets: need 157, stock 80 -> 51 % each, whole units.
    blankets = plan.delivered("blanket")
    assert sum(blankets.values()) == 80 and all(q == int(q) for q in blankets.values())
    assert blankets == {"v1": 51, "v2": 25, "v3": 4}  # 50.96, 25.48, 3.57 by largest remainder
    assert plan.fill["blanket"] == pytest.approx(80 / 157)
    shipped = {w: sum(s.quantity for s in plan.shipments if s.item == "blanket" and s.warehouse_id == w)
               for w in ("wh-a", "wh-b")}  # fmt: skip
    assert shipped == {"wh-a": 50, "wh-b": 30}
    many = [Village("v1", 30.01, 120.01, 3000), Village("v2", 30.29, 120.29, 1000)]
    food = plan_relief([NEAR_A, NEAR_B], many, days=1).delivered("food_kg")
    assert food["v1"] / 1500 == pytest.approx(food["v2"] / 500) == pytest.approx(1300 / 2000)


def test_approve_then_stock_moves() -> None:
    plan = plan_relief([NEAR_A, NEAR_B], VILLAGES, days=3)
    with pytest.raises(ValueError, match="approved"):
        remaining_stock(plan, [NEAR_A, NEAR_B])
    ok = approve(plan, "commander-wang", 1_783_000_000.0)
    assert ok.status == "approved" and ok.approved_by == "commander-wang" and plan.status == "draft"
    with pytest.raises(ValueError, match="not a draft"):
        approve(ok, "someone", 1_783_000_001.0)
    left = {w.warehouse_id: w.stock for w in remaining_stock(ok, [NEAR_A, NEAR_B])}
    assert left["wh-a"]["blanket"] == 0 and left["wh-b"]["blanket"] == 0
    assert left["wh-a"]["water_l"] + left["wh-b"]["water_l"] == pytest.approx(20_000 - 3 * 3 * 157)


def test_nobody_relocated_means_no_shipments() -> None:
    plan = plan_relief([NEAR_A], [Village("v1", 30.0, 120.0, 0)])
    assert plan.shipments == () and plan.fill == {"water_l": 1.0, "food_kg": 1.0, "blanket": 1.0}
