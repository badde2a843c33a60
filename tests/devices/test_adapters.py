"""zigbee2mqtt and OwnTracks payloads from their documentation through the decoder, on a real registry and aliases."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from ecosystem_payloads import (
    BRIDGE,
    BRIDGE_STATE,
    CLIMATE,
    DOOR_OPEN,
    LEAK,
    MOTION,
    PHONE,
    SMOKE,
    location,
    others,
    register_ecosystem,
)

from devices.adapters import Ignored
from devices.aliases import Alias, AliasBook
from devices.credentials import Credentials
from devices.decode import Decoder
from devices.models import Availability, Family, Reading, Rejection
from devices.records import DeviceRecord, RegistryError
from devices.registry import Registry
from devices.statedb.sqlite import StateDB

NOW = time.time()


@pytest.fixture
def book(tmp_path: Path) -> tuple[Registry, AliasBook]:
    db = StateDB(tmp_path / "state.sqlite")
    registry, aliases = Registry(db), AliasBook(db)
    register_ecosystem(registry, aliases)
    return registry, aliases


@pytest.fixture
def decode(book: tuple[Registry, AliasBook]):
    registry, aliases = book
    decoder = Decoder(max_payload_bytes=64 * 1024, max_future_s=300, aliases=aliases)
    return lambda topic, payload, now=NOW: decoder.decode(topic, payload, registry.devices(), now)


@pytest.mark.parametrize(
    ("name", "payload", "device_id", "values"),
    [
        ("hall motion", MOTION, "Z-MOTION", {"occupancy": 1.0, "battery": 100.0}),
        ("front door", DOOR_OPEN, "Z-DOOR", {"contact": 0.0, "battery": 91.0}),
        ("kitchen/leak", LEAK, "Z-LEAK", {"water_leak": 1.0, "battery": 100.0}),
        ("smoke", SMOKE, "Z-SMOKE", {"smoke": 1.0, "battery": 83.0}),
        ("bedroom climate", CLIMATE, "Z-CLIMATE", {"temperature": 22.5, "humidity": 45.2, "battery": 97.0}),
    ],
)
def test_zigbee2mqtt_states_map_to_home_sensor_readings(decode, name, payload, device_id, values) -> None:
    rec = decode(f"zigbee2mqtt/home-e/{name}", payload)
    assert isinstance(rec, Reading)
    assert (rec.device_id, rec.family, rec.ts, rec.values) == (device_id, Family.HOME_SENSOR, NOW, values)


def test_zigbee2mqtt_synthesised_seq_is_monotonic_within_one_batch(decode) -> None:
    seqs = [decode("zigbee2mqtt/home-e/hall motion", MOTION).seq for _ in range(3)]
    assert seqs == sorted(set(seqs)) and seqs[0] == int(NOW * 1000)


def test_zigbee2mqtt_last_seen_is_device_time_and_makes_redeliveries_duplicates(decode) -> None:
    ms = int((NOW - 60) * 1000)
    first = decode("zigbee2mqtt/home-e/hall motion", b'{"occupancy":false,"last_seen":%d}' % ms)
    again = decode("zigbee2mqtt/home-e/hall motion", b'{"occupancy":false,"last_seen":%d}' % ms)
    iso = decode(
        "zigbee2mqtt/home-e/hall motion", b'{"occupancy":true,"last_seen":"2024-01-02T03:04:05.000Z"}',
        now=1704164645.0 + 5,
    )
    assert first.ts == pytest.approx(NOW - 60, abs=0.001) and first.seq == again.seq == ms
    assert iso.ts == 1704164645.0


@pytest.mark.parametrize("payload", [b"online", b'{"state":"online"}', b"offline", b'{"state":"offline"}'])
def test_zigbee2mqtt_availability_both_forms(decode, payload) -> None:
    rec = decode("zigbee2mqtt/home-e/kitchen/leak/availability", payload)
    assert rec == Availability("Z-LEAK", b"online" in payload, NOW)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("zigbee2mqtt/home-e/bridge/state", BRIDGE_STATE, "zigbee2mqtt_bridge"),
        ("zigbee2mqtt/home-e/bridge/logging", b'{"level":"info","message":"MQTT publish"}', "zigbee2mqtt_bridge"),
        ("zigbee2mqtt/home-e/front door/set", b'{"state":"ON"}', "zigbee2mqtt_command"),
    ],
)
def test_zigbee2mqtt_bridge_and_command_topics_are_ignored(decode, topic, payload, reason) -> None:
    assert decode(topic, payload) == Ignored(topic, reason)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("zigbee2mqtt/home-e/garage door", DOOR_OPEN, "unknown_device"),
        ("zigbee2mqtt/home-e/front door", b'{"contact":"false"}', "invalid"),  # strict on the types it uses
        ("zigbee2mqtt/home-e/front door", b'{"battery":180}', "invalid"),
        ("zigbee2mqtt/home-e/front door", b"not json", "not_json"),
        ("zigbee2mqtt/home-e/front door/availability", b"maybe", "not_json"),
        ("owntracks/grandpa/iphone", location(int(NOW)), "unknown_device"),
        ("owntracks/grandma/pixel", location(int(NOW), lat=95.0), "invalid"),
        ("owntracks/grandma/pixel", location(int(NOW)).replace(b'"tst"', b'"tsx"'), "invalid"),
        ("owntracks/grandma/pixel", location(int(NOW) - 90 * 86400), "clock"),
        ("owntracks/grandma/pixel", b'{"lat": 1}', "invalid"),
    ],
)
def test_bad_ecosystem_messages_are_rejected_with_a_reason(decode, topic, payload, reason) -> None:
    rec = decode(topic, payload)
    assert isinstance(rec, Rejection) and rec.reason == reason, rec


def test_owntracks_location_is_the_phones_position_and_battery(decode) -> None:
    tst = int(NOW) - 30
    rec = decode("owntracks/grandma/pixel", location(tst, lat=28.25, lon=112.95))
    assert rec == Reading(PHONE, Family.WEARABLE, float(tst), tst, {"lat": 28.25, "lon": 112.95, "battery": 92.0})


def test_owntracks_coarse_fix_keeps_only_the_battery(decode) -> None:
    rec = decode("owntracks/grandma/pixel", location(int(NOW), acc=5000))
    assert isinstance(rec, Reading) and rec.values == {"battery": 92.0}


def test_owntracks_other_types_are_ignored(decode) -> None:
    outcomes = [decode("owntracks/grandma/pixel", p) for p in others(int(NOW))]
    assert [o.reason for o in outcomes] == ["owntracks_transition", "owntracks_waypoint", "owntracks_lwt"]


def test_alias_rules(book: tuple[Registry, AliasBook]) -> None:
    registry, aliases = book
    with pytest.raises(RegistryError, match="needs a home_sensor"):
        aliases.add(Alias("zigbee2mqtt", "phone as sensor", PHONE, BRIDGE))
    with pytest.raises(RegistryError, match="<user>/<device>"):
        aliases.add(Alias("owntracks", "grandma", PHONE))
    with pytest.raises(RegistryError, match="not registered"):
        aliases.add(Alias("owntracks", "a/b", "NOPE"))
    with pytest.raises(RegistryError, match="exists"):
        aliases.add(Alias("owntracks", "grandma/pixel", PHONE))
    assert aliases.resolve("owntracks", "grandma/pixel") == PHONE
    assert aliases.remove("owntracks", "grandma/pixel") and aliases.resolve("owntracks", "grandma/pixel") is None
    registry.add_device(DeviceRecord("Z-DIRECT", "home_sensor", "motion", home_id="H-E"))
    assert len(aliases.entries("zigbee2mqtt")) == 5


def test_a_bare_device_id_without_alias_is_refused(decode) -> None:
    # issue 16: a bridge naming a registered sensor by its id cannot speak for it; only its alias reaches it
    rec = decode("zigbee2mqtt/home-e/Z-SMOKE", orjson.dumps({"smoke": True}))
    assert isinstance(rec, Rejection) and rec.reason == "unknown_device"
    assert isinstance(decode("zigbee2mqtt/home-e/Z-SMOKE/availability", b"online"), Rejection)


def test_a_device_has_one_alias_per_source(book: tuple[Registry, AliasBook]) -> None:
    _registry, aliases = book
    (name, device_id), *_ = [(a.external_id, a.device_id) for a in aliases.entries("zigbee2mqtt")]
    Credentials(aliases.db).issue("other-bridge", kind="bridge")
    with pytest.raises(RegistryError, match="already has"):  # a second name (another bridge) for the same sensor
        aliases.add(Alias("zigbee2mqtt", "someone else's bridge name", device_id, "other-bridge"))
    aliases.add(Alias("zigbee2mqtt", "renamed", device_id, BRIDGE), replace=True)  # moved: the old name goes
    assert aliases.resolve("zigbee2mqtt", f"{BRIDGE}/renamed") == device_id
    assert aliases.resolve("zigbee2mqtt", f"{BRIDGE}/{name}") is None


def test_a_zigbee2mqtt_alias_is_bound_to_one_issued_bridge(book: tuple[Registry, AliasBook], decode) -> None:
    registry, aliases = book
    registry.add_device(DeviceRecord("Z-NEW", "home_sensor", "smoke", home_id="H-E"))
    with pytest.raises(RegistryError, match="names its bridge"):
        aliases.add(Alias("zigbee2mqtt", "new smoke", "Z-NEW"))
    with pytest.raises(RegistryError, match="not an issued bridge"):  # a device's id is no bridge
        aliases.add(Alias("zigbee2mqtt", "new smoke", "Z-NEW", "Z-SMOKE"))
    with pytest.raises(RegistryError, match="has no bridge"):
        aliases.add(Alias("owntracks", "a/b", PHONE, BRIDGE))
    Credentials(aliases.db).issue("bridge-b", kind="bridge")
    aliases.add(Alias("zigbee2mqtt", "new smoke", "Z-NEW", "bridge-b"))
    assert Alias("zigbee2mqtt", "new smoke", "Z-NEW", "bridge-b") in aliases.entries("zigbee2mqtt")
    smoke = orjson.dumps({"smoke": True})
    assert decode("zigbee2mqtt/bridge-b/new smoke", smoke).device_id == "Z-NEW"
    for topic in ("zigbee2mqtt/home-e/new smoke", "zigbee2mqtt/new smoke", "zigbee2mqtt/bridge-b/hall motion"):
        rec = decode(topic, smoke)  # the name heard on another bridge (or on none) has no alias there
        assert isinstance(rec, Rejection) and rec.reason == "unknown_device", topic
    assert decode("zigbee2mqtt/bridge-b/bridge/state", BRIDGE_STATE).reason == "zigbee2mqtt_bridge"
    assert not aliases.remove("zigbee2mqtt", "new smoke", BRIDGE)
    assert aliases.remove("zigbee2mqtt", "new smoke", "bridge-b")
    assert isinstance(decode("zigbee2mqtt/bridge-b/new smoke", smoke), Rejection)
