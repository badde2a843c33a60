"""Realistic payloads per device, speaking the MQTT contract (docs/mqtt-contract.md).

Each simulated device keeps its own sequence counter and a little state (battery drain, a resting heart rate,
where in the home the resident is), so the stream looks like a community's rather than noise.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from devices.models import Family
from devices.records import DeviceRecord

ACC_HZ = 50
DOMAIN = {Family.WEARABLE.value: "eldercare", Family.HOME_SENSOR.value: "eldercare", Family.TERMINAL.value: "disaster"}


@dataclass
class SimDevice:
    """One simulated device: identity, position, counters."""

    record: DeviceRecord
    home_lat: float
    home_lon: float
    rng: random.Random
    seq: int = 0
    battery: float = 100.0
    baseline_hr: float = 72.0
    level_m: float = 30.0
    state: dict[str, bool] = field(default_factory=dict)
    script: list[list[list[float]]] = field(default_factory=list)  # accelerometer windows to play next (a fall)
    quiet: bool = False  # a staged long inactivity: no steps, no motion, the door shut (simulators/demo_script.py)
    overrides: dict[str, Any] = field(default_factory=dict)  # staged values (low SpO2, smoke) until override_until
    override_until: float = 0.0

    @property
    def domain(self) -> str:
        """Topic root of this device's family."""
        return DOMAIN[self.record.family]

    def topic(self, channel: str) -> str:
        """`<domain>/<device_id>/<channel>`."""
        return f"{self.domain}/{self.record.device_id}/{channel}"

    def next_seq(self) -> int:
        """Advance and return the device's sequence number."""
        self.seq += 1
        return self.seq


def _acc_window(rng: random.Random, active: bool) -> list[list[float]]:
    """One second at ACC_HZ of a waist/wrist accelerometer: gravity on y, some motion when active."""
    amp = 0.25 if active else 0.02
    out = []
    for i in range(ACC_HZ):
        phase = 2 * math.pi * 1.8 * i / ACC_HZ
        out.append([round(amp * math.sin(phase) + rng.gauss(0, 0.02), 3),
                    round(-1.0 + amp * math.cos(2 * phase) + rng.gauss(0, 0.02), 3),
                    round(rng.gauss(0, 0.03), 3)])
    return out


def wearable_payload(dev: SimDevice, t: float, with_acc: bool = True) -> dict[str, Any]:
    """Vitals, battery, position and (optionally) one accelerometer window."""
    rng = dev.rng
    hour = (t / 3600 + 8) % 24  # China Standard Time
    awake = 7 <= hour < 22
    dev.battery = max(5.0, dev.battery - 0.0005)
    payload: dict[str, Any] = {
        "ts": round(t, 3), "seq": dev.next_seq(),
        "heart_rate": round(dev.baseline_hr + (6 if awake else -6) + rng.gauss(0, 2.5), 1),
        "spo2": round(min(100.0, rng.gauss(97.0, 0.8)), 1),
        "skin_temp": round(rng.gauss(34.0, 0.3), 2),
        "battery": round(dev.battery, 1),
        "steps": rng.randint(0, 12) if awake else 0,
        "lat": round(dev.home_lat + rng.gauss(0, 0.00005), 6),
        "lon": round(dev.home_lon + rng.gauss(0, 0.00005), 6),
    }
    if dev.quiet:
        payload["steps"] = 0
    _override(dev, t, payload)
    if dev.script:
        payload["acc"] = dev.script.pop(0)
        payload["acc_hz"] = ACC_HZ
    elif with_acc:
        payload["acc"] = _acc_window(rng, awake and not dev.quiet and rng.random() < 0.3)
        payload["acc_hz"] = ACC_HZ
    return payload


def home_sensor_payload(dev: SimDevice, t: float) -> dict[str, Any]:
    """The state of a home sensor, with zigbee2mqtt field names."""
    rng, kind = dev.rng, dev.record.kind
    dev.battery = max(5.0, dev.battery - 0.0002)
    payload: dict[str, Any] = {"ts": round(t, 3), "seq": dev.next_seq(), "battery": round(dev.battery, 1)}
    field_name = {"motion": "occupancy", "door": "contact", "bed": "bed_occupied", "smoke": "smoke",
                  "gas": "gas", "water_leak": "water_leak"}.get(kind)
    if field_name == "contact":
        payload["contact"] = rng.random() > 0.05
    elif field_name in ("occupancy", "bed_occupied"):
        payload[field_name] = rng.random() < 0.4
    elif field_name is not None:
        payload[field_name] = False
    else:
        payload.update(temperature=round(rng.gauss(22, 1.5), 1), humidity=round(rng.gauss(60, 5), 1))
    if dev.quiet and field_name in QUIET:
        payload[field_name] = QUIET[field_name]
    _override(dev, t, payload)
    return payload


QUIET = {"occupancy": False, "bed_occupied": False, "contact": True}  # nobody moves, the door stays shut


def _override(dev: SimDevice, t: float, payload: dict[str, Any]) -> None:
    """Staged values replace the normal ones until `override_until` (simulated time)."""
    if dev.overrides and t < dev.override_until:
        payload.update(dev.overrides)
    elif dev.overrides:
        dev.overrides = {}


def terminal_payload(dev: SimDevice, t: float) -> dict[str, Any]:
    """An observation of a rain gauge, river gauge or landslide sensor in fair weather."""
    rng, kind = dev.rng, dev.record.kind
    payload: dict[str, Any] = {"ts": round(t, 3), "seq": dev.next_seq()}
    if kind == "rain_gauge":
        payload["rainfall_mm"] = round(max(0.0, rng.gauss(0.0, 0.2)), 2)
    elif kind == "river_gauge":
        dev.level_m += rng.gauss(0, 0.005)
        payload["river_level_m"] = round(dev.level_m, 3)
    else:
        payload["displacement_mm"] = round(rng.gauss(0.0, 0.3), 2)
    return payload


def payload_for(dev: SimDevice, t: float, with_acc: bool = True) -> tuple[str, dict[str, Any]]:
    """The topic and payload of the next periodic message of `dev`."""
    family = dev.record.family
    if family == Family.WEARABLE.value:
        return dev.topic("telemetry"), wearable_payload(dev, t, with_acc)
    if family == Family.HOME_SENSOR.value:
        return dev.topic("telemetry"), home_sensor_payload(dev, t)
    return dev.topic("observation"), terminal_payload(dev, t)
