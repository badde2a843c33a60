"""A past of home-care service orders for the demo community (issue 19): orders by the green key, their completion
by a provider with its price and subsidy, and the satisfaction call-backs, so the statistics page's services and
subsidy figures are not empty the first time (and `bench.insights` has a county's year of orders).

Rates and timings are plausible, not measured: about `per_resident_year` orders a resident a year (meals most,
escorts least), 90 % completed, in a few hours (a meal within the hour, an escort the next day); four in five
completions are rated on the call-back, mostly 4 or 5. Each order is written as the hub writes it: a
`service_request` incident acknowledged and dispatched, its `service_orders` row, its `service_completions` row with
the price and the subsidy of the resident's category (dispatch/service_catalogue.py), and its `satisfaction` task;
the incident's one alert is the green key's (detector `device`, its message the service).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Any

from alerts.incidents.store import IncidentStore
from devices.i18n import kind_title, t
from devices.statedb.sqlite import StateDB
from dispatch import caring_calls, service_catalogue, service_orders
from dispatch.responders import Responder
from simulators.community import Community

DAY_S = 86400.0
# service: (weight, median hours from order to completion)
SERVICES: dict[str, tuple[float, float]] = {
    "meals": (0.40, 1.0), "cleaning": (0.20, 6.0), "nursing": (0.15, 4.0), "bathing": (0.10, 8.0),
    "medical_escort": (0.05, 20.0), "repairs": (0.10, 24.0),
}  # fmt: skip
RATINGS = ((5, 0.55), (4, 0.30), (3, 0.10), (2, 0.03), (1, 0.02))
TZ = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class PastOrder:
    """One order of the past: its incident row, the order, and its completion and rating (None: not reached)."""

    incident: dict[str, Any]
    service: str
    proposed: str
    done_by: str | None
    done_at: float | None
    category: str
    rating: int | None


def past_orders(community: Community, providers: list[Responder], start: float, days: int, seed: int = 13,
                per_resident_year: float = 5.0) -> list[PastOrder]:  # fmt: skip
    """Orders of the community over `days` local days from the local midnight `start`, oldest first."""
    rng = random.Random(seed)
    if not providers or not community.residents:
        return []
    offering = {s: [p for p in providers if s in p.services.split(",")] or providers for s in SERVICES}
    wearables = {d.resident_id: d for d in community.devices if d.family == "wearable"}
    homes = {h.home_id: h for h in community.homes}
    out = []
    for _ in range(round(len(community.residents) * per_resident_year * days / 365.0)):
        resident = rng.choice(community.residents)
        device = wearables.get(resident.resident_id)
        if device is None:
            continue
        service = rng.choices(list(SERVICES), [w for w, _ in SERVICES.values()])[0]
        requested = start + rng.randrange(days) * DAY_S + rng.uniform(7, 20) * 3600
        proposed = rng.choice(offering[service])
        done = rng.random() < 0.9
        done_by = (proposed if rng.random() < 0.85 else rng.choice(offering[service])) if done else None
        done_at = requested + SERVICES[service][1] * 3600 * math.exp(rng.gauss(0, 0.5)) if done else None
        year = dt.datetime.fromtimestamp(requested, TZ).year
        rated = done and rng.random() < 0.8
        rating = rng.choices([r for r, _ in RATINGS], [w for _, w in RATINGS])[0] if rated else None
        ack = requested + 60 * math.exp(rng.gauss(math.log(2), 0.5))
        home = homes[resident.home_id]
        incident = {"group_key": f"resident:{resident.resident_id}", "kind": "service_request", "severity": "info",
                    "state": "closed" if done else "acknowledged", "resident_id": resident.resident_id,
                    "home_id": resident.home_id, "device_id": device.device_id,
                    "title": t("title.incident", kind=kind_title("service_request"), subject=resident.name)[:200],
                    "opened_at": requested, "updated_at": done_at or ack, "last_alert_at": requested,
                    "acked_at": ack, "acked_by": "operator", "dispatched_at": ack + 60 if done else None,
                    "responder_id": done_by.responder_id if done_by else None,
                    "outcome": "helped" if done else None, "lat": home.lat, "lon": home.lon}  # fmt: skip
        out.append(PastOrder(incident, service, proposed.responder_id, done_by.responder_id if done_by else None,
                             done_at, service_catalogue.category_of(resident, year), rating))  # fmt: skip
    out.sort(key=lambda o: o.incident["opened_at"])
    return out


def write_orders(db: StateDB, orders: list[PastOrder]) -> None:
    """Write the orders' incidents, orders, completions (priced by the catalogue) and call-backs."""
    for ddl in (service_orders.DDL, service_catalogue.DDL, caring_calls.DDL):
        db.migrate(ddl)
    prices = {s: p for s, (p, _unit) in service_catalogue.DEFAULTS.items()}
    shares = service_catalogue.SUBSIDY_SHARES
    store = IncidentStore(db)
    order_rows: list[list[Any]] = []
    done_rows: list[list[Any]] = []
    calls: list[list[Any]] = []
    alerts: list[list[Any]] = []
    for o in orders:
        iid = store.create(o.incident)
        requested = o.incident["opened_at"]
        order_rows.append([iid, o.service, requested, requested + 3600, o.proposed])
        alerts.append([iid, requested, requested, "device", "service_request", "info", o.incident["device_id"], 1.0,
                       "{}", o.service, f"history-order-{iid}"])  # the green key's alert names the service
        if o.done_at is None or o.done_by is None:
            continue
        price = prices.get(o.service, 0.0)
        subsidy = round(price * shares.get(o.category, 0.0), 2)
        done_rows.append([iid, o.service, o.done_by, o.incident["resident_id"], o.category, price, subsidy,
                          round(price - subsidy, 2), o.done_at])  # fmt: skip
        calls.append([o.incident["resident_id"], o.done_at, "due" if o.rating is None else "done", iid, o.rating,
                      None if o.rating is None else o.done_at + 3 * 3600])  # fmt: skip
    db.executemany("INSERT INTO incident_alerts (incident_id, ts, received_at, detector, kind, severity, device_id,"
                   " confidence, features, message, alert_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", alerts)
    db.executemany("INSERT INTO service_orders (incident_id, service, requested_at, scheduled_at, responder_id)"
                   " VALUES (?, ?, ?, ?, ?)", order_rows)
    db.executemany("INSERT INTO service_completions (incident_id, service, responder_id, resident_id, category,"
                   " price_cny, subsidy_cny, copay_cny, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", done_rows)
    db.executemany("INSERT INTO caring_calls (resident_id, due_at, state, kind, about_incident, satisfaction, done_at)"
                   " VALUES (?, ?, ?, 'satisfaction', ?, ?, ?)", calls)
