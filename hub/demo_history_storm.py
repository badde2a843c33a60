"""A past storm for the demo community (issue 19): a flood in the villages of two townships some weeks ago, with each
village's 初报, 续报 and 核报, the evacuation work list of its warning as it ended, and an approved relief plan with
the receipts of most villages, so the statistics page's disaster figures are not empty the first time.

The numbers are plausible, not measured: about a third of a village's elderly residents affected, a tenth of them
relocated, losses growing from the initial report to the verified one. Rows are written as the hub writes them
(dispatch/disaster/report_store.py, store.py, resource_store.py); the event is stabilised and checked up to the
seeding time, so no report deadline of it is ever raised, and its warning is not in force, so its tasks never show
on the live evacuation list.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import orjson

from devices.statedb.sqlite import StateDB
from dispatch.disaster import report_store, resource_store
from dispatch.disaster import store as command_store
from simulators.community import Community

DAY_S = 86400.0
STAGES = (("initial", 0.05, 0.7), ("follow_up", 1.0, 0.9), ("verified", 4.0, 1.0))  # stage, days after, share
STATES = (("relocated", 0.45), ("confirmed_safe", 0.40), ("contacted", 0.06), ("unreachable", 0.04), ("open", 0.05))
ITEMS = (("water_l", 9.0), ("food_kg", 1.5), ("blanket", 1.0))  # per relocated person


def _indicators(rng: random.Random, residents: int, share: float) -> dict[str, Any]:
    affected = round(residents * 0.35 * share)
    return {"affected_population": affected, "emergency_relocated": round(affected * 0.3),
            "injured_ill": round(affected * 0.02), "houses_damaged_rooms": round(affected * 0.1 * share),
            "houses_collapsed_rooms": round(affected * 0.01), "crop_affected_ha": round(affected * 0.4, 1),
            "direct_loss_10k_cny": round(affected * 0.12 * share + rng.uniform(0, 2), 1)}  # fmt: skip


def write_storm(db: StateDB, community: Community, started: float, now: float, seed: int = 17) -> int:
    """The storm that began at `started` (a few weeks before `now`); returns how many evacuation tasks it left."""
    for ddl in (report_store.DDL, resource_store.DDL, command_store.DDL):
        db.migrate(ddl)
    rng = random.Random(seed)
    towns = sorted({v.township for v in community.villages})[:2]
    villages = [v for v in community.villages if v.township in towns]
    if not villages:
        return 0
    homes = {h.home_id: h.village_id for h in community.homes}
    people = Counter(homes.get(r.home_id) for r in community.residents)
    event = f"history-flood-{int(started)}"
    db.execute("INSERT OR IGNORE INTO report_events (event_id, hazard, started_at, villages, stabilised_at,"
               " checked_until, declared, declared_by, stabilised_by) VALUES (?, 'flood', ?, ?, ?, ?, 1, ?, ?)",
               [event, started, orjson.dumps([v.village_id for v in villages]).decode(), started + 3 * DAY_S, now,
                "commander", "commander"])  # fmt: skip
    seq = int((db.execute("SELECT MAX(seq) AS seq FROM report_versions")[0]["seq"]) or 0)
    versions = []
    for v in villages:
        for version, (stage, after, share) in enumerate(STAGES, start=1):
            seq += 1
            versions.append([event, v.village_id, version, stage, "flood", started + after * DAY_S,
                             orjson.dumps(_indicators(rng, people[v.village_id], share)).decode(), 0, 0,
                             f"reporter-{v.village_id}", "", seq])  # fmt: skip
    db.executemany("INSERT OR IGNORE INTO report_versions (event_id, village_id, version, stage, hazard, ts,"
                   " indicators, zero, corrected, officer, note, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   versions)  # fmt: skip
    warning = f"history-warning-{int(started)}"
    chosen = {v.village_id for v in villages}
    tasks = []
    for r in community.residents:
        village = homes.get(r.home_id)
        if village not in chosen:
            continue
        kind = "evacuate" if r.lives_alone or r.limited_mobility or rng.random() < 0.3 else "check_on"
        state = rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]
        if kind == "check_on" and state == "relocated":
            state = "confirmed_safe"
        tasks.append([f"{warning}:{r.resident_id}", warning, r.resident_id, village, kind, state,
                      started + rng.uniform(0.1, 1.5) * DAY_S, ""])  # fmt: skip
    db.executemany("INSERT OR IGNORE INTO command_tasks (task_id, warning_id, resident_id, village_id, kind, state,"
                   " updated_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", tasks)
    relocated = Counter(t[3] for t in tasks if t[5] == "relocated")
    shipments = [["history-store", v.village_id, item, float(round(per * max(1, relocated[v.village_id]))), 12.0]
                 for v in villages for item, per in ITEMS]  # fmt: skip
    plan = f"history-plan-{int(started)}"
    approved = started + 0.5 * DAY_S
    body = {"shipments": shipments, "need": {}, "fill": {item: 1.0 for item, _ in ITEMS}}
    db.execute("INSERT OR IGNORE INTO relief_plans (plan_id, status, body, created_by, created_at, approved_by,"
               " approved_at) VALUES (?, 'approved', ?, 'commander', ?, 'commander', ?)",
               [plan, orjson.dumps(body).decode(), approved - 3600, approved])  # fmt: skip
    db.executemany("INSERT OR IGNORE INTO relief_receipts (plan_id, village_id, actor, ts, note)"
                   " VALUES (?, ?, ?, ?, '')",
                   [[plan, v.village_id, f"reporter-{v.village_id}", approved + rng.uniform(0.3, 2) * DAY_S]
                    for v in villages if rng.random() < 0.8])  # fmt: skip
    return len(tasks)
