"""The service catalogue of government-purchased home care, and the completion record of each service order.

Each service has a price and the government's subsidy share per resident category (the civil-affairs practice:
extreme-poverty and disabled elders are fully or mostly subsidised, the very old partly, others pay in full). When
a provider reports a service order `done`, its completion is recorded (service, provider, price, subsidy, what the
resident pays) and a satisfaction call-back (满意度回访) is put on the console's call list (dispatch/caring_calls.py).
The prices and shares below are the defaults of a new hub, editable in the `service_catalogue` table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from alerts.incidents.record import Incident
from devices.records import Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.caring_calls import CaringCalls

DDL = (
    """CREATE TABLE IF NOT EXISTS service_catalogue (service TEXT PRIMARY KEY, price_cny REAL NOT NULL,
        unit TEXT NOT NULL, subsidy TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS service_completions (incident_id INTEGER PRIMARY KEY, service TEXT NOT NULL,
        responder_id TEXT NOT NULL, resident_id TEXT, category TEXT NOT NULL, price_cny REAL NOT NULL,
        subsidy_cny REAL NOT NULL, copay_cny REAL NOT NULL, done_at REAL NOT NULL, followup_id INTEGER)""",
)
CATEGORIES = ("extreme_poverty", "disabled", "advanced_age", "ordinary")  # 特困, 失能, 高龄 (80+), 其他
_SHARES = {"extreme_poverty": 1.0, "disabled": 0.7, "advanced_age": 0.5, "ordinary": 0.0}
SUBSIDY_SHARES = _SHARES  # the default subsidy share per category (a new hub's catalogue; the demo's history)
DEFAULTS: dict[str, tuple[float, str]] = {  # service: (price in CNY, per)
    "meals": (15.0, "meal"), "cleaning": (60.0, "visit"), "bathing": (80.0, "visit"), "nursing": (100.0, "visit"),
    "medical_escort": (120.0, "visit"), "repairs": (50.0, "visit"), "emergency_visit": (0.0, "visit"),
}  # fmt: skip


def category_of(resident: Resident | None, year: int) -> str:
    """The resident's subsidy category, from the registry: limited mobility counts as disabled, 80+ as advanced age."""
    if resident is None:
        return "ordinary"
    if resident.limited_mobility:
        return "disabled"
    return "advanced_age" if year - resident.birth_year >= 80 else "ordinary"


class ServiceCatalogue:
    """Prices and subsidies; completion records; the satisfaction call-back after each completed order."""

    def __init__(self, db: StateDB, registry: Registry, followups: CaringCalls,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.registry, self.followups, self.clock = db, registry, followups, clock
        db.migrate(DDL)
        if not db.execute("SELECT 1 FROM service_catalogue LIMIT 1"):
            db.executemany("INSERT OR IGNORE INTO service_catalogue (service, price_cny, unit, subsidy) "
                           "VALUES (?, ?, ?, ?)",  # OR IGNORE: two workers starting at once
                           [(s, p, u, orjson.dumps(_SHARES).decode()) for s, (p, u) in DEFAULTS.items()])

    def services(self) -> list[dict[str, Any]]:
        """The catalogue: service, price, unit and the subsidy share per category."""
        rows = self.db.execute("SELECT * FROM service_catalogue ORDER BY service")
        return [{**dict(r), "subsidy": orjson.loads(r["subsidy"])} for r in rows]

    def quote(self, service: str, resident_id: str | None) -> dict[str, Any]:
        """Price, subsidy and the resident's own share for one service to one resident."""
        rows = self.db.execute("SELECT * FROM service_catalogue WHERE service=?", [service])
        price = float(rows[0]["price_cny"]) if rows else 0.0
        shares = orjson.loads(rows[0]["subsidy"]) if rows else {}
        resident = self.registry.resident(resident_id) if resident_id else None
        category = category_of(resident, time.localtime(self.clock()).tm_year)
        subsidy = round(price * float(shares.get(category, 0.0)), 2)
        return {"service": service, "category": category, "price_cny": price, "subsidy_cny": subsidy,
                "copay_cny": round(price - subsidy, 2)}

    def completed(self, incident_id: int) -> dict[str, Any] | None:
        """The completion record of a service order, if it was done."""
        rows = self.db.execute("SELECT * FROM service_completions WHERE incident_id=?", [incident_id])
        return dict(rows[0]) if rows else None

    def on_done(self, offer: dict[str, Any], incident: Incident, service: str) -> None:
        """A provider reported a service order done: the completion record, then the satisfaction call-back."""
        if not service or self.completed(incident.id) is not None:
            return
        quote = self.quote(service, incident.resident_id)
        followup = (self.followups.add_followup(incident.resident_id, incident.id)
                    if incident.resident_id else None)
        self.db.execute(
            "INSERT INTO service_completions (incident_id, service, responder_id, resident_id, category, price_cny, "
            "subsidy_cny, copay_cny, done_at, followup_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [incident.id, service, offer["responder_id"], incident.resident_id, quote["category"],
             quote["price_cny"], quote["subsidy_cny"], quote["copay_cny"], self.clock(), followup])
