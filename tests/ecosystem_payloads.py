"""Recorded zigbee2mqtt and OwnTracks payloads (from their documentation) and a home that owns those devices.

zigbee2mqtt: device pages of zigbee2mqtt.io (Aqara RTCGQ11LM motion, MCCGQ11LM door, SJCGQ11LM water leak,
WSDCGQ11LM climate; Heiman HS1SA smoke) and its MQTT topics page (availability, bridge/state).
OwnTracks: the JSON page of the booklet (owntracks.org/booklet/tech/json), location / transition / waypoint / lwt.
"""

from __future__ import annotations

import orjson

from devices.aliases import Alias, AliasBook
from devices.credentials import Credentials
from devices.records import DeviceRecord, Home, Resident, Village
from devices.registry import Registry

HOME_LAT, HOME_LON = 28.2282, 112.9388
MOTION = b'{"battery":100,"voltage":3005,"illuminance":15,"illuminance_lux":15,"occupancy":true,"linkquality":84,'
MOTION += b'"device_temperature":25,"power_outage_count":1}'
DOOR_OPEN = b'{"contact":false,"battery":91,"voltage":2985,"linkquality":57,"device_temperature":22}'
LEAK = b'{"water_leak":true,"battery":100,"voltage":3055,"device_temperature":24,"power_outage_count":0,'
LEAK += b'"linkquality":72,"update":{"state":"idle"}}'
SMOKE = b'{"smoke":true,"battery_low":false,"tamper":false,"battery":83,"linkquality":68}'
CLIMATE = b'{"temperature":22.5,"humidity":45.2,"pressure":1003.4,"battery":97,"voltage":3005,"linkquality":120}'
BRIDGE_STATE = b'{"state":"online"}'
BRIDGE = "home-e"  # issue 16: the home's zigbee2mqtt bridge, an issued identity with base topic zigbee2mqtt/home-e
Z2M_NAMES = {
    "hall motion": "Z-MOTION",
    "front door": "Z-DOOR",
    "kitchen/leak": "Z-LEAK",
    "smoke": "Z-SMOKE",
    "bedroom climate": "Z-CLIMATE",
}
PHONE = "P-PHONE"


def location(tst: int, lat: float = HOME_LAT, lon: float = HOME_LON, **extra: object) -> bytes:
    """An OwnTracks location message as the Android/iOS apps publish it."""
    body = {
        "_type": "location",
        "acc": 13,
        "alt": 27,
        "batt": 92,
        "conn": "w",
        "lat": lat,
        "lon": lon,
        "t": "u",
        "tid": "jj",
        "tst": tst,
        "vac": 0,
        "vel": 0,
        "BSSID": "b0:f2:8:45:94:33",
        "SSID": "home",
    } | extra
    return orjson.dumps(body)


def others(tst: int) -> list[bytes]:
    """OwnTracks messages of other types, published on the same topic: the hub ignores them."""
    return [
        orjson.dumps(
            {
                "_type": "transition",
                "wtst": tst - 100,
                "lat": HOME_LAT,
                "lon": HOME_LON,
                "tst": tst,
                "acc": 10,
                "tid": "jj",
                "event": "leave",
                "desc": "home",
                "t": "c",
            }
        ),
        orjson.dumps({"_type": "waypoint", "desc": "home", "lat": HOME_LAT, "lon": HOME_LON, "rad": 100, "tst": tst}),
        orjson.dumps({"_type": "lwt", "tst": tst}),
    ]


def register_ecosystem(registry: Registry, aliases: AliasBook) -> None:
    """A resident's home with five zigbee2mqtt sensors and an OwnTracks phone, each under its alias."""
    registry.add_village(Village("V-E", "Eco village", "T", "C", HOME_LAT, HOME_LON), replace=True)
    registry.add_home(Home("H-E", "9 Zigbee Lane", HOME_LAT, HOME_LON, "V-E"), replace=True)
    registry.add_resident(Resident("R-E", "Eco Resident", "H-E", lives_alone=1), replace=True)
    kinds = {
        "Z-MOTION": ("motion", "living_room"),
        "Z-DOOR": ("door", "front_door"),
        "Z-LEAK": ("water_leak", "kitchen"),
        "Z-SMOKE": ("smoke", "kitchen"),
        "Z-CLIMATE": ("climate", "bedroom"),
    }
    for device_id, (kind, room) in kinds.items():
        registry.add_device(DeviceRecord(device_id, "home_sensor", kind, home_id="H-E", room=room), replace=True)
    registry.add_device(DeviceRecord(PHONE, "wearable", "wearable", resident_id="R-E", worn_at="phone"), replace=True)
    Credentials(registry.db).issue(BRIDGE, kind="bridge")
    for name, device_id in Z2M_NAMES.items():
        aliases.add(Alias("zigbee2mqtt", name, device_id, BRIDGE), replace=True)
    aliases.add(Alias("owntracks", "grandma/pixel", PHONE), replace=True)
