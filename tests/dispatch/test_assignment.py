"""Team assignment: optimal equals brute force on small cases, beats greedy on the benchmark scenario."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

from dispatch.disaster.assignment import (
    Incident,
    Team,
    assign_greedy,
    assign_greedy_priority,
    assign_optimal,
    default_unassigned_h,
    travel_h,
    travel_matrix,
)  # fmt: skip

# bench/ is not an installed package: load the benchmark's scenario from its file, one source of truth.
_SPEC = importlib.util.spec_from_file_location("bench_assignment", Path(__file__).parents[2] / "bench/assignment.py")
assert _SPEC is not None and _SPEC.loader is not None
_BENCH = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_BENCH)
scenario = _BENCH.scenario
ALL = frozenset({"medical", "water_rescue", "search", "evacuation_transport"})


def brute_force(teams: list[Team], incidents: list[Incident], wait_h: float) -> float:
    """Every way to give each incident a distinct capable team or none."""
    hours = travel_matrix(teams, incidents)
    best = np.inf
    options = [None, *range(len(teams))]
    for choice in itertools.product(options, repeat=len(incidents)):
        used = [i for i in choice if i is not None]
        if len(used) != len(set(used)):
            continue
        cost = 0.0
        for j, i in enumerate(choice):
            cost += incidents[j].priority * (wait_h if i is None else hours[i, j])
        best = min(best, cost)
    return float(best)


def brute_force_full(teams: list[Team], incidents: list[Incident]) -> float:
    """Square, all feasible: minimum over the permutations of teams."""
    hours = travel_matrix(teams, incidents)
    return min(
        sum(incidents[j].priority * hours[i, j] for j, i in enumerate(perm))
        for perm in itertools.permutations(range(len(teams)))
    )


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(("n_teams", "n_incidents"), [(3, 5), (4, 4), (5, 3)])
def test_optimal_matches_brute_force(seed: int, n_teams: int, n_incidents: int) -> None:
    teams, incidents = scenario(n_incidents, n_teams, seed)
    wait_h = default_unassigned_h(travel_matrix(teams, incidents))
    plan = assign_optimal(teams, incidents, wait_h)
    assert plan.cost == pytest.approx(brute_force(teams, incidents, wait_h), rel=1e-9)
    assert plan.cost <= assign_greedy(teams, incidents, wait_h).cost + 1e-9
    assert plan.cost <= assign_greedy_priority(teams, incidents, wait_h).cost + 1e-9
    hours = travel_matrix(teams, incidents)
    index = {t.team_id: i for i, t in enumerate(teams)} | {c.incident_id: j for j, c in enumerate(incidents)}
    assert all(np.isfinite(hours[index[t], index[c]]) for t, c in plan.pairs)  # capabilities respected


@pytest.mark.parametrize("seed", range(5))
def test_square_feasible_matches_permutations(seed: int) -> None:
    rng = np.random.default_rng(seed)
    teams = [Team(f"t{k}", *rng.uniform([30, 120], [30.4, 120.4]), ALL) for k in range(5)]
    incidents = [Incident(f"i{k}", *rng.uniform([30, 120], [30.4, 120.4]), rng.integers(1, 10)) for k in range(5)]
    plan = assign_optimal(teams, incidents, unassigned_h=100.0)
    assert len(plan.pairs) == 5 and plan.cost == pytest.approx(brute_force_full(teams, incidents))


def test_far_urgent_incident_is_not_dropped() -> None:
    team = Team("t", 30.0, 120.0, ALL)
    near = Incident("near-minor", 30.01, 120.0, priority=1)
    far = Incident("far-urgent", 30.3, 120.0, priority=10)
    plan = assign_optimal([team], [near, far])
    assert plan.pairs == (("t", "far-urgent"),) and plan.unassigned == ("near-minor",)
    assert assign_greedy([team], [near, far]).pairs == (("t", "near-minor"),)  # nearest-first drops it


def test_capabilities_and_status() -> None:
    boat = Team("boat", 30.2, 120.2, frozenset({"water_rescue"}))
    ambulance = Team("amb", 30.0, 120.0, frozenset({"medical"}))
    busy = Team("busy", 30.0, 120.0, ALL, status="on_site")
    flood = Incident("flooded-house", 30.0, 120.0, 5, frozenset({"water_rescue"}))
    plan = assign_optimal([ambulance, boat, busy], [flood])
    assert plan.pairs == (("boat", "flooded-house"),)
    nobody = assign_optimal([ambulance, busy], [flood])
    assert nobody.pairs == () and nobody.unassigned == ("flooded-house",)
    assert travel_h(boat, flood) == pytest.approx(29.41 * 1.3 / 40, rel=1e-3)  # 29.4 km great circle


def test_optimal_beats_greedy_on_benchmark_scenario() -> None:
    teams, incidents = scenario(60, 15, 6)
    wait_h = default_unassigned_h(travel_matrix(teams, incidents))
    opt = assign_optimal(teams, incidents, wait_h)
    greedy = assign_greedy(teams, incidents, wait_h)
    prio_first = assign_greedy_priority(teams, incidents, wait_h)
    assert len(opt.pairs) == 15 and len(opt.unassigned) == 45
    assert opt.cost < 0.7 * greedy.cost  # measured 406 vs 651 priority-hours
    assert opt.cost < prio_first.cost
