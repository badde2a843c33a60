"""The registry of responders: care providers, family and neighbours, emergency services (SQLite).

A care provider offers services (meals, cleaning, nursing, medical_escort, emergency_visit) in an area, during
opening hours, up to a capacity of simultaneous jobs, from a position. Family and neighbours are tied to one
resident with a priority (1 = call first). Emergency services (120) take emergency visits and escorts any time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from devices.statedb.sqlite import StateDB

KINDS = frozenset({"provider", "family", "neighbour", "emergency"})
SERVICES = frozenset({"meals", "cleaning", "nursing", "medical_escort", "emergency_visit"})
DDL = (
    """CREATE TABLE IF NOT EXISTS responders (responder_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
        services TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL, area TEXT NOT NULL DEFAULT '',
        hours TEXT NOT NULL DEFAULT '', capacity INTEGER NOT NULL DEFAULT 1, phone TEXT NOT NULL DEFAULT '',
        resident_id TEXT, priority INTEGER NOT NULL DEFAULT 5, active INTEGER NOT NULL DEFAULT 1)""",
)


@dataclass(frozen=True, slots=True)
class Responder:
    """One responder. `services` is comma-separated; `hours` "HH:MM-HH:MM" local time, empty = always."""

    responder_id: str
    name: str
    kind: str
    services: str
    lat: float
    lon: float
    area: str = ""
    hours: str = ""
    capacity: int = 1
    phone: str = ""
    resident_id: str | None = None
    priority: int = 5
    active: int = 1

    @property
    def service_set(self) -> frozenset[str]:
        """The services as a set."""
        return frozenset(s.strip() for s in self.services.split(",") if s.strip())

    def check(self) -> None:
        """Raise ValueError when kind, services or hours are malformed."""
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}")
        unknown = self.service_set - SERVICES
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; known: {sorted(SERVICES)}")
        if self.hours:
            open_at, _, close_at = self.hours.partition("-")
            for part in (open_at, close_at):
                hh, _, mm = part.partition(":")
                if not (hh.isdigit() and mm.isdigit() and int(hh) <= 24 and int(mm) < 60):
                    raise ValueError(f"hours must look like 08:00-20:00, got {self.hours!r}")


class ResponderRegistry:
    """CRUD over the responders table."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def add(self, responder: Responder, replace: bool = False) -> None:
        """Register (or replace) a responder."""
        responder.check()
        row = asdict(responder)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        self.db.execute(
            f"{verb} INTO responders ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", row.values()
        )

    def all(self, active_only: bool = True) -> list[Responder]:
        """Responders (active ones by default)."""
        names = [f.name for f in fields(Responder)]
        where = "WHERE active=1" if active_only else ""
        rows = self.db.execute(f"SELECT {', '.join(names)} FROM responders {where} ORDER BY responder_id")
        return [Responder(**dict(r)) for r in rows]

    def get(self, responder_id: str) -> Responder | None:
        """One responder, or None."""
        return next((r for r in self.all(active_only=False) if r.responder_id == responder_id), None)
