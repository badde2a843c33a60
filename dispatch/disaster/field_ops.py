"""Rescue teams and relief supplies for the running command centre (issue 6): state around the pure solvers.

Incidents are the areas under an orange or red warning, weighted by level and by the people trapped or missing in
the village's latest report; teams go to them by `assign_optimal`. Relief needs come from the relocated counts
(evacuation tasks, or the reports when larger); `plan_relief` proposes, the commander approves.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from alerts.disaster.warnings import WarningLevel
from dispatch.disaster.assignment import Incident, Plan, Team, assign_optimal
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.relief import ReliefPlan, Village, Warehouse, approve, plan_relief


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

    def add_team(self, team: Team) -> None:
        """Register or replace a team."""
        self.teams[team.team_id] = team

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """Register or replace a warehouse."""
        self.warehouses[warehouse.warehouse_id] = warehouse

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

    def assign(self) -> Plan:
        """Send the available teams to the incidents (exact optimum) and mark them en route."""
        self.plan = assign_optimal(list(self.teams.values()), self.incidents())
        for team_id, incident_id in self.plan.pairs:
            self.assigned[team_id] = incident_id
            self.teams[team_id] = replace(self.teams[team_id], status="en_route")
        return self.plan

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
        self.relief = plan_relief(list(self.warehouses.values()), villages, days)
        return self.relief

    def approve_relief(self, approver: str, ts: float) -> ReliefPlan:
        """The commander's approval of the current draft; ValueError without one."""
        if self.relief is None:
            raise ValueError("no relief plan to approve")
        self.relief = approve(self.relief, approver, ts)
        return self.relief
