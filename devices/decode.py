"""Topic + payload bytes -> a typed record (Reading, DeviceEvent, Availability, DisasterReport) or a Rejection.

Checks in order, each with its own reason code: oversized, bad_topic, unknown_device, topic_mismatch, not_json,
invalid (types, ranges, missing or unknown fields), clock (timestamp too far in the future or past).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import msgspec
import numpy as np

from devices import schemas
from devices.acc_timing import to_grid
from devices.adapters import PREFIXES, Adapters, AliasResolver, Ignored
from devices.geo import gcj02_to_wgs84
from devices.models import (
    Availability,
    DeviceEvent,
    DisasterReport,
    Family,
    Reading,
    Rejection,
    ResponderStatus,
    TeamStatus,
)
from devices.records import DeviceRecord
from devices.responder_status import PREFIX as RESPONDERS
from devices.responder_status import decode_status
from devices.team_status import PREFIX as TEAMS
from devices.team_status import decode_team_status

Decoded = Reading | DeviceEvent | Availability | DisasterReport | Rejection | Ignored | ResponderStatus | TeamStatus
MAX_PAST_S = 30 * 24 * 3600.0  # devices buffer offline data for days, not months
_SKIP = frozenset({"ts", "seq", "device_id", "acc", "acc_hz", "acc_t"})

# (domain, channel) -> family that may publish there, and the schema of the payload.
CHANNELS: dict[tuple[str, str], tuple[frozenset[Family], type[msgspec.Struct] | None]] = {
    ("eldercare", "telemetry"): (frozenset({Family.WEARABLE, Family.HOME_SENSOR}), None),
    ("eldercare", "event"): (frozenset({Family.WEARABLE, Family.HOME_SENSOR}), schemas.DeviceEventPayload),
    ("eldercare", "availability"): (frozenset({Family.WEARABLE, Family.HOME_SENSOR}), None),
    ("disaster", "observation"): (frozenset({Family.TERMINAL}), schemas.TerminalObservation),
    ("disaster", "report"): (frozenset({Family.TERMINAL}), schemas.TerminalReport),
    ("disaster", "availability"): (frozenset({Family.TERMINAL}), None),
}
TELEMETRY: dict[Family, type[msgspec.Struct]] = {
    Family.WEARABLE: schemas.WearableTelemetry, Family.HOME_SENSOR: schemas.HomeSensorState}
_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {}
Route = tuple[str, Family, type[msgspec.Struct] | None]


class Reject(Exception):
    """Raised inside the decoder; turned into a Rejection record with the same reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _decoder(schema: type[Any]) -> msgspec.json.Decoder[Any]:
    dec = _DECODERS.get(schema)
    if dec is None:
        dec = _DECODERS[schema] = msgspec.json.Decoder(schema)
    return dec


def _fields(schema: type[msgspec.Struct]) -> tuple[tuple[int, str], ...]:
    return tuple((i, f) for i, f in enumerate(schema.__struct_fields__) if f not in _SKIP)


# (position in the struct, name) of every scalar metric: read with one astuple() instead of a getattr each.
_VALUE_SCHEMAS: tuple[type[msgspec.Struct], ...] = (*TELEMETRY.values(), schemas.TerminalObservation)
_VALUE_FIELDS = {s: _fields(s) for s in _VALUE_SCHEMAS}
_FAMILY = {f.value: f for f in Family}


class Decoder:
    """Validates messages against the contract and the registry snapshot."""

    def __init__(self, max_payload_bytes: int, max_future_s: float, aliases: AliasResolver | None = None) -> None:
        self.max_payload_bytes = max_payload_bytes
        self.max_future_s = max_future_s
        self.adapters = Adapters(max_future_s, MAX_PAST_S, aliases)  # zigbee2mqtt and OwnTracks (issue 9)
        # topic -> route, for the registry snapshot it was checked against (only valid topics are kept, so
        # the map holds at most one entry per registered device and channel)
        self._routes: dict[str, Route] = {}
        self._routes_of: dict[str, DeviceRecord] | None = None

    def decode(self, topic: str, payload: bytes, devices: dict[str, DeviceRecord], now: float) -> Decoded:
        """Decode one message; never raises. Positions come out as WGS-84 whatever datum the device reports in."""
        try:
            rec = self._decode(topic, payload, devices, now)
        except Reject as rej:
            return Rejection(topic, rej.reason, rej.detail, payload[:4096], now)
        if type(rec) is Reading and "lat" in rec.values:
            device = devices.get(rec.device_id)
            if device is not None and device.datum == "gcj02":
                return _to_wgs84(rec)
        return rec

    def _decode(self, topic: str, payload: bytes, devices: dict[str, DeviceRecord], now: float) -> Decoded:
        if len(payload) > self.max_payload_bytes:
            raise Reject("oversized", f"{len(payload)} bytes > {self.max_payload_bytes}")
        if devices is not self._routes_of:  # a new registry snapshot: routes are looked up again
            self._routes, self._routes_of = {}, devices
        route = self._routes.get(topic)
        if route is None:
            if topic.startswith(PREFIXES):
                return self.adapters.decode(topic, payload, devices, now)
            if topic.startswith(RESPONDERS):  # responder apps' answers to offers (issue 5)
                return decode_status(topic, payload, now, self.max_future_s)
            if topic.startswith(TEAMS):  # rescue teams' progress on their assignments (issue 14)
                return decode_team_status(topic, payload, now, self.max_future_s)
            route = self._routes[topic] = _route(topic, devices)
        device_id, family, schema = route
        if schema is None:
            return _availability(device_id, payload, now)
        body = _parse(schema, payload)
        if body.device_id is not None and body.device_id != device_id:
            raise Reject("topic_mismatch", f"payload device_id {body.device_id[:64]!r} != topic's {device_id!r}")
        if body.ts > now + self.max_future_s or body.ts < now - MAX_PAST_S:
            raise Reject("clock", f"ts {body.ts} is {body.ts - now:+.0f} s from the hub's clock")
        return _record(family, device_id, body, now)


def _route(topic: str, devices: dict[str, DeviceRecord]) -> Route:
    """Check a topic against the contract and the registry: (device id, family, schema; None = availability)."""
    parts = topic.split("/")
    if len(parts) != 3 or (parts[0], parts[2]) not in CHANNELS:
        raise Reject("bad_topic", f"expected <eldercare|disaster>/<device_id>/<channel>, got {topic[:200]!r}")
    domain, device_id, channel = parts
    device = devices.get(device_id)
    if device is None:
        raise Reject("unknown_device", f"{device_id[:64]!r} is not registered (or was revoked)")
    family = _FAMILY[device.family]
    allowed, schema = CHANNELS[(domain, channel)]
    if family not in allowed:
        raise Reject("topic_mismatch", f"a {family.value} may not publish on {domain}/.../{channel}")
    if channel == "availability":
        return device_id, family, None
    return device_id, family, schema or TELEMETRY[family]


def _parse(schema: type[Any], payload: bytes) -> Any:
    try:
        return _decoder(schema).decode(payload)
    except msgspec.ValidationError as exc:
        raise Reject("invalid", str(exc)[:300]) from exc
    except msgspec.DecodeError as exc:
        raise Reject("not_json", str(exc)[:300]) from exc


def _availability(device_id: str, payload: bytes, now: float) -> Availability:
    text = payload.strip()
    if text in (b"online", b"offline"):
        return Availability(device_id, text == b"online", now)
    body = _parse(schemas.AvailabilityPayload, payload)
    return Availability(device_id, body.state == "online", now)


def _record(family: Family, device_id: str, body: Any, now: float) -> Decoded:
    if isinstance(body, schemas.DeviceEventPayload):
        detail = {"service": body.service} if body.service else {}
        return DeviceEvent(device_id, body.ts, body.seq, body.event, detail)
    if isinstance(body, schemas.TerminalReport):
        indicators = {k: float(v) for k, v in msgspec.structs.asdict(body.indicators).items()}
        return DisasterReport(device_id, body.ts, body.seq, body.event_id, body.stage, body.hazard,
                              indicators, body.officer or "", body.note or "", now)
    row = msgspec.structs.astuple(body)
    values = {name: float(row[i]) for i, name in _VALUE_FIELDS[type(body)] if row[i] is not None}
    acc = getattr(body, "acc", None)
    if acc is None:
        return Reading(device_id, family, body.ts, body.seq, values)
    if body.acc_hz is None:
        raise Reject("invalid", "acc needs acc_hz (its sample rate) - at $.acc_hz")
    # [[x, y, z], ...] (three axes each: the schema's) flattened straight into float32: half the time of np.asarray
    # over the nested lists (4 of 8 us a 50-sample window; issue 20: 10,000 windows a second)
    window = np.fromiter(chain.from_iterable(acc), dtype=np.float32, count=3 * len(acc)).reshape(-1, 3)
    values["acc_peak_g"] = float(np.sqrt(np.einsum("ij,ij->i", window, window).max()))
    if body.acc_t is None:
        return Reading(device_id, family, body.ts, body.seq, values, window, body.acc_hz)
    if len(body.acc_t) != len(window):
        raise Reject("invalid", "acc_t needs one time per acc sample - at $.acc_t")
    # per-sample times (a watch delivering in bursts): onto the grid k / acc_hz; ts becomes the first grid time
    start, grid = to_grid(body.ts + np.asarray(body.acc_t), window, body.acc_hz)
    if len(grid) == 0:
        return Reading(device_id, family, body.ts, body.seq, values)
    return Reading(device_id, family, start, body.seq, values, grid, body.acc_hz)


def _to_wgs84(reading: Reading) -> Reading:
    """A GCJ-02 device's reading with its position converted to WGS-84 (issue 18), the datum the hub stores."""
    values = dict(reading.values)
    values["lat"], values["lon"] = gcj02_to_wgs84(values["lat"], values.get("lon", 0.0))
    return reading._replace(values=values)
