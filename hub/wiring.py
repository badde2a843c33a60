"""The detectors the running hub uses, built from the device registry and kept in step with it.

The registry's snapshot refresh (a device added, moved or revoked, from this process or another) updates the
shared Topology and where each wearable is worn, so no restart is needed.
"""

from __future__ import annotations

from collections.abc import Callable

from alerts.care.geofence import GeofenceDetector
from alerts.care.rhythm_store import RhythmStore
from alerts.catalog import DetectorSettings, build_catalog
from alerts.detector import Detector
from alerts.falls.detector import FallDetector
from devices.models import Family
from devices.records import DeviceRecord
from devices.registry import Registry
from devices.topology import DeviceInfo, SensorKind, Topology
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.feed import CommandFeed, build_command

ROOMS = {"living_room": "living", "front_door": "hall"}  # registry room names -> the routine detector's


def device_info(device: DeviceRecord, home_of: dict[str, str], resident_of: dict[str, str]) -> DeviceInfo | None:
    """A registry device as the eldercare detectors see it (terminals are not theirs)."""
    if device.family == Family.TERMINAL.value:
        return None
    if device.family == Family.WEARABLE.value:
        resident = device.resident_id or ""
        home = home_of.get(resident, "")
    else:
        home = device.home_id or ""
        resident = resident_of.get(home, "")
    room = ROOMS.get(device.room, device.room)
    return DeviceInfo(device.device_id, Family(device.family), SensorKind(device.kind), resident, home, room)


def default_detectors(registry: Registry, settings: DetectorSettings | None = None,
                      command: CommandCentre | None = None,
                      owns: Callable[[str], bool] | None = None) -> list[Detector]:
    """Fall, vitals, routine, home safety, device health, and the disaster warnings and reports (issue 6).
    `owns`: the devices this worker answers for (device health watches only those), None = every device."""
    topology = Topology()
    fall = FallDetector()
    home_pos: dict[str, tuple[float, float]] = {}  # the geofence's homes (issue 9: a phone leaving at night)

    def refresh(devices: dict[str, DeviceRecord]) -> None:
        home_pos.update({h.home_id: (h.lat, h.lon) for h in registry.homes()})
        residents = registry.residents()
        home_of = {r.resident_id: r.home_id for r in residents}
        resident_of = {r.home_id: r.resident_id for r in residents}
        for device in devices.values():
            info = device_info(device, home_of, resident_of)
            if info is not None:
                topology.add(info)
            if device.worn_at in ("waist", "wrist", "pendant"):
                fall.set_worn_at(device.device_id, device.worn_at)  # type: ignore[arg-type]  # WornAt, checked above

    registry.on_refresh.append(refresh)
    refresh(registry.devices())
    s = settings or DetectorSettings()
    catalog = build_catalog(topology, s, RhythmStore(registry.db), owns)  # issue 21: the rhythm survives a restart
    catalog.register("fall", lambda: fall)
    catalog.register("geofence", lambda: GeofenceDetector(topology, home_pos, s.geofence))
    centre = command if command is not None else build_command(registry)
    catalog.register("disaster_warning", lambda: centre.warnings)  # before the feed, which reads its levels
    catalog.register("command", lambda: CommandFeed(centre))
    return catalog.build()
