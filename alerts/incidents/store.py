"""SQLite tables of the incident layer: incidents (updated in place), their alerts, and the audit log.

The audit log is append-only: triggers make SQLite itself refuse any UPDATE or DELETE of it (issue 5), and each
row is hash-chained to the one before it (issue 16, `devices/statedb/chain.py`; `hub audit verify` checks it).
Every write is one statement or one transaction on the StateDB, so a kill -9 leaves either the old or the new state.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from alerts.incidents.record import Incident, IncidentAlert
from devices.place_sql import EVERYWHERE, PlaceFilter
from devices.statedb import chain
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS incidents (id INTEGER PRIMARY KEY AUTOINCREMENT, group_key TEXT NOT NULL,
        kind TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL, resident_id TEXT, home_id TEXT,
        device_id TEXT NOT NULL, title TEXT NOT NULL, opened_at REAL NOT NULL, updated_at REAL NOT NULL,
        last_alert_at REAL NOT NULL, alert_count INTEGER NOT NULL DEFAULT 1, repeats INTEGER NOT NULL DEFAULT 0,
        acked_at REAL, acked_by TEXT, ack_comment TEXT, dispatched_at REAL, responder_id TEXT, outcome TEXT,
        escalation_level INTEGER NOT NULL DEFAULT 0, last_escalated_at REAL, lat REAL, lon REAL)""",
    "CREATE INDEX IF NOT EXISTS incidents_active ON incidents (state, group_key)",
    """CREATE TABLE IF NOT EXISTS incident_alerts (id INTEGER PRIMARY KEY AUTOINCREMENT,
        incident_id INTEGER NOT NULL REFERENCES incidents(id), ts REAL NOT NULL, received_at REAL NOT NULL,
        detector TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL, device_id TEXT NOT NULL,
        confidence REAL NOT NULL, features TEXT NOT NULL, message TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS incident_alerts_by_incident ON incident_alerts (incident_id)",
    "CREATE INDEX IF NOT EXISTS incident_alerts_by_device ON incident_alerts (device_id, ts)",
    """CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,
        actor TEXT NOT NULL, action TEXT NOT NULL, incident_id INTEGER, detail TEXT NOT NULL)""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
)
AUDIT_CHAINED = ("ts", "actor", "action", "incident_id", "detail")  # the audit row's content under its hash
ACTIVE_STATES = ("open", "acknowledged", "dispatched", "on_scene")
_MUTABLE = frozenset(
    {
        "state",
        "severity",
        "updated_at",
        "last_alert_at",
        "alert_count",
        "repeats",
        "acked_at",
        "acked_by",
        "ack_comment",
        "dispatched_at",
        "responder_id",
        "outcome",
        "escalation_level",
        "last_escalated_at",
        "kind",
        "title",
    }
)


class IncidentStore:
    """Reads and writes of the incident tables."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)
        db.add_column("incident_alerts", "alert_key", "TEXT NOT NULL DEFAULT ''")  # issue 7: identity of an alert
        chain.migrate(db, "audit_log")  # issue 16: tamper-evident

    def create(self, row: dict[str, Any]) -> int:
        """Insert an incident; returns its id."""
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        rows = self.db.execute(f"INSERT INTO incidents ({cols}) VALUES ({marks}) RETURNING id", row.values())
        return int(rows[0][0])

    def update(self, incident_id: int, **changes: Any) -> None:
        """Change the mutable columns of one incident."""
        bad = set(changes) - _MUTABLE
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        sets = ", ".join(f"{k}=?" for k in changes)
        self.db.execute(f"UPDATE incidents SET {sets} WHERE id=?", [*changes.values(), incident_id])

    def get(self, incident_id: int) -> Incident | None:
        """One incident (without its alerts), or None."""
        rows = self.db.execute("SELECT * FROM incidents WHERE id=?", [incident_id])
        return Incident.from_row(rows[0]) if rows else None

    def active(self) -> list[Incident]:
        """Incidents not yet resolved or closed, oldest first."""
        marks = ", ".join("?" for _ in ACTIVE_STATES)
        rows = self.db.execute(f"SELECT * FROM incidents WHERE state IN ({marks}) ORDER BY id", ACTIVE_STATES)
        return [Incident.from_row(r) for r in rows]

    def active_for(self, group_key: str) -> Incident | None:
        """The active incident of a group (resident, household), if any."""
        marks = ", ".join("?" for _ in ACTIVE_STATES)
        rows = self.db.execute(
            f"SELECT * FROM incidents WHERE group_key=? AND state IN ({marks}) ORDER BY id DESC LIMIT 1",
            [group_key, *ACTIVE_STATES],
        )
        return Incident.from_row(rows[0]) if rows else None

    def listing(self, states: list[str] | None = None, limit: int = 200,
                places: PlaceFilter | None = None) -> list[Incident]:
        """Incidents (optionally in some states; with `places`, of their homes and residents), newest first."""
        cond, params = places.place("home_id", "resident_id") if places is not None else EVERYWHERE
        if states:
            cond, params = f"{cond} AND state IN ({', '.join('?' for _ in states)})", [*params, *states]
        rows = self.db.execute(f"SELECT * FROM incidents WHERE {cond} ORDER BY id DESC LIMIT ?", [*params, limit])
        return [Incident.from_row(r) for r in rows]

    def add_alert(self, incident_id: int, alert: dict[str, Any]) -> None:
        """Append one alert to an incident."""
        row = {**alert, "incident_id": incident_id, "features": orjson.dumps(alert["features"]).decode()}
        cols = ", ".join(row)
        self.db.execute(f"INSERT INTO incident_alerts ({cols}) VALUES ({', '.join('?' for _ in row)})", row.values())

    def has_alert(self, device_id: str, ts: float, detector: str, kind: str, alert_key: str) -> bool:
        """True when this alert (its identity, see Detection) is on an incident already."""
        return bool(self.db.execute(
            "SELECT 1 FROM incident_alerts WHERE device_id = ? AND ts = ? AND detector = ? AND kind = ?"
            " AND alert_key = ? LIMIT 1", [device_id, ts, detector, kind, alert_key]))

    def alerts(self, incident_id: int) -> list[IncidentAlert]:
        """An incident's alerts, oldest first."""
        rows = self.db.execute("SELECT * FROM incident_alerts WHERE incident_id=? ORDER BY id", [incident_id])
        return [IncidentAlert.from_row(r) for r in rows]

    def audit(
        self, actor: str, action: str, incident_id: int | None, detail: dict[str, Any], ts: float | None = None
    ) -> None:
        """Append one entry to the audit log, chained to the one before it."""
        chain.append(self.db, "audit_log", AUDIT_CHAINED,
                     [time.time() if ts is None else ts, actor, action, incident_id, orjson.dumps(detail).decode()])

    def audit_log(self, incident_id: int | None = None, limit: int = 500,
                  places: PlaceFilter | None = None) -> list[dict[str, Any]]:
        """Audit entries (of one incident, or all; with `places`, of their incidents only), oldest first."""
        params: list[object] = [incident_id] if incident_id is not None else []
        where = "WHERE incident_id=?" if incident_id is not None else ""
        if places is not None:
            cond, more = places.incidents("incident_id")
            where, params = (f"{where} AND {cond}" if where else f"WHERE {cond}"), [*params, *more]
        rows = self.db.execute(
            f"SELECT * FROM (SELECT * FROM audit_log {where} ORDER BY id DESC LIMIT ?) ORDER BY id", [*params, limit]
        )
        return [{**dict(r), "detail": orjson.loads(r["detail"])} for r in rows]
