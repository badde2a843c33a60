"""A tiny synthetic home in the shared layout (home.json, sensors.csv, events.csv[, labels.csv]) for the replay,
the splicer, the CLI and import-home tests: one resident's regular days at UTC+8, with silences cut in on demand."""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

TZ = timezone(timedelta(hours=8))
DAY0 = datetime(2024, 3, 1, tzinfo=TZ)  # local midnight of day 0
SENSORS = [  # sensor_id, kind, room, front_door, name
    ("pir_bed", "motion", "bedroom", 0, "PIR bedroom"),
    ("mat", "bed", "bedroom", 0, "bed mat"),
    ("pir_bath", "motion", "bathroom", 0, "PIR bathroom"),
    ("flush", "flush", "toilet", 0, "toilet flush"),
    ("pir_kit", "motion", "kitchen", 0, "PIR kitchen"),
    ("fridge", "appliance", "kitchen", 0, "fridge"),
    ("cup", "contact", "kitchen", 0, "cupboard"),
    ("front", "door", "entrance", 1, "front door"),
    ("in_door", "door", "bedroom", 0, "bedroom door"),
]


def at(day: int, hour: float) -> datetime:
    """Local time of an hour of a day."""
    return DAY0 + timedelta(days=day, hours=hour)


def night_bath(day: int) -> float:
    """Hour of the night's toilet visit (then back to bed three minutes later)."""
    return 3.0 + 0.1 * (day % 3)


def day_events(day: int, rng: random.Random, out_at: float | None = 15.0) -> list[tuple[datetime, str, int]]:
    """One ordinary day: up at about 7, kitchen and bathroom through the day, an outing, bed at about 22:30, a
    night visit to the toilet."""
    ev: list[tuple[datetime, str, int]] = []

    def pulse(t: datetime, sensor: str, hold_s: float = 2.0) -> None:
        ev.append((t, sensor, 1))
        ev.append((t + timedelta(seconds=hold_s), sensor, 0))

    wake = 7.0 + rng.uniform(-0.3, 0.3)
    pulse(at(day, night_bath(day)), "pir_bath")
    pulse(at(day, night_bath(day) + 0.05), "mat")
    pulse(at(day, wake), "mat")
    pulse(at(day, wake + 0.02), "in_door")
    pulse(at(day, wake + 0.05), "pir_bath")
    pulse(at(day, wake + 0.1), "flush")
    h = wake + 0.3
    while h < 22.3:
        if out_at is not None and out_at <= h < out_at + 1.5:
            pulse(at(day, out_at), "front", 5)
            h = out_at + 1.5
            pulse(at(day, h), "front", 5)
        pulse(at(day, h), "pir_kit", 30)
        if rng.random() < 0.3:
            pulse(at(day, h + 0.01), "cup")
        if rng.random() < 0.2:
            pulse(at(day, h + 0.02), "fridge")
        if rng.random() < 0.15:
            pulse(at(day, h + 0.05), "pir_bath")
        h += rng.uniform(0.2, 0.6)
    pulse(at(day, 22.4), "pir_bath")
    pulse(at(day, 22.5), "in_door")
    pulse(at(day, 22.55), "mat")
    return ev


CONTACTS_ONLY = [s for s in SENSORS if s[0] not in ("mat", "pir_bed", "in_door")] + [
    ("in_door", "door", "hall", 0, "hall-bedroom door")]  # no bed mat: the bedroom's door, on the hall, sees bedtime


def write_home(root: Path, days: int = 8, silences: list[tuple[datetime, datetime, str]] | None = None,
               labels: bool = True, seed: int = 1, extra_sensor: bool = False, contacts_only: bool = False,
               door_silent: bool = False) -> Path:
    """Write the home; `silences` (start, end, kind) remove events like the dev set's splices and are labelled.
    `contacts_only`: no bed mat nor bedroom motion sensor, the bedroom door registered in the hall (where the mat and
    the bedroom sensor fired, the door does). `door_silent`: the front door is registered but never fires."""
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    events = [e for d in range(days) for e in day_events(d, rng, out_at=15.0 if d % 2 else None)]
    if contacts_only:
        events = [(t, "in_door" if s in ("mat", "pir_bed") else s, v) for t, s, v in events]
    if door_silent:
        events = [e for e in events if e[1] != "front"]
    if extra_sensor:  # an id that fires but is not in sensors.csv
        events += [(at(d, 12.0), "S99", 1) for d in range(days)]
    cuts = silences or []
    events = sorted(e for e in events if not any(a <= e[0] < b for a, b, _ in cuts))
    (root / "home.json").write_text(json.dumps({"timezone": "Asia/Shanghai", "resident": "test", "lives_alone": True,
                                                "days": float(days)}))
    with (root / "sensors.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sensor_id", "kind", "room", "front_door", "name"])
        w.writerows(CONTACTS_ONLY if contacts_only else SENSORS)
    with (root / "events.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ts", "sensor_id", "value"])
        w.writerows((t.isoformat(), s, v) for t, s, v in events)
    if labels and cuts:
        with (root / "labels.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["start", "end", "kind"])
            w.writerows((a.isoformat(), b.isoformat(), k) for a, b, k in cuts)
    return root
