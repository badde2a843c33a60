"""The registry of villages, homes, residents and devices (wearables, home sensors, disaster terminals).

Bindings: a wearable -> its resident; a home sensor -> its home (and room); a terminal -> its village.
Ingest reads an in-memory snapshot (`devices()`) that is rebuilt whenever the registry changes, so a newly
registered or revoked device takes effect without a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Container, Iterable
from dataclasses import asdict, fields
from dataclasses import replace as with_changes
from typing import Any

from devices import contacts, names
from devices.credentials import HUB_USER
from devices.models import Family
from devices.names import pinyin_of
from devices.records import DeviceRecord, Home, RegistryError, Resident, Village
from devices.statedb.sqlite import StateDB

RESERVED = frozenset({HUB_USER})  # issue 16: the hub's own broker user is never a device (nor are responders)
DDL = (
    """CREATE TABLE IF NOT EXISTS villages (village_id TEXT PRIMARY KEY, name TEXT NOT NULL,
        township TEXT NOT NULL, county TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS homes (home_id TEXT PRIMARY KEY, address TEXT NOT NULL,
        lat REAL NOT NULL, lon REAL NOT NULL, village_id TEXT REFERENCES villages(village_id))""",
    """CREATE TABLE IF NOT EXISTS residents (resident_id TEXT PRIMARY KEY, name TEXT NOT NULL,
        home_id TEXT NOT NULL REFERENCES homes(home_id), national_id TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '', birth_year INTEGER NOT NULL DEFAULT 1945,
        lives_alone INTEGER NOT NULL DEFAULT 0, limited_mobility INTEGER NOT NULL DEFAULT 0,
        conditions TEXT NOT NULL DEFAULT '', contacts TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, family TEXT NOT NULL, kind TEXT NOT NULL,
        resident_id TEXT REFERENCES residents(resident_id), home_id TEXT REFERENCES homes(home_id),
        village_id TEXT REFERENCES villages(village_id), room TEXT NOT NULL DEFAULT '',
        worn_at TEXT NOT NULL DEFAULT '', lat REAL, lon REAL, active INTEGER NOT NULL DEFAULT 1)""",
)


def _insert(db: StateDB, table: str, record: Any, replace: bool) -> None:
    row = asdict(record)
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    try:
        db.execute(f"{verb} INTO {table} ({cols}) VALUES ({marks})", row.values())
    except Exception as exc:  # sqlite3.IntegrityError: duplicate id or a binding to nothing
        raise RegistryError(f"cannot register {table[:-1]} {next(iter(row.values()))!r}: {exc}") from exc


def _rows(db: StateDB, cls: type[Any], table: str, where: str = "", params: tuple[object, ...] = ()) -> list[Any]:
    names = [f.name for f in fields(cls)]
    rows = db.execute(f"SELECT {', '.join(names)} FROM {table} {where} ORDER BY 1", params)
    return [cls(**dict(row)) for row in rows]


class Registry:
    """CRUD over the registry tables, with a cached device snapshot for the hot path."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)
        db.add_column("devices", "datum", "TEXT NOT NULL DEFAULT 'wgs84'")  # issue 18: GCJ-02 devices
        db.add_column("residents", "name_pinyin", "TEXT NOT NULL DEFAULT ''")  # issue 18: search by pinyin
        db.add_column("villages", "code", "TEXT NOT NULL DEFAULT ''")  # issue 14: the official division code
        contacts.migrate(db)  # structured contacts, made once from the old free-text field
        self._lock = threading.Lock()
        self._snapshot: dict[str, DeviceRecord] | None = None
        self._version = -1
        self.on_refresh: list[Callable[[dict[str, DeviceRecord]], None]] = []
        # issue 16: more ids that are not devices' (the composition adds the responders'): a device registered as
        # one would get its broker identity and topics
        self.reserved_ids: list[Callable[[], Iterable[str]]] = []

    def is_reserved(self, device_id: str) -> bool:
        """True for the hub's own user and every id a reserved source names (responders' ids)."""
        if device_id.lower() in RESERVED:
            return True
        return any(device_id in set(source()) for source in self.reserved_ids)

    def add_village(self, village: Village, replace: bool = False) -> None:
        """Register a village (with its township and county for roll-ups)."""
        _insert(self.db, "villages", village, replace)

    def add_home(self, home: Home, replace: bool = False) -> None:
        """Register a home."""
        _insert(self.db, "homes", home, replace)

    def add_resident(self, resident: Resident, replace: bool = False) -> None:
        """Register a resident living in a registered home (its pinyin alias made from the name when not given)."""
        if not resident.name_pinyin:
            resident = with_changes(resident, name_pinyin=pinyin_of(resident.name))
        _insert(self.db, "residents", resident, replace)
        contacts.adopt_free_text(self.db, resident.resident_id, resident.contacts)  # rows from the text, once

    def search_residents(self, query: str, limit: int = 20, within: Container[str] | None = None) -> list[Resident]:
        """Residents found by Chinese name (any part), full pinyin, initials ("wxy") or a phone's last 4+ digits;
        only among the resident ids `within` when given (a staff account's place scope)."""
        rows = self.db.execute("SELECT resident_id, name, name_pinyin, phone FROM residents")
        if within is not None:
            rows = [r for r in rows if r["resident_id"] in within]
        ids = names.search(query, ((r["resident_id"], r["name"], r["name_pinyin"], r["phone"]) for r in rows), limit)
        found = {r.resident_id: r for r in (self.resident(i) for i in ids) if r is not None}
        return [found[i] for i in ids if i in found]

    def add_device(self, device: DeviceRecord, replace: bool = False) -> None:
        """Register a device with its binding; the snapshot is refreshed."""
        if self.is_reserved(device.device_id):
            raise RegistryError(f"{device.device_id!r} is reserved (the hub's own user or a responder), not a device")
        device.check_binding()
        _insert(self.db, "devices", device, replace)
        self._invalidate()

    def set_active(self, device_id: str, active: bool) -> None:
        """Activate or revoke a device; takes effect on the next message."""
        self.db.execute("UPDATE devices SET active=? WHERE device_id=?", (int(active), device_id))
        self._invalidate()

    def villages(self) -> list[Village]:
        """All villages."""
        return _rows(self.db, Village, "villages")

    def homes(self) -> list[Home]:
        """All homes."""
        return _rows(self.db, Home, "homes")

    def residents(self) -> list[Resident]:
        """All residents."""
        return _rows(self.db, Resident, "residents")

    def resident(self, resident_id: str) -> Resident | None:
        """One resident, or None."""
        found = _rows(self.db, Resident, "residents", "WHERE resident_id=?", (resident_id,))
        return found[0] if found else None

    def list_devices(self, family: Family | None = None) -> list[DeviceRecord]:
        """Devices, optionally of one family."""
        if family is None:
            return _rows(self.db, DeviceRecord, "devices")
        return _rows(self.db, DeviceRecord, "devices", "WHERE family=?", (family.value,))

    def devices(self) -> dict[str, DeviceRecord]:
        """Active devices by id: the snapshot that ingest validates against.

        Rebuilt when this process changed the registry, and when another process did (the CLI, a second
        worker): SQLite's `PRAGMA data_version` changes whenever another connection commits.
        """
        version = self.db.execute("PRAGMA data_version")[0][0]
        with self._lock:
            if self._snapshot is None or version != self._version:
                self._snapshot = {d.device_id: d for d in self.list_devices() if d.active}
                self._version = version
                snapshot = self._snapshot
            else:
                return self._snapshot
        for listener in self.on_refresh:
            listener(snapshot)
        return snapshot

    def _invalidate(self) -> None:
        with self._lock:
            self._snapshot = None
