"""Registry records: villages, homes, residents and devices with their bindings and positions."""

from __future__ import annotations

from dataclasses import dataclass

from devices.models import Family

KINDS: dict[Family, frozenset[str]] = {
    Family.WEARABLE: frozenset({"wearable"}),
    Family.HOME_SENSOR: frozenset({"motion", "door", "bed", "smoke", "gas", "water_leak", "climate",
                                   "activity"}),
    Family.TERMINAL: frozenset({"rain_gauge", "river_gauge", "landslide", "reporter"}),
}
DATUMS = frozenset({"wgs84", "gcj02"})  # positions are stored as WGS-84; gcj02 devices are converted on ingest
WORN_AT = frozenset({"waist", "wrist", "pendant", "phone"})  # phone: an OwnTracks phone, position only (issue 9)


class RegistryError(ValueError):
    """A registration that breaks a rule (unknown binding, duplicate id, wrong family)."""


@dataclass(frozen=True, slots=True)
class Village:
    """A village, with the township and county its reports roll up to."""

    village_id: str
    name: str
    township: str
    county: str
    lat: float
    lon: float
    code: str = ""  # the official 12-digit division code (430121113202) where the village is a real one


@dataclass(frozen=True, slots=True)
class Home:
    """A household at a position."""

    home_id: str
    address: str
    lat: float
    lon: float
    village_id: str | None = None


@dataclass(frozen=True, slots=True)
class Resident:
    """An elderly person living at home. `national_id` and `phone` are masked everywhere but where needed."""

    resident_id: str
    name: str
    home_id: str
    national_id: str = ""
    phone: str = ""
    birth_year: int = 1945
    lives_alone: int = 0
    limited_mobility: int = 0
    conditions: str = ""
    contacts: str = ""  # free-text note as first registered; the numbers to call are rows (devices/contacts.py)
    name_pinyin: str = ""  # issue 18: the pinyin alias for search ("Wang Xiuying"); filled from the name when empty


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A registered device bound to a resident (wearable), a home (home sensor) or a village (terminal)."""

    device_id: str
    family: str
    kind: str
    resident_id: str | None = None
    home_id: str | None = None
    village_id: str | None = None
    room: str = ""
    worn_at: str = ""
    lat: float | None = None
    lon: float | None = None
    active: int = 1
    datum: str = "wgs84"  # the datum of the positions it reports: wgs84, or gcj02 (Chinese maps, many Chinese devices)

    def check_binding(self) -> None:
        """Raise ValueError when the family, kind or binding is inconsistent."""
        try:
            family = Family(self.family)
        except ValueError as exc:
            raise RegistryError(f"unknown family {self.family!r}; one of {[f.value for f in Family]}") from exc
        if self.kind not in KINDS[family]:
            raise RegistryError(f"kind {self.kind!r} is not a {family.value}; one of {sorted(KINDS[family])}")
        need = {Family.WEARABLE: self.resident_id, Family.HOME_SENSOR: self.home_id, Family.TERMINAL: self.village_id}
        if not need[family]:
            binding = {Family.WEARABLE: "resident", Family.HOME_SENSOR: "home", Family.TERMINAL: "village"}[family]
            raise RegistryError(f"a {family.value} must be bound to a {binding}")
        if family is Family.WEARABLE and self.worn_at not in WORN_AT:
            raise RegistryError(f"worn_at must be one of {sorted(WORN_AT)} for a wearable")
        if self.datum not in DATUMS:
            raise RegistryError(f"datum must be one of {sorted(DATUMS)}, got {self.datum!r}")
        if not self.device_id or "/" in self.device_id or "+" in self.device_id or "#" in self.device_id:
            raise RegistryError(f"device id {self.device_id!r} must be non-empty and free of / + #")
