"""Ranking responders for an incident: estimated arrival first, among those capable, available and not full.

ETA = straight-line distance x ROAD_FACTOR driven at speeds that grow along the trip (village lanes for the first
km, county roads beyond), plus a start-up delay per kind of responder. Family and neighbours count only for
their own resident. Pure: positions, loads and the local time of day are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.geo import haversine_km
from dispatch.responders import Responder

ROAD_FACTOR = 1.4  # road distance / straight-line distance, rural China (as dispatch/disaster/assignment.py)
START_MIN = {"provider": 5.0, "family": 3.0, "neighbour": 2.0, "emergency": 2.0}
EMERGENCY_KINDS = frozenset({"fall", "sos", "heart_rate", "spo2", "inactivity", "smoke", "gas"})


BANDS = ((2.0, 20.0), (8.0, 35.0), (float("inf"), 55.0))  # (km, km/h): village lanes, township, county roads


def drive_min(road_km: float) -> float:
    """Minutes to drive a road distance: the first 2 km at lane speed, the next 8 on township roads, then county."""
    minutes, left = 0.0, road_km
    for length, speed in BANDS:
        part = min(left, length)
        minutes += 60.0 * part / speed
        left -= part
        if left <= 0:
            break
    return minutes


def eta_min(r: Responder, lat: float, lon: float) -> float:
    """Minutes until the responder arrives at (lat, lon)."""
    return START_MIN.get(r.kind, 5.0) + drive_min(haversine_km(r.lat, r.lon, lat, lon) * ROAD_FACTOR)


def open_at(hours: str, minute_of_day: int) -> bool:
    """Whether "HH:MM-HH:MM" covers the minute of the day (ranges may cross midnight; empty = always)."""
    if not hours:
        return True
    start_s, _, end_s = hours.partition("-")
    start = int(start_s[:2]) * 60 + int(start_s[3:5])
    end = int(end_s[:2]) * 60 + int(end_s[3:5])
    return start <= minute_of_day < end if start <= end else minute_of_day >= start or minute_of_day < end


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked responder with the reasons of its rank."""

    responder_id: str
    name: str
    kind: str
    eta_min: float
    distance_km: float
    load: int
    capacity: int
    available: bool
    rank: int = 0


def need_for(incident_kind: str, service: str = "") -> str:
    """The service an incident calls for: the requested one for a green key, an emergency visit otherwise."""
    return service if incident_kind == "service_request" and service else "emergency_visit"


def rank(
    responders: list[Responder],
    loads: dict[str, int],
    lat: float,
    lon: float,
    need: str,
    minute_of_day: int,
    resident_id: str | None = None,
) -> list[Candidate]:
    """Capable responders, available ones first, each group by ETA then priority."""
    out = []
    for r in responders:
        personal = r.kind in ("family", "neighbour")
        if personal and r.resident_id != resident_id:
            continue
        if need not in r.service_set and not (personal and need == "emergency_visit"):
            continue
        load = loads.get(r.responder_id, 0)
        available = open_at(r.hours, minute_of_day) and load < r.capacity
        out.append((not available, round(eta_min(r, lat, lon), 1), r.priority, r))
    out.sort(key=lambda t: (t[0], t[1], t[2]))
    return [
        Candidate(
            r.responder_id,
            r.name,
            r.kind,
            eta,
            round(haversine_km(r.lat, r.lon, lat, lon), 2),
            loads.get(r.responder_id, 0),
            r.capacity,
            not busy,
            i + 1,
        )
        for i, (busy, eta, _p, r) in enumerate(out)
    ]
