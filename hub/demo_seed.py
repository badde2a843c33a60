"""What `hub demo` seeds besides the simulated devices: the community's responders (care providers around the villages,
the 120 centre, each resident's family), so an operator can dispatch from the first fall on, and the disaster side's
rescue teams and relief warehouses. Seeding lives here, at the top, because it writes into dispatch.
"""

from __future__ import annotations

import random

from devices.records import Village
from dispatch.disaster.assignment import Team
from dispatch.disaster.field_ops import FieldOps
from dispatch.disaster.relief import Warehouse
from dispatch.responders import Responder, ResponderRegistry
from simulators.community import Community

PROVIDERS = (  # issue 18: plausible names of the county's providers (not real businesses); {county}, {town}: the
    # demo county and the township of the village the provider sits beside
    ("{county}颐康居家养老服务中心", "nursing,emergency_visit,medical_escort", "07:00-22:00", 4),
    ("{town}长者助餐点", "meals", "10:00-19:00", 6),
    ("{town}卫生院护理站", "nursing,emergency_visit", "", 3),
    ("{town}家政服务站", "cleaning,meals", "08:00-18:00", 5),
    ("{county}陪诊服务队", "medical_escort", "06:00-23:00", 2),
    ("{county}夜间应急响应队", "emergency_visit,nursing", "", 2),
)


def demo_responders(community: Community, seed: int = 7) -> list[Responder]:
    """Providers near villages, one emergency centre, and a family member per resident."""
    rng = random.Random(seed)
    out = []
    villages = community.villages
    for i, (name, services, hours, capacity) in enumerate(PROVIDERS):
        v = villages[i % len(villages)]
        name = name.format(county=v.county, town=v.township)
        out.append(Responder(f"P{i + 1:02d}", name, "provider", services, round(v.lat + rng.uniform(-0.01, 0.01), 6),
                             round(v.lon + rng.uniform(-0.01, 0.01), 6), v.township, hours, capacity,
                             f"0731-8{rng.randint(1000000, 9999999)}"))
    centre = villages[len(villages) // 2]
    city = community.place.city.name if community.place else ""
    out.append(Responder("E120", f"{city}120急救中心", "emergency", "emergency_visit,medical_escort",
                         centre.lat, centre.lon + 0.04, centre.county, "", 20, "120"))
    homes = {h.home_id: h for h in community.homes}
    for r in community.residents:
        home = homes[r.home_id]
        lat, lon = round(home.lat + rng.uniform(-0.03, 0.03), 6), round(home.lon + rng.uniform(-0.03, 0.03), 6)
        out.append(Responder(f"F{r.resident_id}", f"{r.name}的家属", "family", "emergency_visit,meals", lat, lon,
                             "", "", 1, r.contacts.split(": ")[-1], r.resident_id, 1))
    return out


def register_responders(registry: ResponderRegistry, community: Community) -> int:
    """Register (or refresh) the demo responders; returns how many."""
    responders = demo_responders(community)
    for responder in responders:
        registry.add(responder, replace=True)
    return len(responders)


def seed_field_ops(ops: FieldOps, villages: list[Village]) -> None:
    """Rescue teams at the county seat and two townships, and two relief warehouses (the demo's resources)."""
    if not villages:
        return
    north, south = max(villages, key=lambda v: v.lat), min(villages, key=lambda v: v.lat)
    mid_lat = sum(v.lat for v in villages) / len(villages)
    mid_lon = sum(v.lon for v in villages) / len(villages)
    county = villages[0].county
    bases = [("TEAM-WATER-1", "水上救援一队", south, {"water_rescue", "evacuation_transport"}),
             ("TEAM-MED-1", "医疗救护队", north, {"medical"}),
             ("TEAM-SEARCH-1", "搜救队", south, {"search"}),
             ("TEAM-WATER-2", "水上救援二队", north, {"water_rescue"})]  # fmt: skip
    for team_id, name, v, caps in bases:
        ops.add_team(Team(team_id, v.lat, v.lon + 0.01, frozenset(caps), name=f"{county}{name}"))
    stock = {"water_l": 20_000.0, "food_kg": 3_000.0, "blanket": 800.0}
    ops.add_warehouse(Warehouse("WH-COUNTY", mid_lat, mid_lon, stock))
    ops.add_warehouse(Warehouse("WH-NORTH", north.lat + 0.02, north.lon, {k: v / 2 for k, v in stock.items()}))
