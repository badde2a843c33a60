"""Payload schemas of the MQTT contract (docs/mqtt-contract.md), with units and plausible ranges.

msgspec decodes and validates a payload in about a microsecond (pydantic: several), which matters on the ingest
hot path; a failure raises `msgspec.ValidationError` whose text names the field (`... at $.heart_rate`).
Field names follow zigbee2mqtt where a home sensor has the same quantity (`occupancy`, `contact`, `smoke`...).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Ts = Annotated[float, Meta(ge=946_684_800.0, le=4_102_444_800.0, description="device time, s since epoch (UTC)")]
Seq = Annotated[int, Meta(ge=0, le=2**53, description="per-device sequence number, +1 per message")]
Percent = Annotated[float, Meta(ge=0.0, le=100.0)]
Lat = Annotated[float, Meta(ge=-90.0, le=90.0, description="WGS84 degrees")]
Lon = Annotated[float, Meta(ge=-180.0, le=180.0, description="WGS84 degrees")]
Axis = Annotated[float, Meta(ge=-64.0, le=64.0, description="acceleration, g")]
AccSample = Annotated[list[Axis], Meta(min_length=3, max_length=3)]
MAX_ACC_SAMPLES = 1024  # a window of at most ~5 s at 200 Hz
# What the time-series store keeps of a reading, one nullable column each, in this order (the DuckDB table's): every
# scalar field of the three telemetry schemas below, and `acc_peak_g`, the peak |a| of an accelerometer window (the
# window itself is kept only around alerts). tests/devices/test_schemas.py checks it against the schemas.
STORED_METRICS: tuple[str, ...] = (
    "heart_rate", "spo2", "skin_temp", "systolic", "diastolic", "battery", "steps", "lat", "lon", "acc_peak_g",
    "occupancy", "contact", "bed_occupied", "smoke", "gas", "water_leak", "temperature", "humidity",
    "rainfall_mm", "river_level_m", "displacement_mm",
)
AccOffset = Annotated[float, Meta(ge=0.0, le=10.0, description="time of one acc sample after ts, s")]


class WearableTelemetry(msgspec.Struct, forbid_unknown_fields=True):
    """`eldercare/<device_id>/telemetry` from a wearable. Every measurement is optional; ts and seq are not."""

    ts: Ts
    seq: Seq
    device_id: str | None = None
    heart_rate: Annotated[float, Meta(ge=20.0, le=250.0, description="bpm")] | None = None
    spo2: Annotated[float, Meta(ge=50.0, le=100.0, description="%")] | None = None
    skin_temp: Annotated[float, Meta(ge=25.0, le=45.0, description="deg C")] | None = None
    systolic: Annotated[float, Meta(ge=50.0, le=260.0, description="mmHg")] | None = None
    diastolic: Annotated[float, Meta(ge=30.0, le=160.0, description="mmHg")] | None = None
    battery: Percent | None = None
    steps: Annotated[int, Meta(ge=0, le=10_000, description="steps since the previous message")] | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    acc: Annotated[list[AccSample], Meta(min_length=1, max_length=MAX_ACC_SAMPLES)] | None = None
    acc_hz: Annotated[float, Meta(ge=20.0, le=200.0, description="(nominal) sample rate of acc, Hz")] | None = None
    acc_t: Annotated[list[AccOffset], Meta(min_length=1, max_length=MAX_ACC_SAMPLES)] | None = None


class HomeSensorState(msgspec.Struct, forbid_unknown_fields=True):
    """`eldercare/<device_id>/telemetry` from a home sensor (zigbee2mqtt field names)."""

    ts: Ts
    seq: Seq
    device_id: str | None = None
    occupancy: bool | None = None
    contact: bool | None = None  # True = closed
    bed_occupied: bool | None = None
    smoke: bool | None = None
    gas: bool | None = None
    water_leak: bool | None = None
    temperature: Annotated[float, Meta(ge=-40.0, le=90.0, description="deg C")] | None = None
    humidity: Percent | None = None
    battery: Percent | None = None


class TerminalObservation(msgspec.Struct, forbid_unknown_fields=True):
    """`disaster/<terminal_id>/observation` from a rain gauge, river gauge or landslide sensor."""

    ts: Ts
    seq: Seq
    device_id: str | None = None
    rainfall_mm: Annotated[float, Meta(ge=0.0, le=500.0, description="rain since the last message, mm")] | None = None
    river_level_m: Annotated[float, Meta(ge=-50.0, le=2000.0, description="water level above datum, m")] | None = None
    displacement_mm: Annotated[float, Meta(ge=-10_000.0, le=10_000.0, description="cumulative, mm")] | None = None
    battery: Percent | None = None


Count = Annotated[int, Meta(ge=0, le=100_000_000)]
Amount = Annotated[float, Meta(ge=0.0, le=1e9)]


class ReportIndicators(msgspec.Struct, forbid_unknown_fields=True):
    """Indicators of the natural-disaster statistical survey (2020), as a village officer reports them."""

    affected_population: Count = 0
    deaths: Count = 0
    missing: Count = 0
    injured_ill: Count = 0
    emergency_relocated: Count = 0
    trapped: Count = 0
    short_of_drinking_water: Count = 0
    crop_affected_ha: Amount = 0.0
    crop_damaged_ha: Amount = 0.0
    crop_destroyed_ha: Amount = 0.0
    farmland_destroyed_ha: Amount = 0.0
    houses_collapsed_rooms: Count = 0
    houses_damaged_rooms: Count = 0
    direct_loss_10k_cny: Amount = 0.0


Hazard = Literal[
    "flood", "drought", "typhoon", "hail_wind", "cold_frost", "snow", "sandstorm", "earthquake",
    "landslide", "storm_surge", "forest_fire", "biological",
]
Stage = Literal["initial", "follow_up", "verified"]


class TerminalReport(msgspec.Struct, forbid_unknown_fields=True):
    """`disaster/<terminal_id>/report`: a village disaster-information officer's report at one stage."""

    ts: Ts
    seq: Seq
    event_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    stage: Stage
    hazard: Hazard
    indicators: ReportIndicators
    device_id: str | None = None
    officer: Annotated[str, Meta(max_length=64)] | None = None
    note: Annotated[str, Meta(max_length=2000)] | None = None


EventName = Literal["sos", "fall", "ok", "service_request"]
Service = Literal["meals", "cleaning", "nursing", "medical_escort", "emergency_visit"]


class DeviceEventPayload(msgspec.Struct, forbid_unknown_fields=True):
    """`eldercare/<device_id>/event`: red key (sos), device-side fall, "I'm OK" cancel, green key (service)."""

    ts: Ts
    seq: Seq
    event: EventName
    device_id: str | None = None
    service: Service | None = None


class AvailabilityPayload(msgspec.Struct):
    """`<domain>/<device_id>/availability`, retained, set by the device's last will: {"state": "online"}."""

    state: Literal["online", "offline"]
