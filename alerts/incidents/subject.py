"""Who or what an alert is about: the resident (wearable alerts, vitals, routine) or the household (home safety).

Issue 5: the fall, the SOS and the heart-rate alarm of one person within minutes are one incident; home-safety
alerts are grouped per household; service requests (green key) are kept apart from emergencies.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.detection import Detection
from devices.i18n import t, word
from devices.models import Family
from devices.registry import Registry

HOUSEHOLD_DETECTORS = frozenset({"home_safety"})


@dataclass(frozen=True, slots=True)
class Subject:
    """The grouping key of an incident and what the console shows about its subject."""

    group_key: str
    resident_id: str | None
    home_id: str | None
    label: str
    lat: float | None = None
    lon: float | None = None


def _home_position(registry: Registry, home_id: str | None) -> tuple[float | None, float | None]:
    if not home_id:
        return None, None
    rows = registry.db.execute("SELECT lat, lon FROM homes WHERE home_id=?", [home_id])
    return (rows[0]["lat"], rows[0]["lon"]) if rows else (None, None)


def _resident_subject(registry: Registry, resident_id: str, kind: str) -> Subject | None:
    rows = registry.db.execute("SELECT name, home_id FROM residents WHERE resident_id=?", [resident_id])
    if not rows:
        return None
    prefix = "service" if kind == "service_request" else "resident"
    lat, lon = _home_position(registry, rows[0]["home_id"])
    return Subject(f"{prefix}:{resident_id}", resident_id, rows[0]["home_id"], rows[0]["name"], lat, lon)


def locate(registry: Registry, det: Detection) -> Subject | None:
    """The subject of a detection, or None when it is not the call centre's (disaster terminals)."""
    device = registry.devices().get(det.device_id)
    if device is not None and device.family == Family.TERMINAL.value:
        return None
    household = det.detector in HOUSEHOLD_DETECTORS or (device is not None and device.resident_id is None)
    if household:
        home_id = device.home_id if device is not None and device.home_id else det.subject_id
        lat, lon = _home_position(registry, home_id)
        return Subject(f"home:{home_id}", None, home_id, t("subject.household", home_id=home_id), lat, lon)
    resident_id = device.resident_id if device is not None and device.resident_id else det.subject_id
    found = _resident_subject(registry, resident_id, det.kind)
    if found is not None:
        return found
    return Subject(f"subject:{det.subject_id}", None, None, word("subject.", det.subject_id))  # 设备网络 for an outage
