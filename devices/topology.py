"""Which device belongs to which resident and home, and what kind of sensor it is.

The registry fills a `Topology` from its device table; detectors only read it. A detector needs the kind
(the bathroom motion sensor, the front door contact, the bed sensor...) to give a reading its meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from devices.models import Family


class SensorKind(StrEnum):
    """What a device senses, as far as the detectors care."""

    WEARABLE = "wearable"
    MOTION = "motion"
    DOOR = "door"
    BED = "bed"
    SMOKE = "smoke"
    GAS = "gas"
    WATER_LEAK = "water_leak"
    CLIMATE = "climate"
    ACTIVITY = "activity"  # any other binary sensor a person works (cupboard, appliance, flush, seat): a sign of life


class Room(StrEnum):
    """Rooms the routine detector distinguishes (anything else is just 'inside')."""

    BATHROOM = "bathroom"
    BEDROOM = "bedroom"
    KITCHEN = "kitchen"
    LIVING = "living"
    HALL = "hall"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One registered device: its owner, home, kind and room."""

    device_id: str
    family: Family
    kind: SensorKind
    resident_id: str
    home_id: str
    room: str = ""


class Topology:
    """Lookup of registered devices by id and by home."""

    def __init__(self, devices: Iterable[DeviceInfo] = ()) -> None:
        self._by_id: dict[str, DeviceInfo] = {}
        self._by_home: dict[str, list[DeviceInfo]] = {}
        self.version = 0  # changes whenever a device does: what a reader derived from the devices holds until then
        for info in devices:
            self.add(info)

    def add(self, info: DeviceInfo) -> None:
        """Register (or replace) one device."""
        old = self._by_id.get(info.device_id)
        if old is not None:
            self._by_home[old.home_id].remove(old)
        self._by_id[info.device_id] = info
        self._by_home.setdefault(info.home_id, []).append(info)
        if info != old:
            self.version += 1

    def get(self, device_id: str) -> DeviceInfo | None:
        """The device's record, or None when it is not registered."""
        return self._by_id.get(device_id)

    def in_home(self, home_id: str) -> list[DeviceInfo]:
        """All devices of one home."""
        return list(self._by_home.get(home_id, ()))

    def has_kind(self, home_id: str, kind: SensorKind) -> bool:
        """Whether the home has at least one device of this kind."""
        return any(d.kind == kind for d in self._by_home.get(home_id, ()))

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[DeviceInfo]:
        return iter(self._by_id.values())
