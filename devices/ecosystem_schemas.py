"""Payload schemas of the clients the hub accepts as they are (issue 9): zigbee2mqtt states and OwnTracks messages.

Tolerant of fields the hub does not use (no forbid_unknown_fields), strict on the types and ranges of those it does.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from devices.schemas import Lat, Lon, Percent


class Z2MState(msgspec.Struct):
    """`zigbee2mqtt/<friendly_name>`: the fields the hub uses; others are ignored."""

    occupancy: bool | None = None
    contact: bool | None = None  # True = closed
    water_leak: bool | None = None
    smoke: bool | None = None
    gas: bool | None = None
    temperature: Annotated[float, Meta(ge=-40.0, le=90.0)] | None = None
    humidity: Percent | None = None
    battery: Percent | None = None
    linkquality: Annotated[int, Meta(ge=0, le=255)] | None = None
    last_seen: int | str | None = None  # epoch ms or ISO 8601, per the bridge's advanced.last_seen


class OwnTracksType(msgspec.Struct):
    """Any OwnTracks message: only its `_type` is read first."""

    type: str = msgspec.field(name="_type")


class OwnTracksLocation(msgspec.Struct):
    """An OwnTracks location message (owntracks.org/booklet/tech/json)."""

    lat: Lat
    lon: Lon
    tst: Annotated[int, Meta(ge=946_684_800, le=4_102_444_800)]
    acc: Annotated[float, Meta(ge=0.0)] | None = None
    batt: Percent | None = None
