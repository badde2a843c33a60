"""Rescue teams and relief supplies for the running command centre (issue 6): state around the pure solvers.

Incidents are the areas under an orange or red warning, weighted by level and by the people trapped or missing in
the village's latest report; teams go to them by `assign_optimal`. Relief needs come from the relocated counts
(evacuation tasks, or the reports when larger); `plan_relief` proposes, the commander approves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from alerts.disaster.warnings import WarningLevel
from dispatch.disaster.assignment import Incident, Plan, Team, assign_greedy, assign_optimal
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.relief import ReliefPlan, Village, Warehouse, approve, plan_relief
from dispatch.disaster.resource_store import AVAILABLE, DRAFT, EN_ROUTE, ResourceStore, StoredPlan, TeamRecord

# issue 14: the hub's message to a team's device on `teams/<team_id>/assignment` (None: no mission, clear it)
SendAssignment = Callable[[str, dict[str, Any] | None], None]


def latest_counts(centre: CommandCentre, key: str) -> dict[str, int]:
    """One indicator of the newest event's latest report, per village."""
    if not centre.book.events:
        return {}
    event_id = next(reversed(centre.book.events))
    return {v: int(getattr(r.indicators, key)) for v, r in centre.book.latest(event_id).items()}


@dataclass
class FieldOps:
    """Teams, their assignments and the relief plan."""

    centre: CommandCentre
    teams: dict[str, Team] = field(default_factory=dict)
    warehouses: dict[str, Warehouse] = field(default_factory=dict)
    assigned: dict[str, str] = field(default_factory=dict)  # team -> incident (area)
    plan: Plan | None = None
    relief: ReliefPlan | None = None
    tile_url: str = ""  # the map's base layer; empty: the scenario's own GeoJSON layers
    store: ResourceStore | None = None  # issue 14: teams, stock and plans in the state database
    relief_id: str = ""  # the recorded plan `relief` is
    send_assignment: SendAssignment | None = None  # issue 14: teams' devices hear their missions over MQTT

    def refresh(self) -> None:
        """Teams, warehouses and the newest plan as recorded (by this worker or another, before a restart)."""
        if self.store is None:
            return
        records = self.store.teams()
        self.teams = {r.team.team_id: r.team for r in records}
        self.assigned = {r.team.team_id: r.incident for r in records if r.incident}
        self.warehouses = {w.warehouse_id: w for w in self.store.warehouses()}
        plans = self.store.plans(limit=1)
        self.relief, self.relief_id = (plans[0].plan, plans[0].plan_id) if plans else (None, "")

    def add_team(self, team: Team, actor: str = "", ts: float = 0.0) -> None:
        """Register a team (recorded when there is a store: ResourceError if the id is taken)."""
        if self.store is not None:
            self.store.save_team(team, actor, ts)
        self.teams[team.team_id] = team

    def add_warehouse(self, warehouse: Warehouse, actor: str = "", ts: float = 0.0, name: str = "",
                      expires: dict[str, str] | None = None, township: str = "") -> None:  # fmt: skip
        """Register a warehouse with its opening stock. With a store the stock is signed into the ledger as one
        receipt (lot) per item (once: a second registration of the same id adds nothing)."""
        if self.store is None:
            self.warehouses[warehouse.warehouse_id] = warehouse
            return
        self.store.save_warehouse(warehouse.warehouse_id, name or warehouse.warehouse_id, warehouse.lat,
                                  warehouse.lon, actor, ts, township)  # fmt: skip
        for item, qty in sorted(warehouse.stock.items()):
            if qty > 0:
                self.store.receive(f"{warehouse.warehouse_id}:{item}:opening", warehouse.warehouse_id, item, qty,
                                   actor, ts, (expires or {}).get(item, ""), "opening")  # fmt: skip
        self.refresh()

    def incidents(self) -> list[Incident]:
        """Areas under orange or red, most people at risk weighing most."""
        trapped, missing = latest_counts(self.centre, "trapped"), latest_counts(self.centre, "missing")
        out = []
        for area, level in sorted(self.centre.warnings.levels().items()):
            village = self.centre.villages.get(area)
            if village is None or level < WarningLevel.ORANGE:
                continue
            prio = float(level) + trapped.get(area, 0) + missing.get(area, 0)
            out.append(Incident(area, village.lat, village.lon, prio))
        return out

    def propose(self) -> tuple[Plan, Plan]:
        """The optimal assignment of the available teams and, beside it, the greedy one (nothing is moved)."""
        self.refresh()
        teams, incidents = list(self.teams.values()), self.incidents()
        return assign_optimal(teams, incidents), assign_greedy(teams, incidents)

    def assign(self, actor: str = "", ts: float = 0.0, pairs: tuple[tuple[str, str], ...] | None = None) -> Plan:
        """Send the available teams to the incidents (exact optimum, or the `pairs` a commander confirmed) and
        mark them en route (recorded, with who and when, when there is a store)."""
        self.refresh()
        self.plan = assign_optimal(list(self.teams.values()), self.incidents())
        if pairs is not None:
            self.plan = Plan(tuple(pairs), self.plan.unassigned, self.plan.cost, self.plan.waiting_cost)
        for team_id, incident_id in self.plan.pairs:
            if self.store is not None:
                self.announce(self.store.move_team(team_id, EN_ROUTE, actor, ts, incident=incident_id))
            self.assigned[team_id] = incident_id
            self.teams[team_id] = replace(self.teams[team_id], status=EN_ROUTE)
        return self.plan

    def move_team(self, team_id: str, status: str, actor: str, ts: float) -> TeamRecord:
        """A team moved on (the page, relaying its radio, or the team's own device): recorded, and a team back at
        base has its assignment cleared from its topic. KeyError / ResourceError as the store raises them."""
        if self.store is None:
            raise ValueError("no state database for teams")
        record = self.store.move_team(team_id, status, actor, ts)
        self.announce(record)
        self.refresh()
        return record

    def announce(self, record: TeamRecord) -> None:
        """Tell the team's device its mission (retained on `teams/<id>/assignment`), or that it has none."""
        if self.send_assignment is None:
            return
        if record.team.status == AVAILABLE or not record.assignment:
            self.send_assignment(record.team.team_id, None)
            return
        village = self.centre.villages.get(record.incident)
        body: dict[str, Any] = {"assignment_id": record.assignment, "team_id": record.team.team_id,
                                "incident": record.incident, "village": village.name if village else "",
                                "lat": village.lat if village else None, "lon": village.lon if village else None,
                                "status": record.team.status, "ts": record.updated_at}  # fmt: skip
        self.send_assignment(record.team.team_id, body)

    def relocated(self) -> dict[str, int]:
        """Relocated people per village: evacuation tasks, or the reports when they count more."""
        counts = self.centre.tasks.relocated_by_village()
        for village, n in latest_counts(self.centre, "emergency_relocated").items():
            counts[village] = max(counts.get(village, 0), n)
        return counts

    def propose_relief(self, days: float = 3.0) -> ReliefPlan:
        """A draft plan of supplies for the relocated (replaces an earlier draft)."""
        villages = [
            Village(v, self.centre.villages[v].lat, self.centre.villages[v].lon, n)
            for v, n in sorted(self.relocated().items())
            if v in self.centre.villages and n > 0
        ]
        self.refresh()
        self.relief = plan_relief(list(self.warehouses.values()), villages, days)
        return self.relief

    def record_relief(self, actor: str, ts: float, days: float = 3.0) -> StoredPlan:
        """Propose and record a draft plan (the store is required)."""
        if self.store is None:
            raise ValueError("no state database for relief plans")
        plan = self.propose_relief(days)
        stored = self.store.save_plan(f"RP-{uuid.uuid4().hex[:10]}", plan, actor, ts)
        self.relief_id = stored.plan_id
        return stored

    def approve_relief(self, approver: str, ts: float, plan_id: str = "") -> ReliefPlan:
        """The commander's approval of the current draft (or of `plan_id`); ValueError without one. With a store
        the stock leaves the warehouses' ledgers."""
        if self.store is not None:
            self.refresh()
            target = plan_id or (self.relief_id if self.relief and self.relief.status == DRAFT else "")
            if not target:
                raise ValueError("no relief plan to approve")
            self.relief = self.store.approve_plan(target, approver, ts).plan
            self.refresh()
            return self.relief
        if self.relief is None:
            raise ValueError("no relief plan to approve")
        self.relief = approve(self.relief, approver, ts)
        return self.relief
