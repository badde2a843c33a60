"""A real home in the shared layout (`home.json`, `sensors.csv`, `events.csv`, optional `labels.csv`), replayed
through the production routine detector on the home's own time, and scored against its labels afterwards.

Layout: `sensors.csv` has `sensor_id,kind,room,front_door,name`; `events.csv` has `ts,sensor_id,value` in time
order (ISO 8601 local time with its offset; 1 = on: motion seen, door opened, mat pressed; 0 = off);
`labels.csv` has `start,end,kind` of each emergency (a silence spliced in). Sensors are registered as the layout
describes them: motion sensors as motion, the front door as the door, bed mats as the bed, and every other kind
(inner doors, cupboards, appliances, the flush, seats, `unknown`) as an activity sensor of its room. The labels are
read only by `score`, after the replay; nothing in the replay sees them.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from alerts.care.routine import RoutineSettings
from alerts.catalog import DetectorSettings, build_catalog
from alerts.detection import Detection, Severity
from alerts.detector import Detector
from devices.models import Family, Reading
from devices.topology import DeviceInfo, Room, SensorKind, Topology

TICK_S = 60.0
HOME_ID, RESIDENT_ID = "home", "resident"
ROOMS = {"toilet": Room.BATHROOM, "entrance": Room.HALL, "unknown": ""}  # layout rooms -> the detectors' rooms


@dataclass(frozen=True, slots=True)
class Sensor:
    """One row of `sensors.csv`."""

    sensor_id: str
    kind: str
    room: str
    front_door: bool
    name: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One row of `events.csv`: UTC seconds, the sensor, 1 on / 0 off, and the local UTC offset (s)."""

    ts: float
    sensor_id: str
    value: int
    utc_offset_s: float


@dataclass(frozen=True, slots=True)
class Label:
    """One row of `labels.csv`: an emergency from `start` to `end` (UTC seconds)."""

    start: float
    end: float
    kind: str


@dataclass
class HomeLayout:
    """A home read from its folder; events and labels are loaded on demand."""

    root: Path
    info: dict[str, object]
    sensors: list[Sensor]
    events: list[Event] = field(default_factory=list)

    @property
    def days(self) -> float:
        """Days covered by the events (first to last)."""
        return (self.events[-1].ts - self.events[0].ts) / 86_400.0 if self.events else 0.0


class LayoutError(ValueError):
    """A home folder that does not follow the layout."""


def parse_ts(text: str) -> tuple[float, float]:
    """ISO 8601 with its offset -> (UTC seconds, UTC offset seconds)."""
    t = datetime.fromisoformat(text)
    off = t.utcoffset()
    if off is None:
        raise LayoutError(f"time {text!r} has no UTC offset")
    return t.timestamp(), off.total_seconds()


def read_sensors(root: Path) -> list[Sensor]:
    """The sensors of a home folder."""
    path = root / "sensors.csv"
    if not path.is_file():
        raise LayoutError(f"{root}: no sensors.csv (is it a home folder: home.json, sensors.csv, events.csv?)")
    with path.open(newline="") as f:
        return [Sensor(r["sensor_id"], r["kind"].strip().lower(), (r.get("room") or "").strip().lower(),
                       (r.get("front_door") or "0").strip() in ("1", "true", "yes"), r.get("name") or "")
                for r in csv.DictReader(f)]


def read_events(root: Path) -> Iterator[Event]:
    """The events of a home folder, as stored (time order)."""
    with (root / "events.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            ts, off = parse_ts(r["ts"])
            yield Event(ts, r["sensor_id"], int(float(r["value"])), off)


def read_labels(root: Path) -> list[Label] | None:
    """The labelled emergencies, or None where the folder has no labels.csv (scoring only)."""
    path = root / "labels.csv"
    if not path.is_file():
        return None
    with path.open(newline="") as f:
        return [Label(parse_ts(r["start"])[0], parse_ts(r["end"])[0], r["kind"]) for r in csv.DictReader(f)]


def load_home(root: Path) -> HomeLayout:
    """Read home.json, sensors.csv and events.csv (never labels.csv)."""
    root = Path(root)
    if not (root / "events.csv").is_file():
        raise LayoutError(f"{root}: no events.csv (is it a home folder: home.json, sensors.csv, events.csv?)")
    info_path = root / "home.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    return HomeLayout(root, info, read_sensors(root), list(read_events(root)))


def detector_kind(sensor: Sensor) -> SensorKind:
    """The kind the detectors see: motion, the front door, the bed; everything else is activity."""
    if sensor.kind == "motion":
        return SensorKind.MOTION
    if sensor.kind == "door" and sensor.front_door:
        return SensorKind.DOOR
    if sensor.kind == "bed":
        return SensorKind.BED
    return SensorKind.ACTIVITY


def detector_room(sensor: Sensor) -> str:
    """The room the detectors see (toilet counts as bathroom, the entrance as the hall)."""
    if sensor.front_door:
        return Room.HALL
    return ROOMS.get(sensor.room, sensor.room)


def topology(sensors: Iterable[Sensor], home_id: str = HOME_ID, resident_id: str = RESIDENT_ID) -> Topology:
    """The home's sensors registered as the layout describes them."""
    return Topology(DeviceInfo(s.sensor_id, Family.HOME_SENSOR, detector_kind(s), resident_id, home_id,
                               detector_room(s)) for s in sensors)


def values(kind: SensorKind, value: int) -> dict[str, float]:
    """A layout event as the reading a home sensor of that kind sends (zigbee2mqtt field names)."""
    on = 1.0 if value else 0.0
    if kind == SensorKind.DOOR:
        return {"contact": 1.0 - on}  # contact: closed
    if kind == SensorKind.BED:
        return {"bed_occupied": on}
    if kind == SensorKind.MOTION:
        return {"occupancy": on}
    return {"active": on}


def routine_detectors(layout: HomeLayout, settings: RoutineSettings | None = None) -> list[Detector]:
    """The production routine detector over the home's topology, on the home's local time."""
    routine = settings or RoutineSettings()
    if layout.events:
        routine.utc_offset_s = layout.events[0].utc_offset_s
    catalog = build_catalog(topology(layout.sensors), DetectorSettings(routine=routine))
    return catalog.build(["routine"])


def replay(layout: HomeLayout, detectors: list[Detector], events: Iterable[Event] | None = None) -> list[Detection]:
    """Feed every event in time order; time advances each minute of the home's own clock, to the last event."""
    kinds = {s.sensor_id: detector_kind(s) for s in layout.sensors}
    found: list[Detection] = []
    tick: float | None = None
    for seq, ev in enumerate(layout.events if events is None else events):
        kind = kinds.get(ev.sensor_id, SensorKind.ACTIVITY)
        if tick is None:
            tick = ev.ts - ev.ts % TICK_S + TICK_S
        while ev.ts >= tick:
            for det in detectors:
                found.extend(det.advance(tick))
            tick += TICK_S
        reading = Reading(ev.sensor_id, Family.HOME_SENSOR, ev.ts, seq, values(kind, ev.value))
        for det in detectors:
            found.extend(det.observe(reading))
    if tick is not None:
        for det in detectors:
            found.extend(det.advance(tick))
    return [d for d in found if d.severity != Severity.INFO]


def unknown_sensors(layout: HomeLayout) -> list[Sensor]:
    """Ids that fire in events.csv without a row in sensors.csv: registered as activity of an unknown room."""
    known = {s.sensor_id for s in layout.sensors}
    extra = sorted({e.sensor_id for e in layout.events} - known)
    return [Sensor(i, "unknown", "unknown", False) for i in extra]


def run(layout: HomeLayout, settings: RoutineSettings | None = None) -> list[Detection]:
    """Replay a home through fresh production detectors."""
    layout.sensors.extend(unknown_sensors(layout))
    return replay(layout, routine_detectors(layout, settings))


def score(labels: list[Label], alerts: list[Detection], days: float, offset_s: float = 0.0) -> dict[str, Any]:
    """Caught (an alert within [start, end]), latency of the first, and every other alert as false."""
    per: list[dict[str, Any]] = []
    used: set[int] = set()
    for lab in labels:
        hits = [i for i, d in enumerate(alerts) if lab.start <= d.ts <= lab.end]
        used.update(hits)
        latency = alerts[hits[0]].ts - lab.start if hits else None
        per.append({"start": iso(lab.start, offset_s), "kind": lab.kind, "caught": bool(hits),
                    "latency_h": None if latency is None else round(latency / 3600, 2)})
    latencies = [float(p["latency_h"]) for p in per if p["latency_h"] is not None]
    false = [i for i in range(len(alerts)) if i not in used]
    return {
        "emergencies": len(labels),
        "caught": sum(1 for p in per if p["caught"]),
        "latency_median_h": round(statistics.median(latencies), 2) if latencies else None,
        "per_emergency": per,
        "false_alerts": len(false),
        "false_alerts_per_home_month": round(len(false) / days * 30.0, 2) if days else None,
        "_false": false,
    }


def iso(ts: float, offset_s: float = 0.0) -> str:
    """UTC seconds as ISO 8601 in local time at the given UTC offset."""
    return datetime.fromtimestamp(ts, timezone(timedelta(seconds=offset_s))).isoformat()
