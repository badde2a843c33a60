"""Leaving home at night, seen from a position (an OwnTracks phone or a wearable's GPS) instead of the door contact.

A resident is away when a fix lies more than `radius_m` from the home's registered position; back when a fix lies
within `return_radius_m` (smaller: a fix wobbling around the fence does not flap). An exit whose first outside fix
falls in the night window (the routine detector's 22:00-06:00 local) becomes a critical "night_exit" detection
once the resident has stayed away `return_s` with no fix back inside - the same rule and kind as the door-based
routine detector, so the call centre sees one kind of alert whichever sensor noticed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alerts.detection import Detection, Severity
from alerts.detector import Detector
from devices.geo import haversine_km
from devices.i18n import t
from devices.models import DeviceEvent, Reading
from devices.topology import SensorKind, Topology

DAY_S = 86_400.0


@dataclass
class GeofenceSettings:
    """Fence radius, night window (local time of day, s after midnight) and the wait for a return."""

    radius_m: float = 200.0
    return_radius_m: float = 150.0
    utc_offset_s: float = 8 * 3600.0
    night_start_tod_s: float = 22 * 3600.0
    night_end_tod_s: float = 6 * 3600.0
    return_s: float = 1800.0


@dataclass(slots=True)
class _Away:
    """One resident outside the fence since `since` (device time)."""

    since: float
    distance_m: float
    device_id: str
    alerted: bool = False


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    return haversine_km(lat1, lon1, lat2, lon2) * 1000.0


class GeofenceDetector(Detector):
    """Night exits per resident from the positions of their wearables and phones."""

    name = "geofence"

    def __init__(
        self, topology: Topology, homes: Mapping[str, tuple[float, float]], settings: GeofenceSettings | None = None
    ) -> None:
        self._topology = topology
        self._homes = homes  # home_id -> (lat, lon), kept current by the wiring
        self._s = settings or GeofenceSettings()
        self._away: dict[str, _Away] = {}

    def observe(self, reading: Reading) -> list[Detection]:
        """Track whether the resident is inside the fence; detections come from `advance`."""
        lat, lon = reading.values.get("lat"), reading.values.get("lon")
        info = self._topology.get(reading.device_id)
        if lat is None or lon is None or info is None or info.kind != SensorKind.WEARABLE:
            return []
        home = self._homes.get(info.home_id)
        if home is None or not info.resident_id:
            return []
        far = distance_m(lat, lon, *home)
        away = self._away.get(info.resident_id)
        if away is None and far > self._s.radius_m:
            self._away[info.resident_id] = _Away(reading.ts, far, reading.device_id)
        elif away is not None and far <= self._s.return_radius_m and reading.ts >= away.since:
            del self._away[info.resident_id]
        elif away is not None:
            away.distance_m = max(away.distance_m, far)
        return []

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """Events carry no position."""
        return []

    def advance(self, now: float) -> list[Detection]:
        """Raise night exits that have lasted `return_s` without a return."""
        out = []
        for resident_id, away in self._away.items():
            if not away.alerted and self._at_night(away.since) and now >= away.since + self._s.return_s:
                away.alerted = True
                out.append(self._detection(resident_id, away, now))
        return out

    def _at_night(self, ts: float) -> bool:
        tod = (ts + self._s.utc_offset_s) % DAY_S
        return tod >= self._s.night_start_tod_s or tod < self._s.night_end_tod_s

    def _detection(self, resident_id: str, away: _Away, now: float) -> Detection:
        return Detection(
            detector=self.name,
            kind="night_exit",
            subject_id=resident_id,
            device_id=away.device_id,
            ts=now,
            severity=Severity.CRITICAL,
            features={"since_ts": away.since, "distance_m": round(away.distance_m, 1), "away_s": now - away.since},
            message=t("det.geofence.night_exit", distance=f"{away.distance_m:.0f}",
                      minutes=f"{self._s.return_s / 60:.0f}"),
        )
