"""The simulated community's responders: care providers around the villages, the 120 centre, each resident's family.

Registered by `hub demo` so that an operator can dispatch from the first fall on.
"""

from __future__ import annotations

import random

from dispatch.responders import Responder, ResponderRegistry
from simulators.community import Community

PROVIDERS = (
    ("Yuelu Home Care", "nursing,emergency_visit,medical_escort", "07:00-22:00", 4),
    ("Lugu Meals on Wheels", "meals", "10:00-19:00", 6),
    ("Pingtang Community Nurses", "nursing,emergency_visit", "", 3),
    ("Lianhua Housekeeping", "cleaning,meals", "08:00-18:00", 5),
    ("Xiang River Escort Service", "medical_escort", "06:00-23:00", 2),
    ("Yuelu Night Response Team", "emergency_visit,nursing", "", 2),
)


def demo_responders(community: Community, seed: int = 7) -> list[Responder]:
    """Providers near villages, one emergency centre, and a family member per resident."""
    rng = random.Random(seed)
    out = []
    villages = community.villages
    for i, (name, services, hours, capacity) in enumerate(PROVIDERS):
        v = villages[i % len(villages)]
        out.append(Responder(f"P{i + 1:02d}", name, "provider", services, round(v.lat + rng.uniform(-0.01, 0.01), 6),
                             round(v.lon + rng.uniform(-0.01, 0.01), 6), v.township, hours, capacity,
                             f"0731-8{rng.randint(1000000, 9999999)}"))
    centre = villages[len(villages) // 2]
    out.append(Responder("E120", "Changsha 120 Emergency Centre", "emergency", "emergency_visit,medical_escort",
                         centre.lat, centre.lon + 0.04, "Yuelu County", "", 20, "120"))
    homes = {h.home_id: h for h in community.homes}
    for r in community.residents:
        home = homes[r.home_id]
        lat, lon = round(home.lat + rng.uniform(-0.03, 0.03), 6), round(home.lon + rng.uniform(-0.03, 0.03), 6)
        out.append(Responder(f"F{r.resident_id}", f"Family of {r.name}", "family", "emergency_visit,meals", lat, lon,
                             "", "", 1, r.contacts.split(": ")[-1], r.resident_id, 1))
    return out


def register_responders(registry: ResponderRegistry, community: Community) -> int:
    """Register (or refresh) the demo responders; returns how many."""
    responders = demo_responders(community)
    for responder in responders:
        registry.add(responder, replace=True)
    return len(responders)
