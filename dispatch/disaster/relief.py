"""Relief supplies (issue 6): warehouse stocks to villages by need, as a plan the commander approves.

Need = relocated people x per-person need (water and food per day for `days`, blankets once). Per item, a
transportation linear program (scipy.optimize.linprog, HiGHS dual simplex) minimises km x quantity shipped,
subject to warehouse stocks and every village getting the same share of its need when stocks are short.
Count items (blankets) get whole-number targets by largest remainder; the LP's vertex solution then ships
whole units too (a transportation problem with integer data has integral vertices).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linprog

from devices.geo import haversine_km

# item -> (quantity per person, per day?, counted in whole units?); after Sphere minimums and the county relief
# catalogue (issue 14): water and instant food per day, a quilt and a folding bed each, a tent per family of four,
# an emergency lamp per family, a medicine kit per ten people, a life jacket per five (boats to and from the site)
NEEDS: dict[str, tuple[float, bool, bool]] = {
    "water_l": (3.0, True, False),  # 饮用水, litres
    "food_kg": (0.5, True, False),  # 方便食品, kg
    "blanket": (1.0, False, True),  # 棉被
    "tent": (0.25, False, True),  # 帐篷
    "cot": (1.0, False, True),  # 折叠床
    "lamp": (0.25, False, True),  # 应急灯
    "med_kit": (0.1, False, True),  # 药品包
    "life_jacket": (0.2, False, True),  # 救生衣
}
# item -> unit (a catalogue key `resources.unit.*`); the item's name is `resources.item.<item>`
UNITS: dict[str, str] = {"water_l": "litre", "food_kg": "kg", "blanket": "piece", "tent": "tent", "cot": "bed",
                         "lamp": "piece", "med_kit": "kit", "life_jacket": "piece"}


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A store of relief supplies."""

    warehouse_id: str
    lat: float
    lon: float
    stock: dict[str, float]


@dataclass(frozen=True, slots=True)
class Village:
    """A village and the people relocated there (from the evacuation tasks or the reports)."""

    village_id: str
    lat: float
    lon: float
    relocated: int


@dataclass(frozen=True, slots=True)
class Shipment:
    """One line of the plan."""

    warehouse_id: str
    village_id: str
    item: str
    quantity: float
    distance_km: float


@dataclass(frozen=True, slots=True)
class ReliefPlan:
    """A proposed allocation; `status` becomes "approved" only through approve()."""

    shipments: tuple[Shipment, ...]
    need: dict[str, dict[str, float]]  # item -> village -> quantity needed
    fill: dict[str, float]  # item -> share of need met (1.0 = all)
    status: str = "draft"
    approved_by: str = ""
    approved_at: float | None = None

    def delivered(self, item: str) -> dict[str, float]:
        """Quantity of one item planned per village."""
        out: dict[str, float] = {}
        for s in self.shipments:
            if s.item == item:
                out[s.village_id] = out.get(s.village_id, 0.0) + s.quantity
        return out


def needs(villages: list[Village], days: float) -> dict[str, dict[str, float]]:
    """Item -> village -> quantity for `days` of relocation."""
    return {
        item: {v.village_id: v.relocated * qty * (days if daily else 1.0) for v in villages}
        for item, (qty, daily, _) in NEEDS.items()
    }


def _targets(need: np.ndarray, available: float, whole: bool) -> np.ndarray:
    """Equal share of need for every village; whole units by largest remainder for count items."""
    total = float(need.sum())
    share = need * min(1.0, available / total) if total > 0 else need * 0.0
    if not whole:
        return share
    base = np.floor(share + 1e-9)
    left = round(min(available, total) - base.sum())
    order = np.argsort(-(share - base), kind="stable")[: max(left, 0)]
    base[order] += 1
    return base


def _solve_item(dist: np.ndarray, stock: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Minimum km x quantity shipping that delivers `target` from `stock` (warehouses x villages)."""
    n_w, n_v = dist.shape
    a_ub = np.kron(np.eye(n_w), np.ones(n_v))  # each warehouse ships at most its stock
    a_eq = np.kron(np.ones(n_w), np.eye(n_v))  # each village receives its target
    res = linprog(dist.ravel(), A_ub=a_ub, b_ub=stock, A_eq=a_eq, b_eq=target, bounds=(0, None), method="highs-ds")
    if not res.success:
        raise RuntimeError(f"relief LP failed: {res.message}")
    return res.x.reshape(n_w, n_v)


def plan_relief(warehouses: list[Warehouse], villages: list[Village], days: float = 3.0) -> ReliefPlan:
    """A draft allocation of every item in NEEDS."""
    dist = np.array([[haversine_km(w.lat, w.lon, v.lat, v.lon) for v in villages] for w in warehouses])
    need = needs(villages, days)
    shipments: list[Shipment] = []
    fill: dict[str, float] = {}
    for item, (_, _, whole) in NEEDS.items():
        want = np.array([need[item][v.village_id] for v in villages])
        stock = np.array([w.stock.get(item, 0.0) for w in warehouses])
        target = _targets(want, float(stock.sum()), whole)
        fill[item] = float(target.sum() / want.sum()) if want.sum() > 0 else 1.0
        if not any(item in w.stock for w in warehouses):
            fill.pop(item)  # no warehouse stocks it at all: not part of this plan
        if not villages or not warehouses or target.sum() <= 0:
            continue
        qty = _solve_item(dist, stock, target)
        for (i, j), q in np.ndenumerate(qty):
            if q > 1e-6:
                q = float(round(q)) if whole else float(q)
                km = float(dist[i, j])
                shipments.append(Shipment(warehouses[i].warehouse_id, villages[j].village_id, item, q, km))
    return ReliefPlan(tuple(shipments), need, fill)


def approve(plan: ReliefPlan, approver: str, ts: float) -> ReliefPlan:
    """The commander's approval; an approved plan cannot be approved again."""
    if plan.status != "draft":
        raise ValueError(f"plan is {plan.status}, not a draft")
    return replace(plan, status="approved", approved_by=approver, approved_at=ts)


def remaining_stock(plan: ReliefPlan, warehouses: list[Warehouse]) -> list[Warehouse]:
    """Warehouses after an approved plan's shipments leave."""
    if plan.status != "approved":
        raise ValueError("only an approved plan moves stock")
    out = []
    for w in warehouses:
        stock = dict(w.stock)
        for s in plan.shipments:
            if s.warehouse_id == w.warehouse_id:
                stock[s.item] = stock.get(s.item, 0.0) - s.quantity
        out.append(replace(w, stock={k: (0.0 if math.isclose(v, 0, abs_tol=1e-6) else v) for k, v in stock.items()}))
    return out


def for_villages(plan: ReliefPlan, keep: frozenset[str]) -> ReliefPlan | None:
    """The part of a plan about the villages in `keep` (an account limited to some townships): their shipments and
    needs, and each item's share of their need met; None when the plan concerns none of them."""
    need = {item: {v: q for v, q in per.items() if v in keep} for item, per in plan.need.items()}
    shipments = tuple(s for s in plan.shipments if s.village_id in keep)
    if not shipments and not any(need.values()):
        return None
    fill = {}
    for item in plan.fill:
        want = sum(need.get(item, {}).values())
        fill[item] = min(1.0, sum(s.quantity for s in shipments if s.item == item) / want) if want > 0 else 1.0
    return replace(plan, shipments=shipments, need=need, fill=fill)
