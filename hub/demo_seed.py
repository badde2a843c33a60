"""What `hub demo` seeds besides the simulated devices: the community's responders (care providers around the villages,
the 120 centre, each resident's family), so an operator can dispatch from the first fall on, and the disaster side's
rescue teams and relief warehouses. Seeding lives here, at the top, because it writes into dispatch.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace

from devices.contacts import Contact, edited_by_person, set_contacts
from devices.models import Family
from devices.records import DeviceRecord, Resident, Village
from devices.statedb.sqlite import StateDB
from dispatch.disaster.assignment import Team
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.field_ops import FieldOps
from dispatch.disaster.relief import Warehouse
from dispatch.disaster.stations import StationThresholds
from dispatch.responders import Responder, ResponderRegistry
from simulators.community import SURNAMES, Community

PROVIDERS = (  # issue 18: plausible names of the county's providers (not real businesses); {county}, {town}: the
    # demo county and the township of the village the provider sits beside
    ("{county}颐康居家养老服务中心", "nursing,emergency_visit,medical_escort", "07:00-22:00", 4),
    ("{town}长者助餐点", "meals", "10:00-19:00", 6),
    ("{town}卫生院护理站", "nursing,emergency_visit", "", 3),
    ("{town}家政服务站", "cleaning,meals", "08:00-18:00", 5),
    ("{county}陪诊服务队", "medical_escort", "06:00-23:00", 2),
    ("{county}夜间应急响应队", "emergency_visit,nursing", "", 2),
)


def with_reporters(community: Community) -> Community:
    """Issue 14: one reporting terminal (灾情上报终端) per village, beside its committee office, for the village
    disaster-information officer: the command centre takes village reports from these alone, not from gauges."""
    have = {d.village_id for d in community.devices if d.kind == "reporter"}
    for n, v in enumerate(community.villages, start=1):
        if v.village_id not in have:
            community.devices.append(DeviceRecord(f"RPT{n:03d}", Family.TERMINAL.value, "reporter",
                                                  village_id=v.village_id, lat=v.lat, lon=v.lon + 0.002))  # fmt: skip
    return community


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


SONS = ("军", "伟", "强", "磊", "勇", "建华", "志刚", "海波")
DAUGHTERS = ("丽", "芳", "娜", "静", "红梅", "晓燕", "春兰", "敏")
NEIGHBOURS = ("桂香", "德明", "秋菊", "长林", "玉梅", "水生")


def demo_contacts(resident: Resident, son_phone: str, rng: random.Random) -> list[Contact]:
    """A son (the number of the old free-text field), a daughter who married out, a neighbour next door."""
    surname = resident.name[0]
    mobile = f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
    landline_or_mobile = f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
    return [Contact(f"{surname}{rng.choice(SONS)}", "儿子", son_phone, 1, True),
            Contact(f"{rng.choice(SURNAMES)}{rng.choice(DAUGHTERS)}", "女儿", mobile, 2, True),
            Contact(f"{rng.choice(SURNAMES)}{rng.choice(NEIGHBOURS)}", "邻居", landline_or_mobile, 3, False)]


def seed_contacts(db: StateDB, community: Community, seed: int = 7) -> int:
    """Give each demo resident a son, a daughter and a neighbour to call, unless a person edited the contacts."""
    rng = random.Random(seed)
    done = 0
    for resident in community.residents:
        contacts = demo_contacts(resident, resident.contacts.split(": ")[-1], rng)
        if edited_by_person(db, resident.resident_id):
            continue
        set_contacts(db, resident.resident_id, contacts, "hub demo")
        done += 1
    return done


def register_responders(registry: ResponderRegistry, community: Community) -> int:
    """Register (or refresh) the demo responders; returns how many."""
    responders = demo_responders(community)
    for responder in responders:
        registry.add(responder, replace=True)
    return len(responders)


# issue 14: what a county relief store (县级救灾物资储备库) holds, per item; the northern transfer store holds half
DEMO_STOCK = {"tent": 300.0, "blanket": 1_200.0, "cot": 800.0, "water_l": 20_000.0, "food_kg": 3_000.0,
              "life_jacket": 400.0, "lamp": 500.0, "med_kit": 150.0}
DEMO_EXPIRY = {"water_l": "2027-09-30", "food_kg": "2027-03-31", "med_kit": "2028-06-30"}


def seed_field_ops(ops: FieldOps, villages: list[Village]) -> None:
    """Rescue teams at the county seat and two townships, and two relief warehouses with stock (the demo's
    resources); recorded once: a restarted demo keeps the teams' states and the ledgers as they were."""
    if not villages:
        return
    north, south = max(villages, key=lambda v: v.lat), min(villages, key=lambda v: v.lat)
    mid_lat = sum(v.lat for v in villages) / len(villages)
    mid_lon = sum(v.lon for v in villages) / len(villages)
    county = villages[0].county
    now = time.time()
    ops.refresh()
    bases = [("TEAM-WATER-1", "水上救援一队", south, {"water_rescue", "evacuation_transport"}),
             ("TEAM-MED-1", "医疗救护队", north, {"medical"}),
             ("TEAM-SEARCH-1", "搜救队", south, {"search"}),
             ("TEAM-WATER-2", "水上救援二队", north, {"water_rescue"})]  # fmt: skip
    for team_id, name, v, caps in bases:
        if team_id not in ops.teams:
            ops.add_team(Team(team_id, v.lat, v.lon + 0.01, frozenset(caps), name=f"{county}{name}"), "hub demo", now)
    seat = min(villages, key=lambda v: (v.lat - mid_lat) ** 2 + (v.lon - mid_lon) ** 2).township  # nearest the middle
    ops.add_warehouse(Warehouse("WH-COUNTY", mid_lat, mid_lon, DEMO_STOCK), "hub demo", now,
                      f"{county}救灾物资储备库", DEMO_EXPIRY, township=seat)  # fmt: skip
    ops.add_warehouse(Warehouse("WH-NORTH", north.lat + 0.02, north.lon, {k: v / 2 for k, v in DEMO_STOCK.items()}),
                      "hub demo", now, f"{north.township}物资中转库", DEMO_EXPIRY, township=north.township)  # fmt: skip


def demo_station_thresholds(community: Community, seed: int = 7) -> list[StationThresholds]:
    """Each demo terminal's own thresholds (issue 14), different per station as real ones are: river gauges a
    warning level (警戒水位) between 31.6 and 32.6 m and a guarantee level (保证水位) 1.4-1.9 m above it (the storm's
    crest, 34.6 m, passes every one); rain gauges the CMA ladders scaled by 0.8-1.25 (hill or valley station);
    landslide sensors displacement ladders scaled likewise by slope."""
    rng = random.Random(seed * 7919)
    out = []
    for dev in community.devices:
        if dev.family != "terminal":
            continue
        if dev.kind == "river_gauge":
            warning = round(31.6 + rng.uniform(0.0, 1.0), 2)
            out.append(StationThresholds(dev.device_id, warning, round(warning + rng.uniform(1.4, 1.9), 2)))
        elif dev.kind == "rain_gauge":
            f = rng.uniform(0.8, 1.25)
            ladders = [_scaled(base, f) for base in ((20, 30, 50, 70), (30, 50, 70, 100), (50, 100, 150, 250))]
            out.append(StationThresholds(dev.device_id, rain_1h_mm=ladders[0], rain_3h_mm=ladders[1],
                                         rain_24h_mm=ladders[2]))  # fmt: skip
        elif dev.kind == "landslide":
            out.append(StationThresholds(dev.device_id, displacement_mm=_scaled((20, 50, 100, 200),
                                                                                rng.uniform(0.7, 1.3))))
    return out


def _scaled(base: tuple[int, int, int, int], factor: float) -> tuple[float, float, float, float]:
    a, b, c, d = (max(1.0, round(x * factor / 5) * 5) for x in base)  # whole 5 mm steps, as tables print them
    return a, b, c, d


def seed_station_thresholds(centre: CommandCentre, community: Community) -> int:
    """Record the demo's station thresholds once (an admin's later edits are kept) and judge the gauges by them."""
    store = centre.station_store
    if store is None or store.all():
        return 0
    now = time.time()
    count = store.save(replace(s, updated_by="hub demo", updated_at=now) for s in demo_station_thresholds(community))
    centre.reload_stations()
    return count
