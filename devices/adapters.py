"""zigbee2mqtt and OwnTracks messages -> the hub's records, so existing sensors and phones feed the same pipeline.

Payloads are decoded with msgspec, tolerant of fields the hub does not use (linkquality, illuminance, voltage,
update, tid, vel...) and strict on the types of those it does. Neither client sends the contract's `seq`:
- zigbee2mqtt: ts is its `last_seen` when the bridge is configured to send it (then seq = ts in ms, so a
  redelivery of the same state is a duplicate), otherwise the hub's receive time, with seq = a per-device counter
  that starts at the receive time in ms (monotonic across restarts without being stored). zigbee2mqtt publishes
  at QoS 0 by default, so there is no redelivery to recognise; a state repeated later is a new reading.
- OwnTracks: ts and seq = its `tst` (s): a fix redelivered under QoS 1 carries the same tst and is dropped.
A zigbee2mqtt topic is `zigbee2mqtt/<bridge id>/<friendly name>[/...]` (issue 16: one base topic per bridge, its
alias bound to that bridge). Topics that are not device data (zigbee2mqtt/<bridge id>/bridge/..., /set, /get,
OwnTracks types other than "location") are `Ignored`: acked and counted, never dead-lettered, since a healthy
bridge sends them all the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import msgspec

from devices.ecosystem_schemas import OwnTracksLocation, OwnTracksType, Z2MState
from devices.models import Availability, Family, Reading, Rejection
from devices.records import DeviceRecord
from devices.schemas import AvailabilityPayload

PREFIXES = ("zigbee2mqtt/", "owntracks/")
MAX_FIX_ACC_M = 1000.0  # a coarser fix (cell towers) is no position: only its battery is kept
Z2M_FIELDS = ("occupancy", "contact", "water_leak", "smoke", "gas", "temperature", "humidity", "battery")
_COMMANDS = frozenset({"set", "get"})
_S = TypeVar("_S", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A message that is not device data (bridge state, commands, other OwnTracks types): acked, counted, dropped."""

    topic: str
    reason: str


class AliasResolver(Protocol):
    """Maps an external identity to a device id (devices/aliases.py AliasBook)."""

    def resolve(self, source: str, external_id: str) -> str | None:
        """The device id, or None."""
        ...


class _Bad(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


Outcome = Reading | Availability | Ignored | Rejection


class Adapters:
    """Decodes zigbee2mqtt and OwnTracks messages against the registry snapshot and the alias table."""

    def __init__(self, max_future_s: float, max_past_s: float, aliases: AliasResolver | None = None) -> None:
        self.max_future_s = max_future_s
        self.max_past_s = max_past_s
        self.aliases = aliases
        self._counters: dict[str, int] = {}
        schemas = (Z2MState, OwnTracksType, OwnTracksLocation, AvailabilityPayload)
        self._dec: dict[type, msgspec.json.Decoder[Any]] = {t: msgspec.json.Decoder(t) for t in schemas}

    def decode(self, topic: str, payload: bytes, devices: dict[str, DeviceRecord], now: float) -> Outcome:
        """One message of either ecosystem; never raises."""
        try:
            if topic.startswith("zigbee2mqtt/"):
                return self._zigbee2mqtt(topic, topic[len("zigbee2mqtt/") :], payload, devices, now)
            return self._owntracks(topic, payload, devices, now)
        except _Bad as bad:
            return Rejection(topic, bad.reason, bad.detail, payload[:4096], now)

    def device_of(self, topic: str) -> str | None:
        """The device an ecosystem topic speaks for through its alias, without reading the payload (None: not an
        ecosystem topic, or no alias). The flood guard keys its buckets by it (issue 16)."""
        if self.aliases is None:
            return None
        if topic.startswith("zigbee2mqtt/"):
            return self.aliases.resolve("zigbee2mqtt", topic[len("zigbee2mqtt/") :].removesuffix("/availability"))
        parts = topic.split("/")
        if parts[0] == "owntracks" and len(parts) == 3:
            return self.aliases.resolve("owntracks", f"{parts[1]}/{parts[2]}")
        return None

    def _zigbee2mqtt(
        self, topic: str, name: str, payload: bytes, devices: dict[str, DeviceRecord], now: float
    ) -> Outcome:
        # issue 16: name = '<bridge id>/<friendly name>' (each bridge's base topic is zigbee2mqtt/<its id>)
        rest = name.partition("/")[2]
        if name == "bridge" or name.startswith("bridge/") or rest == "bridge" or rest.startswith("bridge/"):
            return Ignored(topic, "zigbee2mqtt_bridge")
        if name.rsplit("/", 1)[-1] in _COMMANDS:
            return Ignored(topic, "zigbee2mqtt_command")
        if name.endswith("/availability"):
            device_id = self._device("zigbee2mqtt", name[: -len("/availability")], Family.HOME_SENSOR, devices)
            text = payload.strip()
            online = text == b"online" if text in (b"online", b"offline") else self._parse_state(payload)
            return Availability(device_id, online, now)
        device_id = self._device("zigbee2mqtt", name, Family.HOME_SENSOR, devices)
        body: Z2MState = self._parse(Z2MState, payload)
        ts = _last_seen(body.last_seen) if body.last_seen is not None else None
        if ts is not None:
            self._check_clock(ts, now)
            seq = int(ts * 1000)
        else:
            ts, seq = now, max(self._counters.get(device_id, -1) + 1, int(now * 1000))
            self._counters[device_id] = seq
        values = {f: float(v) for f in Z2M_FIELDS if (v := getattr(body, f)) is not None}
        return Reading(device_id, Family.HOME_SENSOR, ts, seq, values)

    def _owntracks(self, topic: str, payload: bytes, devices: dict[str, DeviceRecord], now: float) -> Outcome:
        parts = topic.split("/")
        if len(parts) != 3:
            return Ignored(topic, "owntracks_subtopic")
        kind: OwnTracksType = self._parse(OwnTracksType, payload)
        if kind.type != "location":
            return Ignored(topic, f"owntracks_{kind.type[:32]}")
        device_id = self._device("owntracks", f"{parts[1]}/{parts[2]}", Family.WEARABLE, devices)
        fix: OwnTracksLocation = self._parse(OwnTracksLocation, payload)
        self._check_clock(fix.tst, now)
        values = {} if fix.acc is not None and fix.acc > MAX_FIX_ACC_M else {"lat": fix.lat, "lon": fix.lon}
        if fix.batt is not None:
            values["battery"] = float(fix.batt)
        return Reading(device_id, Family.WEARABLE, float(fix.tst), fix.tst, values)

    def _device(self, source: str, external_id: str, family: Family, devices: dict[str, DeviceRecord]) -> str:
        """The registered device behind a name: only through its alias (issue 16: no bare-name fallback)."""
        device_id = self.aliases.resolve(source, external_id) if self.aliases else None
        device = devices.get(device_id) if device_id is not None else None
        if device_id is None or device is None:
            raise _Bad("unknown_device", f"{source} {external_id[:64]!r} has no alias to a registered device")
        if device.family != family.value:
            raise _Bad("topic_mismatch", f"{source} {external_id[:64]!r} maps to a {device.family}, not a {family}")
        return device_id

    def _parse_state(self, payload: bytes) -> bool:
        return self._parse(AvailabilityPayload, payload).state == "online"

    def _parse(self, schema: type[_S], payload: bytes) -> _S:
        try:
            return self._dec[schema].decode(payload)
        except msgspec.ValidationError as exc:
            raise _Bad("invalid", str(exc)[:300]) from exc
        except msgspec.DecodeError as exc:
            raise _Bad("not_json", str(exc)[:300]) from exc

    def _check_clock(self, ts: float, now: float) -> None:
        if ts > now + self.max_future_s or ts < now - self.max_past_s:
            raise _Bad("clock", f"ts {ts} is {ts - now:+.0f} s from the hub's clock")


def _last_seen(value: int | str) -> float:
    """zigbee2mqtt's last_seen (epoch ms, or ISO 8601 "...Z" / with its offset; naive is taken as UTC) in epoch s."""
    if isinstance(value, int):
        return value / 1000.0
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _Bad("invalid", f"last_seen {value[:40]!r} is not ISO 8601 - at $.last_seen") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
