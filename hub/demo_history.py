"""A past for the demo community: incidents of the last days with realistic timings and outcomes, so the statistics
page has something to show the first time it is opened (and `bench.insights` has a county's year to time).

Rates and timings are plausible, not measured: about `per_resident_year` incidents a resident a year, more by day
than at night; operators acknowledge critical alerts in about 40 s (slower at night), responders reach the home in
15-25 minutes (further townships take longer); wrist-worn fall detectors cry wolf most often, waist-worn ones least.
Each incident is written as the hub writes it: its row, its alerts, and its lifecycle in the hash-chained audit log.
Service orders (hub/demo_history_services.py) and a past storm (hub/demo_history_storm.py) come with it (issue 19).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import orjson

from alerts.incidents.store import AUDIT_CHAINED, IncidentStore
from devices.i18n import kind_title, t
from devices.records import DeviceRecord
from devices.statedb import chain
from devices.statedb.sqlite import StateDB
from dispatch.responders import Responder
from hub.demo_history_services import past_orders, write_orders
from hub.demo_history_storm import write_storm
from simulators.community import Community

DAY_S = 86400.0
SEEDED = "demo_history_seeded"  # the audit action that marks a data folder as seeded (seeding happens once)
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 4, 7, 8, 8, 7, 6, 6, 6, 6, 6, 6, 7, 7, 6, 5, 4, 3, 2)  # local hours
# (detector, kind, severity, device kind (the resident's wearable or a home sensor), weight, false-alarm share)
KINDS: tuple[tuple[str, str, str, str, float, float], ...] = (
    ("fall", "fall", "critical", "wearable", 0.18, -1.0),  # -1: by where the wearable is worn (FALL_FALSE)
    ("device", "sos", "critical", "wearable", 0.12, 0.18),
    ("vitals", "vital_limit", "warning", "wearable", 0.25, 0.30),
    ("routine", "inactivity", "warning", "motion", 0.15, 0.40),
    ("home_safety", "smoke", "critical", "smoke", 0.08, 0.35),
    ("device_health", "device_offline", "info", "wearable", 0.22, 0.0),
)
FALL_FALSE = {"wrist": 0.45, "pendant": 0.25, "waist": 0.12, "phone": 0.3}
ACK_MEDIAN_S = {"critical": 40.0, "warning": 150.0, "info": 900.0}


@dataclass(frozen=True, slots=True)
class PastIncident:
    """One incident of the past with the times of its stages (None: not reached)."""

    row: dict[str, Any]  # the incidents row as the hub writes it
    detector: str
    alerts: int
    on_scene_at: float | None
    resolved_at: float


def _lognormal(rng: random.Random, median: float, spread: float = 0.6) -> float:
    return median * math.exp(rng.gauss(0.0, spread))


def _opened_at(rng: random.Random, start: float, days: int) -> float:
    day = rng.randrange(days)
    hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
    local = day * DAY_S + hour * 3600 + rng.uniform(0, 3600)
    return start + local  # `start` is a local midnight (as UTC epoch seconds)


def _timings(rng: random.Random, severity: str, opened: float, false_alarm: bool, far: float,
             night: bool) -> tuple[float, float | None, float | None, float]:  # fmt: skip
    ack = opened + _lognormal(rng, ACK_MEDIAN_S[severity] * (1.8 if night else 1.0))
    if false_alarm or severity == "info" or (severity == "warning" and rng.random() < 0.5):
        return ack, None, None, ack + _lognormal(rng, 240.0 if false_alarm else 900.0)
    dispatched = ack + _lognormal(rng, 150.0)
    on_scene = dispatched + _lognormal(rng, 900.0 * far, 0.4)
    return ack, dispatched, on_scene, on_scene + _lognormal(rng, 1800.0)


def _outcome(rng: random.Random, severity: str, false_alarm: bool, dispatched: bool) -> str:
    if false_alarm:
        return "false_alarm"
    if not dispatched:
        return "no_help_needed"
    if severity == "critical" and rng.random() < 0.15:
        return "taken_to_hospital"
    return rng.choices(("helped", "referred"), (0.85, 0.15))[0]


def past_incidents(community: Community, start: float, days: int, seed: int = 11,
                   per_resident_year: float = 10.0) -> list[PastIncident]:  # fmt: skip
    """Incidents of the community over `days` local days from the local midnight `start`, oldest first."""
    rng = random.Random(seed)
    homes = {h.home_id: h for h in community.homes}
    villages = {v.village_id: v for v in community.villages}
    towns = sorted({v.township for v in community.villages})
    sensors: dict[tuple[str, str], DeviceRecord] = {(d.home_id or "", d.kind): d for d in community.devices}
    wearables = {d.resident_id: d for d in community.devices if d.family == "wearable"}
    out = []
    count = round(len(community.residents) * per_resident_year * days / 365.0)
    for _ in range(count):
        resident = rng.choice(community.residents)
        detector, kind, severity, device_kind, _w, false_share = rng.choices(KINDS, [k[4] for k in KINDS])[0]
        wearable = wearables.get(resident.resident_id)
        device = wearable if device_kind == "wearable" else sensors.get((resident.home_id, device_kind), wearable)
        if device is None:
            continue
        if false_share < 0:
            false_share = FALL_FALSE.get(device.worn_at, 0.3)
        opened = _opened_at(rng, start, days)
        village = villages.get(homes[resident.home_id].village_id or "")
        far = 1.0 + 0.12 * (towns.index(village.township) % 6 if village else 0)
        night = (opened / 3600 + 8) % 24 < 6
        false_alarm = rng.random() < false_share
        ack, dispatched, on_scene, resolved = _timings(rng, severity, opened, false_alarm, far, night)
        household = detector == "home_safety"
        subject = t("subject.household", home_id=resident.home_id) if household else resident.name
        home = homes[resident.home_id]
        row = {"group_key": f"home:{resident.home_id}" if household else f"resident:{resident.resident_id}",
               "kind": kind, "severity": severity, "state": "closed" if resolved < start + days * DAY_S - 2 * DAY_S
               else "resolved", "resident_id": None if household else resident.resident_id,
               "home_id": resident.home_id, "device_id": device.device_id,
               "title": t("title.incident", kind=kind_title(kind), subject=subject)[:200], "opened_at": opened,
               "updated_at": resolved, "last_alert_at": opened, "acked_at": ack, "acked_by": "operator",
               "dispatched_at": dispatched, "responder_id": "history" if dispatched else None,
               "outcome": _outcome(rng, severity, false_alarm, dispatched is not None), "lat": home.lat,
               "lon": home.lon}  # fmt: skip
        out.append(PastIncident(row, detector, 1 + (rng.random() < 0.2), on_scene, resolved))
    out.sort(key=lambda p: p.row["opened_at"])
    return out


def _lifecycle(p: PastIncident, incident_id: int) -> list[list[Any]]:
    r = p.row
    steps = [("system", "opened", r["opened_at"], {"kind": r["kind"], "severity": r["severity"]}),
             ("operator", "acknowledged", r["acked_at"], {"from": "open", "comment": ""})]
    if r["dispatched_at"] is not None:
        steps.append(("operator", "dispatched", r["dispatched_at"], {"from": "acknowledged",
                                                                     "responder_id": r["responder_id"]}))
    if p.on_scene_at is not None:
        steps.append((f"responder:{r['responder_id']}", "on_scene", p.on_scene_at, {"from": "dispatched"}))
    steps.append(("operator", "resolved", p.resolved_at, {"outcome": r["outcome"], "comment": ""}))
    return [[ts, actor, action, incident_id, orjson.dumps(detail).decode()] for actor, action, ts, detail in steps]


def write_history(db: StateDB, incidents: list[PastIncident]) -> None:
    """Write the incidents, their alerts and their lifecycle (chained into the audit log, in time order)."""
    store = IncidentStore(db)
    alerts: list[list[Any]] = []
    audit: list[list[Any]] = []
    for p in incidents:
        incident_id = store.create(p.row)
        for n in range(p.alerts):
            ts = p.row["opened_at"] + 60.0 * n
            alerts.append([incident_id, ts, ts, p.detector, p.row["kind"], p.row["severity"], p.row["device_id"],
                           0.9, "{}", "", f"history-{incident_id}-{n}"])  # fmt: skip
        audit.extend(_lifecycle(p, incident_id))
    db.executemany("INSERT INTO incident_alerts (incident_id, ts, received_at, detector, kind, severity, device_id,"
                   " confidence, features, message, alert_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", alerts)
    audit.sort(key=lambda a: a[0])
    chain.append_many(db, "audit_log", AUDIT_CHAINED, audit)


def seed_history(db: StateDB, community: Community, now: float, days: int = 90,
                 providers: list[Responder] | None = None) -> int:  # fmt: skip
    """Once per data folder: `days` of past incidents up to the local midnight before `now`, the service orders of
    `providers` (issue 19) and a storm three weeks ago; returns how many alarm incidents."""
    store = IncidentStore(db)
    if db.execute("SELECT 1 FROM audit_log WHERE action = ? LIMIT 1", [SEEDED]):
        return 0
    today = math.floor((now + 8 * 3600) / DAY_S) * DAY_S - 8 * 3600  # local midnight (UTC+8)
    incidents = past_incidents(community, today - days * DAY_S, days)
    write_history(db, incidents)
    orders = past_orders(community, providers or [], today - days * DAY_S, days)
    write_orders(db, orders)
    tasks = write_storm(db, community, today - 21 * DAY_S + 5 * 3600, now) if days > 21 else 0
    store.audit("hub demo", SEEDED, None, {"days": days, "incidents": len(incidents), "orders": len(orders),
                                           "evacuation_tasks": tasks}, now)  # fmt: skip
    return len(incidents)
