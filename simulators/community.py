"""A seeded virtual community around Changsha, Hunan (about 28.2 N, 112.9 E), beside the Xiang river.

Villages west of the river with homes, elderly residents (a wearable each, and a motion sensor in the living room
and the bathroom, a door contact, a bed sensor, a smoke and a gas detector, a water-leak sensor), and disaster
terminals along the river: rain gauges, river-level gauges and landslide sensors on the western hills.
The same seed gives the same community, so tests and the demo are reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from devices.models import Family
from devices.names import pinyin_of
from devices.records import DeviceRecord, Home, Resident, Village
from devices.registry import Registry

CENTRE = (28.20, 112.90)
RIVER_LON = 112.965  # the Xiang river runs roughly north-south here
# Issue 18: a community that looks like the place. The demo county is Yuelu District (岳麓区) of Changsha; the
# townships and sub-districts are real ones of the district, the villages' names are plausible, not official
# village-committee names (their ids, V01..., are the registry's).
COUNTY = "岳麓区"
TOWNSHIPS = ("莲花镇", "雨敞坪镇", "含浦街道", "坪塘街道", "学士街道")
VILLAGES = ("桐木村", "嵇家山村", "含光村", "白泉村", "学华村", "龙洞村", "麻田村", "联丰村", "桃花村", "凤凰村",
            "华山村", "甘露村", "天马村", "新塘村", "泉水村", "金峰村")  # fmt: skip
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


def _national_id(rng: random.Random, birth_year: int) -> str:
    return f"430104{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 9999):04d}"


def _villages(rng: random.Random, count: int) -> list[Village]:
    out = []
    for i in range(count):
        lat = CENTRE[0] - 0.12 + 0.24 * i / max(count - 1, 1) + rng.uniform(-0.01, 0.01)
        lon = RIVER_LON - 0.02 - rng.uniform(0.0, 0.10)
        name = VILLAGES[i] if i < len(VILLAGES) else f"{VILLAGES[i % len(VILLAGES)]}{i // len(VILLAGES) + 1}"
        out.append(Village(f"V{i + 1:02d}", name, TOWNSHIPS[i % len(TOWNSHIPS)], COUNTY, round(lat, 5), round(lon, 5)))
    return out


def _household(rng: random.Random, n: int, village: Village) -> tuple[Home, Resident, list[DeviceRecord]]:
    home_id, resident_id = f"H{n:05d}", f"R{n:05d}"
    lat, lon = village.lat + rng.gauss(0, 0.006), village.lon + rng.gauss(0, 0.006)
    number = rng.randint(1, 200)  # issue 18: 岳麓区莲花镇桐木村3组12号 (group of the village, house number)
    address = f"{village.county}{village.township}{village.name}{number % 12 + 1}组{number}号"
    home = Home(home_id, address, round(lat, 6), round(lon, 6), village.village_id)
    birth = rng.randint(1930, 1958)
    resident = Resident(
        resident_id, f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}", home_id, _national_id(rng, birth),
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
        lon = RIVER_LON + rng.uniform(-0.003, 0.003) if kind == "river_gauge" else village.lon - rng.uniform(0, 0.02)
        lat = village.lat + rng.uniform(-0.01, 0.01)
        out.append(DeviceRecord(f"T{i + 1:03d}", Family.TERMINAL.value, kind, village_id=village.village_id,
                                lat=round(lat, 6), lon=round(lon, 6)))
    return out


def build_community(residents: int = 200, terminals: int = 20, villages: int = 10, seed: int = 7) -> Community:
    """A reproducible community of `residents` households and `terminals` disaster terminals."""
    rng = random.Random(seed)
    community = Community(villages=_villages(rng, villages))
    for n in range(1, residents + 1):
        home, resident, devices = _household(rng, n, community.villages[n % villages])
        community.homes.append(home)
        community.residents.append(resident)
        community.devices.extend(devices)
    community.devices.extend(_terminals(rng, terminals, community.villages))
    return community
