"""Rescue teams to incidents (issue 6): optimal priority-weighted travel time, and a greedy baseline.

Travel time = haversine distance x road factor / road speed. Cost of a pair = priority x travel time (h); an
incident left without a team costs priority x `unassigned_h` (the wait for the next free team), so with more
incidents than teams the solver keeps the urgent ones even when they are far, instead of dropping the most
expensive. A team lacking a required capability cannot take the incident. Solved exactly as a rectangular
assignment (scipy.optimize.linear_sum_assignment) over teams + one "no team" column per incident.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from devices.geo import haversine_km

ROAD_FACTOR = 1.3  # road distance / great-circle distance in hilly county roads
SPEED_KMH = 40.0
CAPABILITIES = frozenset({"medical", "water_rescue", "search", "evacuation_transport"})
BLOCKED = 1e9  # finite stand-in for "impossible" (linear_sum_assignment rejects all-infinite rows)


@dataclass(frozen=True, slots=True)
class Team:
    """A rescue team: where it is, what it can do, whether it can be sent."""

    team_id: str
    lat: float
    lon: float
    capabilities: frozenset[str]
    status: str = "available"  # available / en_route / on_site / off_duty
    name: str = ""  # issue 18: what people call it (岳麓区水上救援一队); the id when empty


@dataclass(frozen=True, slots=True)
class Incident:
    """Somewhere a team is needed; priority > 0 (e.g. people at risk x severity)."""

    incident_id: str
    lat: float
    lon: float
    priority: float
    requires: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Plan:
    """Pairs chosen, incidents left waiting, and the objective they reach."""

    pairs: tuple[tuple[str, str], ...]  # (team_id, incident_id)
    unassigned: tuple[str, ...]
    cost: float  # sum priority x travel h (+ priority x unassigned_h for those waiting)
    waiting_cost: float = 0.0  # the part of `cost` due to incidents left waiting


def travel_h(team: Team, inc: Incident, speed_kmh: float = SPEED_KMH, road_factor: float = ROAD_FACTOR) -> float:
    """Road travel time in hours."""
    return haversine_km(team.lat, team.lon, inc.lat, inc.lon) * road_factor / speed_kmh


def travel_matrix(teams: list[Team], incidents: list[Incident]) -> np.ndarray:
    """Hours, teams x incidents; inf where the team lacks a required capability."""
    out = np.full((len(teams), len(incidents)), np.inf)
    for i, t in enumerate(teams):
        for j, inc in enumerate(incidents):
            if inc.requires <= t.capabilities:
                out[i, j] = travel_h(t, inc)
    return out


def default_unassigned_h(hours: np.ndarray) -> float:
    """Wait assumed for an incident without a team: twice the longest feasible trip, at least 1 h."""
    finite = hours[np.isfinite(hours)]
    return max(1.0, 2.0 * float(finite.max())) if finite.size else 1.0


def plan_cost(pairs: list[tuple[int, int]], hours: np.ndarray, prio: np.ndarray, wait_h: float) -> tuple[float, float]:
    """Objective of index pairs (team, incident) and its waiting part."""
    served = {j for _, j in pairs}
    travel = sum(prio[j] * hours[i, j] for i, j in pairs)
    waiting = sum(prio[j] * wait_h for j in range(len(prio)) if j not in served)
    return float(travel + waiting), float(waiting)


def _plan(
    pairs: list[tuple[int, int]], teams: list[Team], incidents: list[Incident], cost: tuple[float, float]
) -> Plan:
    served = {j for _, j in pairs}
    ids = tuple(sorted((teams[i].team_id, incidents[j].incident_id) for i, j in pairs))
    waiting = tuple(inc.incident_id for j, inc in enumerate(incidents) if j not in served)
    return Plan(ids, waiting, *cost)


def assign_optimal(teams: list[Team], incidents: list[Incident], unassigned_h: float | None = None) -> Plan:
    """Exact minimum of sum priority x travel time, with the waiting cost for incidents left over."""
    teams = [t for t in teams if t.status == "available"]
    hours = travel_matrix(teams, incidents)
    prio = np.array([inc.priority for inc in incidents], dtype=float)
    wait_h = default_unassigned_h(hours) if unassigned_h is None else unassigned_h
    n_t, n_i = len(teams), len(incidents)
    # Rows: incidents. Columns: teams, then one private "no team" column per incident.
    cost = np.full((n_i, n_t + n_i), BLOCKED)
    cost[:, :n_t] = np.where(np.isfinite(hours.T), prio[:, None] * hours.T, BLOCKED)
    cost[np.arange(n_i), n_t + np.arange(n_i)] = prio * wait_h
    rows, cols = linear_sum_assignment(cost)
    pairs = [(int(c), int(r)) for r, c in zip(rows, cols, strict=True) if c < n_t and cost[r, c] < BLOCKED]
    return _plan(pairs, teams, incidents, plan_cost(pairs, hours, prio, wait_h))


def assign_greedy(teams: list[Team], incidents: list[Incident], unassigned_h: float | None = None) -> Plan:
    """Baseline: repeatedly send the nearest free capable team to its nearest open incident."""
    teams = [t for t in teams if t.status == "available"]
    hours = travel_matrix(teams, incidents)
    prio = np.array([inc.priority for inc in incidents], dtype=float)
    wait_h = default_unassigned_h(hours) if unassigned_h is None else unassigned_h
    work = hours.copy()
    pairs: list[tuple[int, int]] = []
    while work.size and np.isfinite(work).any():
        i, j = np.unravel_index(int(np.argmin(work)), work.shape)
        pairs.append((int(i), int(j)))
        work[i, :] = np.inf
        work[:, j] = np.inf
    return _plan(pairs, teams, incidents, plan_cost(pairs, hours, prio, wait_h))


def assign_greedy_priority(teams: list[Team], incidents: list[Incident], unassigned_h: float | None = None) -> Plan:
    """Stronger baseline: incidents by descending priority, each taking the nearest free capable team."""
    teams = [t for t in teams if t.status == "available"]
    hours = travel_matrix(teams, incidents)
    prio = np.array([inc.priority for inc in incidents], dtype=float)
    wait_h = default_unassigned_h(hours) if unassigned_h is None else unassigned_h
    free = np.ones(len(teams), dtype=bool)
    pairs: list[tuple[int, int]] = []
    for j in sorted(range(len(incidents)), key=lambda j: -prio[j]):
        options = np.where(free & np.isfinite(hours[:, j]), hours[:, j], np.inf)
        if options.size and np.isfinite(options).any():
            i = int(np.argmin(options))
            free[i] = False
            pairs.append((i, j))
    return _plan(pairs, teams, incidents, plan_cost(pairs, hours, prio, wait_h))


def restricted(plan: Plan, teams: list[Team], incidents: list[Incident], keep: frozenset[str]) -> Plan:
    """The part of `plan` about the incidents in `keep` (an account limited to some townships): their pairs, those
    of them left waiting, and their share of the objective, priced as `assign_optimal` priced them (the teams'
    travel times, and the default wait for one left without a team). With every incident kept it is `plan`."""
    available = [t for t in teams if t.status == "available"]
    wait_h = default_unassigned_h(travel_matrix(available, incidents))
    by_team, by_incident = {t.team_id: t for t in teams}, {i.incident_id: i for i in incidents}
    pairs = tuple((t, i) for t, i in plan.pairs if i in keep)
    waiting = tuple(i for i in plan.unassigned if i in keep)
    travel = sum(by_incident[i].priority * travel_h(by_team[t], by_incident[i]) for t, i in pairs
                 if t in by_team and i in by_incident)  # fmt: skip
    waited = sum(by_incident[i].priority * wait_h for i in waiting if i in by_incident)
    return Plan(pairs, waiting, float(travel + waited), float(waited))
