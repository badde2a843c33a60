"""A seeded virtual community in a real county of Hunan (长沙县 by default), in its real townships and villages.

Villages (real village committees with their official codes) with homes, elderly residents (a wearable each, and
a motion sensor in the living room and the bathroom, a door contact, a bed sensor, a smoke and a gas detector, a
water-leak sensor), and disaster terminals around the villages: rain gauges, river-level gauges and landslide sensors.
The same seed gives the same community, so tests and the demo are reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from devices.boundary import Boundary, county_boundary
from devices.divisions import DEFAULT_COUNTY, County, Division, load_county
from devices.models import Family
from devices.names import pinyin_of
from devices.records import DeviceRecord, Home, Resident, Village
from devices.registry import Registry

# Issue 14 item 8 / issue 18 item 4: real geography. The demo county is a real one (长沙县 by default; any county
# code of the division data, HUB_DEMO__COUNTY_CODE), its townships and village committees are real ones with their
# official codes (devices.divisions), and everything is placed inside the county's real outline (devices.boundary).
# Where in the county a village lies is not in the data (no township outlines on the registry): each chosen
# township gets a seeded seat inside the county, spread out, and its villages lie around it - plausible, not true.
TOWNSHIP_COUNT = 5
SEAT_MARGIN_DEG = 0.04  # seats and villages keep off the edge, so homes and terminals around them stay inside
VILLAGE_MARGIN_DEG = 0.03
VILLAGE_SPREAD_DEG = 0.06  # villages within this of their township's seat
# the same number of surnames, given names and conditions as before, so a seed gives the same draws
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "胡", "朱")
GIVEN = ("桂英", "秀英", "建国", "玉兰", "淑芬", "国华", "凤英", "志强", "兰英", "德福")
HOME_SENSORS = (("motion", "living_room"), ("motion", "bathroom"), ("door", "front_door"), ("bed", "bedroom"),
                ("smoke", "kitchen"), ("gas", "kitchen"), ("water_leak", "bathroom"))
CONDITIONS = ("高血压", "糖尿病", "慢阻肺", "心房颤动", "轻度认知障碍", "骨质疏松")


@dataclass
class Community:
    """Everything to register, and the device list the simulator drives."""

    villages: list[Village] = field(default_factory=list)
    homes: list[Home] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    devices: list[DeviceRecord] = field(default_factory=list)
    place: County | None = None  # the real county the villages are in (its province, city, townships)

    def register(self, registry: Registry) -> None:
        """Write the community into a registry (idempotent)."""
        for village in self.villages:
            registry.add_village(village, replace=True)
        for home in self.homes:
            registry.add_home(home, replace=True)
        for resident in self.residents:
            registry.add_resident(resident, replace=True)
        for device in self.devices:
            registry.add_device(device, replace=True)

    def of_family(self, family: Family) -> list[DeviceRecord]:
        """Devices of one family."""
        return [d for d in self.devices if d.family == family.value]


def _national_id(rng: random.Random, birth_year: int, county_code: str) -> str:
    return f"{county_code}{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 9999):04d}"


def _inside(boundary: Boundary, rng: random.Random, margin: float, near: tuple[float, float] | None = None,
            spread: float = 0.0) -> tuple[float, float]:
    """A seeded point inside the county (`margin` from its edge; within `spread` of `near` when given)."""
    w, s, e, n = boundary.bbox()
    for attempt in range(2000):
        if near is None:
            lat, lon = rng.uniform(s, n), rng.uniform(w, e)
        else:
            lat, lon = near[0] + rng.uniform(-spread, spread), near[1] + rng.uniform(-spread, spread)
        if boundary.contains_disc(lat, lon, margin * (1.0 - attempt / 2000)):
            return lat, lon
    raise ValueError(f"no room inside {boundary.name}")  # a county far smaller than any in the data


def _seats(boundary: Boundary, rng: random.Random, count: int) -> list[tuple[float, float]]:
    """`count` township seats spread over the county: farthest-point picks among seeded candidates."""
    candidates = [_inside(boundary, rng, SEAT_MARGIN_DEG) for _ in range(60)]
    seats = [candidates[0]]
    while len(seats) < count:
        seats.append(max(candidates, key=lambda c: min((c[0] - a) ** 2 + (c[1] - b) ** 2 for a, b in seats)))
    return seats


def _villages(rng: random.Random, count: int, county: County, boundary: Boundary, seed: int) -> list[Village]:
    """`count` real village committees (村) of real townships, placed around their township's seat."""
    place = random.Random(f"{seed}:{county.county.code}")  # the community's own draws stay as they were
    rural = [t for t in county.townships if t.rural and any(v.rural for v in county.villages_of(t))]
    towns = rural or [t for t in county.townships if county.villages_of(t)]
    k = min(TOWNSHIP_COUNT, count, len(towns))
    picked = [towns[round(j * (len(towns) - 1) / max(k - 1, 1))] for j in range(k)]
    seats = _seats(boundary, place, k)
    chosen: dict[str, list[Division]] = {}
    for j, town in enumerate(picked):
        pool = [v for v in county.villages_of(town) if v.rural] or county.villages_of(town)
        chosen[town.code] = sorted(place.sample(pool, min(len(pool), len(range(j, count, k)))), key=lambda v: v.code)
    placed = []
    for i in range(count):
        rng.uniform(-0.01, 0.01), rng.uniform(0.0, 0.10)  # the draws the synthetic placement made (same residents)
        town = picked[i % k]
        names = chosen[town.code]
        lat, lon = _inside(boundary, place, VILLAGE_MARGIN_DEG, seats[i % k], VILLAGE_SPREAD_DEG)
        placed.append((round(lat, 5), round(lon, 5), town, names[(i // k) % len(names)]))
    placed.sort(key=lambda p: p[0])  # V01 the southernmost, as before: the storm's flood wave runs south to north
    return [Village(f"V{i + 1:02d}", division.name, town.name, county.county.name, lat, lon, division.code)
            for i, (lat, lon, town, division) in enumerate(placed)]


def _household(rng: random.Random, n: int, village: Village, county: County) -> tuple[Home, Resident,
                                                                                      list[DeviceRecord]]:
    home_id, resident_id = f"H{n:05d}", f"R{n:05d}"
    lat, lon = village.lat + rng.gauss(0, 0.006), village.lon + rng.gauss(0, 0.006)
    number = rng.randint(1, 200)  # issue 18: 湖南省长沙市长沙县安沙镇毛塘村3组12号 (group of the village, house number)
    place = f"{county.province.name}{county.city.name}{village.county}{village.township}{village.name}"
    address = f"{place}{number % 12 + 1}组{number}号"
    home = Home(home_id, address, round(lat, 6), round(lon, 6), village.village_id)
    birth = rng.randint(1930, 1958)
    resident = Resident(
        resident_id, f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}", home_id,
        _national_id(rng, birth, county.county.code),
        f"13{rng.randint(100000000, 999999999)}", birth, int(rng.random() < 0.4), int(rng.random() < 0.2),
        "、".join(rng.sample(CONDITIONS, rng.randint(0, 2))), f"儿子: 139{rng.randint(10000000, 99999999)}")
    resident = replace(resident, name_pinyin=pinyin_of(resident.name))  # the alias for search: Wang Xiuying
    worn = rng.choices(("wrist", "pendant", "waist"), (0.5, 0.3, 0.2))[0]
    devices = [DeviceRecord(f"W{n:05d}", Family.WEARABLE.value, "wearable", resident_id=resident_id, worn_at=worn)]
    for k, (kind, room) in enumerate(HOME_SENSORS):
        devices.append(DeviceRecord(f"S{n:05d}{k}", Family.HOME_SENSOR.value, kind, home_id=home_id, room=room,
                                    lat=home.lat, lon=home.lon))
    return home, resident, devices


def _terminals(rng: random.Random, count: int, villages: list[Village]) -> list[DeviceRecord]:
    kinds = ("river_gauge", "rain_gauge", "landslide", "rain_gauge")
    out = []
    for i in range(count):
        village = villages[i % len(villages)]
        kind = kinds[i % len(kinds)]
        # no river data on the registry: a river gauge stands on the stream beside its village (east of it)
        lon = village.lon + 0.012 + rng.uniform(-0.003, 0.003) if kind == "river_gauge" else \
            village.lon - rng.uniform(0, 0.02)
        lat = village.lat + rng.uniform(-0.01, 0.01)
        out.append(DeviceRecord(f"T{i + 1:03d}", Family.TERMINAL.value, kind, village_id=village.village_id,
                                lat=round(lat, 6), lon=round(lon, 6)))
    return out


def build_community(residents: int = 200, terminals: int = 20, villages: int = 10, seed: int = 7,
                    county_code: str = DEFAULT_COUNTY) -> Community:
    """A reproducible community of `residents` households and `terminals` disaster terminals in a real county."""
    rng = random.Random(seed)
    county = load_county(county_code)
    boundary = county_boundary(county.county.code)
    community = Community(villages=_villages(rng, villages, county, boundary, seed), place=county)
    for n in range(1, residents + 1):
        home, resident, devices = _household(rng, n, community.villages[n % villages], county)
        community.homes.append(home)
        community.residents.append(resident)
        community.devices.extend(devices)
    community.devices.extend(_terminals(rng, terminals, community.villages))
    return community
