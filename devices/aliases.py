"""External identities of registered devices (issue 9): a zigbee2mqtt friendly name, an OwnTracks "<user>/<device>".

Homes already have Zigbee sensors and families already carry phones: instead of re-flashing them, each is
registered as an ordinary device and an alias maps the name its own software publishes under to that device.
A zigbee2mqtt alias must point at a home sensor, an OwnTracks alias at a wearable (a phone: worn_at "phone").
The table lives in the state DB; like the registry, the lookup snapshot follows other processes' commits.

Issue 16: an ecosystem's message reaches a device only through its alias (no fallback to a device registered under
the bare external name, so a bridge cannot speak for any home's smoke sensor by naming it), and a device has at most
one alias per source: its readings come from one name on one bridge, never from a second name added beside it.
A zigbee2mqtt alias is bound to ONE bridge: each bridge is an issued identity (`hub devices issue ID --kind bridge`)
with its own base topic `zigbee2mqtt/<bridge id>` that the broker's ACL lets only that bridge publish under; the
alias maps (bridge, friendly name) to the device, so a name aliased on bridge A and sent by bridge B has no alias
and is rejected (stored as `<bridge>/<friendly name>` in `external_id`, which keeps the table's key).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

from devices.credentials import Credentials
from devices.models import Family
from devices.records import RegistryError
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS device_aliases (source TEXT NOT NULL, external_id TEXT NOT NULL,
        device_id TEXT NOT NULL REFERENCES devices(device_id), PRIMARY KEY (source, external_id))""",
)
ONE_PER_DEVICE = "CREATE UNIQUE INDEX IF NOT EXISTS device_aliases_one ON device_aliases (source, device_id)"
SOURCES: dict[str, Family] = {"zigbee2mqtt": Family.HOME_SENSOR, "owntracks": Family.WEARABLE}


@dataclass(frozen=True, slots=True)
class Alias:
    """One external identity of a registered device."""

    source: str
    external_id: str  # the friendly name (zigbee2mqtt), '<user>/<device>' (OwnTracks)
    device_id: str
    bridge: str = ""  # zigbee2mqtt: the bridge's id, its base topic is zigbee2mqtt/<bridge>

    @property
    def key(self) -> str:
        """What the topic carries after the source's prefix: '<bridge>/<friendly name>' for zigbee2mqtt."""
        return f"{self.bridge}/{self.external_id}" if self.source == "zigbee2mqtt" else self.external_id

    @classmethod
    def from_key(cls, source: str, key: str, device_id: str) -> Alias:
        """The alias stored under `key`."""
        if source == "zigbee2mqtt":
            bridge, _, name = key.partition("/")
            return cls(source, name, device_id, bridge)
        return cls(source, key, device_id)


class AliasBook:
    """CRUD over the alias table with a cached (source, external_id) -> device_id snapshot."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)
        Credentials(db)  # the bridges' identities (their table)
        # issue 16; a table from before it may hold two names for one device (sqlite3.IntegrityError, psycopg
        # UniqueViolation): those stay until replaced, and `add` keeps to one per device from then on
        with contextlib.suppress(Exception):
            db.migrate([ONE_PER_DEVICE])
        self._lock = threading.Lock()
        self._snapshot: dict[tuple[str, str], str] | None = None
        self._version = -1

    def add(self, alias: Alias, replace: bool = False) -> None:
        """Map an external identity to a registered device of the family its source publishes."""
        family = SOURCES.get(alias.source)
        if family is None:
            raise RegistryError(f"unknown alias source {alias.source!r}; one of {sorted(SOURCES)}")
        if not alias.external_id or len(alias.external_id) > 200:
            raise RegistryError("an external id must be 1 to 200 characters")
        if alias.source == "owntracks" and alias.external_id.count("/") != 1:
            raise RegistryError(f"an OwnTracks id is '<user>/<device>', got {alias.external_id!r}")
        if alias.source == "zigbee2mqtt":
            self._check_bridge(alias.bridge)
        elif alias.bridge:
            raise RegistryError(f"a {alias.source} alias has no bridge")
        rows = self.db.execute("SELECT family FROM devices WHERE device_id=?", (alias.device_id,))
        if not rows:
            raise RegistryError(f"device {alias.device_id!r} is not registered")
        if rows[0]["family"] != family.value:
            raise RegistryError(f"a {alias.source} alias needs a {family.value}, {alias.device_id!r} is not one")
        bound = self.db.execute("SELECT external_id FROM device_aliases WHERE source=? AND device_id=?",
                                (alias.source, alias.device_id))
        if bound and bound[0]["external_id"] != alias.key:
            if not replace:
                raise RegistryError(f"device {alias.device_id!r} already has the {alias.source} alias "
                                    f"{bound[0]['external_id']!r}; one alias per device and source")
            self.db.execute("DELETE FROM device_aliases WHERE source=? AND device_id=?",
                            (alias.source, alias.device_id))
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            self.db.execute(
                f"{verb} INTO device_aliases (source, external_id, device_id) VALUES (?, ?, ?)",
                (alias.source, alias.key, alias.device_id),
            )
        except Exception as exc:  # sqlite3.IntegrityError: the name is already taken
            raise RegistryError(f"alias {alias.source}:{alias.key!r} exists: {exc}") from exc
        with self._lock:
            self._snapshot = None

    def remove(self, source: str, external_id: str, bridge: str = "") -> bool:
        """Forget one alias (a zigbee2mqtt one: of that bridge); True when it existed."""
        key = Alias(source, external_id, "", bridge).key
        found = bool(
            self.db.execute("DELETE FROM device_aliases WHERE source=? AND external_id=? RETURNING 1", (source, key))
        )
        with self._lock:
            self._snapshot = None
        return found

    def entries(self, source: str | None = None) -> list[Alias]:
        """All aliases (of one source), ordered."""
        where, params = ("WHERE source=?", (source,)) if source else ("", ())
        rows = self.db.execute(
            f"SELECT source, external_id, device_id FROM device_aliases {where} ORDER BY 1, 2", params
        )
        return [Alias.from_key(r["source"], r["external_id"], r["device_id"]) for r in rows]

    def resolve(self, source: str, key: str) -> str | None:
        """The device id behind an external identity (zigbee2mqtt: '<bridge>/<friendly name>'), or None."""
        return self._current().get((source, key))

    def _check_bridge(self, bridge: str) -> None:
        """A zigbee2mqtt alias names an issued bridge identity (devices/credentials.py)."""
        if not bridge:
            raise RegistryError("a zigbee2mqtt alias names its bridge (issue one with `hub devices issue ID --kind "
                                "bridge`)")
        rows = self.db.execute("SELECT kind FROM device_credentials WHERE username=?", (bridge,))
        if not rows or rows[0]["kind"] != "bridge":
            raise RegistryError(f"{bridge!r} is not an issued bridge; `hub devices issue {bridge} --kind bridge`")

    def _current(self) -> dict[tuple[str, str], str]:
        version = self.db.execute("PRAGMA data_version")[0][0]
        with self._lock:
            if self._snapshot is None or version != self._version:
                self._snapshot = {(a.source, a.key): a.device_id for a in self.entries()}
                self._version = version
            return self._snapshot
