"""Benchmark: optimal team assignment vs greedy nearest-first on a seeded storm scenario (issue 6).

Run: .venv/bin/python -m bench.assignment [--incidents 60] [--teams 15] [--seed 6] [--repeat 5]
Prints one line per method, then a JSON summary as the last line.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

from dispatch.disaster.assignment import (
    Incident,
    Plan,
    Team,
    assign_greedy,
    assign_greedy_priority,
    assign_optimal,
    default_unassigned_h,
    travel_matrix,
)

CENTRE = (30.25, 120.15)  # a county seat; incidents within about +-25 km
SPAN_DEG = 0.45
NEEDS = ("medical", "water_rescue", "search", "evacuation_transport")


def scenario(n_incidents: int = 60, n_teams: int = 15, seed: int = 6) -> tuple[list[Team], list[Incident]]:
    """Seeded teams (1-3 capabilities, clustered near towns) and incidents (priority 1-10, 0-1 need)."""
    rng = np.random.default_rng(seed)
    towns = CENTRE + (rng.random((4, 2)) - 0.5) * SPAN_DEG
    teams = []
    for k in range(n_teams):
        lat, lon = towns[k % len(towns)] + rng.normal(0, 0.02, 2)
        caps = frozenset(rng.choice(NEEDS, size=int(rng.integers(1, 4)), replace=False).tolist())
        teams.append(Team(f"team-{k:02d}", float(lat), float(lon), caps))
    incidents = []
    for k in range(n_incidents):
        lat, lon = CENTRE + (rng.random(2) - 0.5) * SPAN_DEG
        need = frozenset([str(rng.choice(NEEDS))]) if rng.random() < 0.5 else frozenset()
        prio = float(rng.choice([1, 1, 2, 3, 5, 8, 10]))
        incidents.append(Incident(f"inc-{k:02d}", float(lat), float(lon), prio, need))
    return teams, incidents


def timed(fn: Callable[..., Plan], teams: list[Team], incidents: list[Incident], wait_h: float, repeat: int):
    """Best-of-`repeat` wall time in ms and the plan."""
    best, plan = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        plan = fn(teams, incidents, wait_h)
        best = min(best, (time.perf_counter() - t0) * 1000)
    assert plan is not None
    return plan, best


def main() -> None:
    """Run the benchmark and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--incidents", type=int, default=60)
    ap.add_argument("--teams", type=int, default=15)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    teams, incidents = scenario(args.incidents, args.teams, args.seed)
    wait_h = default_unassigned_h(travel_matrix(teams, incidents))
    methods = {"optimal": assign_optimal, "greedy_nearest": assign_greedy, "greedy_priority": assign_greedy_priority}
    result: dict[str, object] = {"incidents": len(incidents), "teams": len(teams), "seed": args.seed}
    result["unassigned_wait_h"] = round(wait_h, 3)
    for name, fn in methods.items():
        plan, ms = timed(fn, teams, incidents, wait_h, args.repeat)
        travel = plan.cost - plan.waiting_cost
        print(
            f"{name:16s} total {plan.cost:8.2f} priority-h (travel {travel:7.2f} + waiting {plan.waiting_cost:7.2f})"
            f"  pairs {len(plan.pairs):3d}  {ms:7.2f} ms"
        )
        result[name] = {"cost": round(plan.cost, 3), "travel": round(travel, 3), "ms": round(ms, 3)}
    opt, greedy = result["optimal"]["cost"], result["greedy_nearest"]["cost"]
    result["greedy_over_optimal"] = round(greedy / opt, 4)
    print(f"greedy nearest-first / optimal = {greedy / opt:.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
