"""The MQTT contract's typed records: what ingest makes of a device's message and hands to the store and detectors.

Frozen, slotted dataclasses: cheap to create, impossible to mutate by accident downstream. `Reading`, built once
per message on the ingest hot path, is a NamedTuple: as immutable, and 1 us cheaper to build than a dataclass.
Pydantic and msgspec stay at the edges (payload parsing in `devices/`, HTTP bodies in `dashboard/`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class Family(StrEnum):
    """The three device families of the MQTT contract."""

    WEARABLE = "wearable"
    HOME_SENSOR = "home_sensor"
    TERMINAL = "terminal"


class Reading(NamedTuple):
    """One validated telemetry/observation message from one device.

    `values` holds the scalar metrics under the contract's names (`heart_rate` in bpm, `river_level_m`: units as
    devices/schemas.py declares them, the stored ones listed in `STORED_METRICS`);
    `acc` is the accelerometer window (n x 3, g) when the message carried one, passed to the fall detector
    and never stored raw except as alert evidence.
    """

    device_id: str
    family: Family
    ts: float  # device time, seconds since the Unix epoch (UTC)
    seq: int
    values: dict[str, float]
    acc: Any = None  # numpy.ndarray (n, 3) float32 in g, or None
    acc_rate_hz: float = 0.0


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """A discrete event from a device: SOS key, device-side fall, "I'm OK" cancel, service request (green key)."""

    device_id: str
    ts: float
    seq: int
    event: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Availability:
    """A device's retained availability (its last will says offline)."""

    device_id: str
    online: bool
    ts: float


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that failed validation: kept in the dead-letter table with its reason."""

    topic: str
    reason: str
    detail: str
    payload: bytes
    received_at: float



@dataclass(frozen=True, slots=True)
class DisasterReport:
    """A village disaster-information officer's report at one stage (initial, follow_up, verified)."""

    device_id: str
    ts: float
    seq: int
    event_id: str
    stage: str
    hazard: str
    indicators: dict[str, float]
    officer: str = ""
    note: str = ""
    received_at: float = 0.0  # the hub's clock when it arrived (issue 14: the report's time); `ts` is the terminal's


@dataclass(frozen=True, slots=True)
class ResponderStatus:
    """A responder app's answer or progress on `responders/<id>/status` (issue 5), with its topic and payload."""

    responder_id: str
    offer_id: int
    status: str
    ts: float
    topic: str
    payload: bytes
    received_at: float


@dataclass(frozen=True, slots=True)
class TeamStatus:
    """A rescue team's progress on `teams/<team_id>/status` (issue 14), on the assignment it names."""

    team_id: str
    assignment_id: str
    status: str
    ts: float  # the team device's clock; the hub records its own receipt time (`received_at`)
    seq: int
    topic: str
    payload: bytes
    received_at: float
