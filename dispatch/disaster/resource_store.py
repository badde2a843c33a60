"""Rescue teams, relief warehouses and relief plans in the state database (issue 14, item 3 and 6).

Teams carry their status (available -> en_route -> on_scene -> done -> available again) with who moved them and
when; every move is also a row of `relief_team_log`. Each sending (available -> en_route) opens a new assignment id
(issue 14), kept on the team until it is available again: the team's device names it when it reports over MQTT
(`teams/<id>/status`), so its second mission is never taken for a repeat of the first.

A warehouse's stock is never a number of its own: it is the sum of its ledger (`relief_ledger`): receipts (+, with
an expiry date and the person who signed them in) and issues (-, written when a commander approves a relief plan).
A plan's issue rows have ids made of the plan and the line, so an approval taken twice (two clicks, two workers)
issues stock once. The village's officer confirms receipt per plan and village (`relief_receipts`).

Each receipt is a lot (批次): its expiry date and who signed for it. Stock is issued oldest-expiry-first (FEFO): a
plan's line takes from the lots of its warehouse and item with the earliest expiry first, lots without an expiry
last; a lot past its expiry date (China Standard Time) is not issued, not offered to the planner, and shown as
expired. Each issue row names the lot it came from (`lot`), so the ledger says which lot went where.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from devices.statedb.sqlite import StateDB
from dispatch.disaster.assignment import Team
from dispatch.disaster.relief import NEEDS, ReliefPlan, Shipment, Warehouse

AVAILABLE, EN_ROUTE, ON_SCENE, DONE = "available", "en_route", "on_scene", "done"
TEAM_STATES = (AVAILABLE, EN_ROUTE, ON_SCENE, DONE)
NEXT: dict[str, frozenset[str]] = {  # a team's allowed moves
    AVAILABLE: frozenset({EN_ROUTE}),
    EN_ROUTE: frozenset({ON_SCENE, DONE, AVAILABLE}),  # AVAILABLE: recalled on the way
    ON_SCENE: frozenset({DONE}),
    DONE: frozenset({AVAILABLE}),  # back at base, ready again
}
RECEIPT, ISSUE = "receipt", "issue"
DRAFT, APPROVED, SUPERSEDED = "draft", "approved", "superseded"
CST = timezone(timedelta(hours=8), "CST")  # expiry dates are China Standard Time days
EPS = 1e-6
# columns added to tables made by an earlier version (issue 14: a warehouse's township; lots and who signed)
COLUMNS = (("relief_warehouses", "township", "TEXT NOT NULL DEFAULT ''"),
           ("relief_ledger", "lot", "TEXT NOT NULL DEFAULT ''"),
           ("relief_ledger", "signed_by", "TEXT NOT NULL DEFAULT ''"))  # fmt: skip

DDL = (
    """CREATE TABLE IF NOT EXISTS relief_teams (team_id TEXT PRIMARY KEY, name TEXT NOT NULL, lat REAL NOT NULL,
        lon REAL NOT NULL, capabilities TEXT NOT NULL, status TEXT NOT NULL, incident TEXT NOT NULL,
        updated_by TEXT NOT NULL, updated_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS relief_team_log (team_id TEXT NOT NULL, ts REAL NOT NULL, status TEXT NOT NULL,
        incident TEXT NOT NULL, actor TEXT NOT NULL, PRIMARY KEY (team_id, ts, status))""",
    """CREATE TABLE IF NOT EXISTS relief_warehouses (warehouse_id TEXT PRIMARY KEY, name TEXT NOT NULL,
        lat REAL NOT NULL, lon REAL NOT NULL, created_by TEXT NOT NULL, created_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS relief_ledger (entry_id TEXT PRIMARY KEY, warehouse_id TEXT NOT NULL,
        item TEXT NOT NULL, quantity REAL NOT NULL, kind TEXT NOT NULL, expires TEXT NOT NULL, ref TEXT NOT NULL,
        actor TEXT NOT NULL, ts REAL NOT NULL, note TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS relief_ledger_wh ON relief_ledger (warehouse_id, ts)",
    """CREATE TABLE IF NOT EXISTS relief_plans (plan_id TEXT PRIMARY KEY, status TEXT NOT NULL, body TEXT NOT NULL,
        created_by TEXT NOT NULL, created_at REAL NOT NULL, approved_by TEXT NOT NULL, approved_at REAL)""",
    """CREATE TABLE IF NOT EXISTS relief_receipts (plan_id TEXT NOT NULL, village_id TEXT NOT NULL,
        actor TEXT NOT NULL, ts REAL NOT NULL, note TEXT NOT NULL, PRIMARY KEY (plan_id, village_id))""",
)


class ResourceError(ValueError):
    """A move the records do not allow (the API answers 409 or 422 with the message)."""


@dataclass(frozen=True, slots=True)
class TeamRecord:
    """A team as recorded: the solver's Team, the incident it was sent to, who moved it last and when."""

    team: Team
    incident: str
    updated_by: str
    updated_at: float
    assignment: str = ""  # issue 14: the current mission's id, "" while available


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One line of a warehouse's ledger; quantity > 0 received, < 0 issued."""

    entry_id: str
    warehouse_id: str
    item: str
    quantity: float
    kind: str
    expires: str  # YYYY-MM-DD, "" when the item does not expire
    ref: str  # the relief plan of an issue
    actor: str
    ts: float
    note: str
    lot: str = ""  # an issue: the receipt (lot) it was taken from
    signed_by: str = ""  # a receipt: who signed for the goods (the recording user is `actor`)


@dataclass(frozen=True, slots=True)
class Lot:
    """One receipt as a lot: what is left of it, its expiry and whether that has passed."""

    lot_id: str  # the receipt's entry id
    warehouse_id: str
    item: str
    received: float
    remaining: float
    expires: str
    expired: bool
    signed_by: str
    actor: str
    ts: float


def cst_day(ts: float) -> str:
    """The China Standard Time date of `ts` as YYYY-MM-DD (the expiry dates' calendar)."""
    return datetime.fromtimestamp(ts, CST).strftime("%Y-%m-%d")


def fefo_key(lot: Lot) -> tuple[bool, str, float, str]:
    """Oldest expiry first; lots without an expiry last; then the older receipt."""
    return (lot.expires == "", lot.expires, lot.ts, lot.lot_id)


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """A relief plan as recorded, with the villages that confirmed receipt (village -> (who, when))."""

    plan_id: str
    plan: ReliefPlan
    created_by: str
    created_at: float
    receipts: dict[str, tuple[str, float]] = field(default_factory=dict)


class ResourceStore:
    """Reads and writes the relief_* tables."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)
        for table, column, decl in COLUMNS:
            db.add_column(table, column, decl)
        db.add_column("relief_teams", "assignment", "TEXT NOT NULL DEFAULT ''")  # issue 14: the current mission
        db.add_column("relief_team_log", "assignment", "TEXT NOT NULL DEFAULT ''")

    # teams
    def save_team(self, team: Team, actor: str, ts: float) -> TeamRecord:
        """Register a team (available); registering an existing id again refuses (ResourceError)."""
        if self.db.execute("SELECT 1 FROM relief_teams WHERE team_id = ?", [team.team_id]):
            raise ResourceError(f"team {team.team_id} is registered already")
        self.db.execute(
            "INSERT OR IGNORE INTO relief_teams (team_id, name, lat, lon, capabilities, status, incident, updated_by,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [team.team_id, team.name, team.lat, team.lon, ",".join(sorted(team.capabilities)), AVAILABLE, "", actor,
             ts],
        )  # fmt: skip
        self._log(team.team_id, ts, AVAILABLE, "", actor)
        return TeamRecord(team, "", actor, ts)

    def teams(self) -> list[TeamRecord]:
        """Every team, by id."""
        return [_team(r) for r in self.db.execute("SELECT * FROM relief_teams ORDER BY team_id")]

    def team_ids(self) -> list[str]:
        """Every registered team's id (a team's device gets its MQTT credential only once it is registered)."""
        return [r["team_id"] for r in self.db.execute("SELECT team_id FROM relief_teams ORDER BY team_id")]

    def team(self, team_id: str) -> TeamRecord:
        """One team; KeyError when unknown."""
        rows = self.db.execute("SELECT * FROM relief_teams WHERE team_id = ?", [team_id])
        if not rows:
            raise KeyError(team_id)
        return _team(rows[0])

    def move_team(self, team_id: str, status: str, actor: str, ts: float, incident: str | None = None) -> TeamRecord:
        """Move a team along available -> en_route -> on_scene -> done -> available; ResourceError otherwise.
        The update only applies from the state read, so two people moving one team at once cannot both win."""
        now = self.team(team_id)
        if status not in NEXT.get(now.team.status, frozenset()):
            raise ResourceError(f"team {team_id} is {now.team.status}, cannot become {status}")
        if status == EN_ROUTE and not incident:
            raise ResourceError("a team is sent to an incident")
        where = now.incident if incident is None else incident
        where = "" if status == AVAILABLE else where
        mission = now.assignment  # issue 14: a sending opens a new assignment; back at base closes it
        if status == EN_ROUTE and now.team.status == AVAILABLE:
            mission = f"A-{uuid.uuid4().hex[:10]}"
        mission = "" if status == AVAILABLE else mission
        self.db.execute(
            "UPDATE relief_teams SET status = ?, incident = ?, updated_by = ?, updated_at = ?, assignment = ?"
            " WHERE team_id = ? AND status = ? AND updated_at = ?",
            [status, where, actor, ts, mission, team_id, now.team.status, now.updated_at],
        )
        after = self.team(team_id)
        if (after.team.status, after.updated_by, after.updated_at) != (status, actor, ts):
            raise ResourceError(f"team {team_id} was moved by {after.updated_by} meanwhile")
        self._log(team_id, ts, status, where, actor, mission or now.assignment)
        return after

    def assignment_log(self, team_id: str, assignment: str) -> list[tuple[str, str]]:
        """(status, actor) of each move of a team's assignment, oldest first (none: the team never had it)."""
        rows = self.db.execute("SELECT status, actor FROM relief_team_log WHERE team_id = ? AND assignment = ?"
                               " ORDER BY ts", [team_id, assignment])  # fmt: skip
        return [(r["status"], r["actor"]) for r in rows]

    def confirm_team(self, team_id: str, actor: str, ts: float) -> TeamRecord:
        """The team's own word for the status it has (its device confirming the en route a commander recorded when
        sending it): a row of the log, the team's status unchanged."""
        now = self.team(team_id)
        self._log(team_id, ts, now.team.status, now.incident, actor, now.assignment)
        return now

    def team_log(self, team_id: str | None = None) -> list[dict[str, object]]:
        """Status moves, newest first (one team, or all)."""
        sql = "SELECT team_id, ts, status, incident, actor, assignment FROM relief_team_log"
        rows = self.db.execute(sql + (" WHERE team_id = ?" if team_id else "") + " ORDER BY ts DESC",
                               [team_id] if team_id else [])  # fmt: skip
        return [dict(r) for r in rows]

    def _log(self, team_id: str, ts: float, status: str, incident: str, actor: str, assignment: str = "") -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO relief_team_log (team_id, ts, status, incident, actor, assignment)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [team_id, ts, status, incident, actor, assignment],
        )

    # warehouses and their ledger
    def save_warehouse(self, warehouse_id: str, name: str, lat: float, lon: float, actor: str, ts: float,
                       township: str = "") -> bool:  # fmt: skip
        """Register a warehouse (once; a second registration of the id is ignored: False)."""
        if self.db.execute("SELECT 1 FROM relief_warehouses WHERE warehouse_id = ?", [warehouse_id]):
            return False
        self.db.execute(
            "INSERT OR IGNORE INTO relief_warehouses (warehouse_id, name, lat, lon, created_by, created_at, township)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [warehouse_id, name, lat, lon, actor, ts, township],
        )
        return True

    def warehouse_rows(self) -> list[dict[str, Any]]:
        """Every warehouse's registration."""
        return [dict(r) for r in self.db.execute("SELECT * FROM relief_warehouses ORDER BY warehouse_id")]

    def receive(self, entry_id: str, warehouse_id: str, item: str, quantity: float, actor: str, ts: float,
                expires: str = "", note: str = "", signed_by: str = "") -> bool:  # fmt: skip
        """Sign a receipt (a lot) into the ledger; False when `entry_id` was recorded already (a seed run twice).
        `signed_by`: who signed for the goods (default: the recording user)."""
        if item not in NEEDS:
            raise ResourceError(f"unknown item {item!r}")
        if quantity <= 0:
            raise ResourceError("a receipt brings a positive quantity")
        if not self.db.execute("SELECT 1 FROM relief_warehouses WHERE warehouse_id = ?", [warehouse_id]):
            raise ResourceError(f"no warehouse {warehouse_id}")
        if self.db.execute("SELECT 1 FROM relief_ledger WHERE entry_id = ?", [entry_id]):
            return False
        self.db.execute(
            "INSERT OR IGNORE INTO relief_ledger (entry_id, warehouse_id, item, quantity, kind, expires, ref, actor,"
            " ts, note, lot, signed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [entry_id, warehouse_id, item, quantity, RECEIPT, expires, "", actor, ts, note, entry_id,
             signed_by or actor],
        )  # fmt: skip
        return True

    def lots(self, today: str, warehouse_id: str | None = None) -> list[Lot]:
        """Every receipt as a lot with what is left of it, in FEFO order per warehouse and item; `today`
        (YYYY-MM-DD, China Standard Time) decides which have expired. Issues recorded before lots were kept (no
        `lot`) are taken from the lots in FEFO order, so the lots always sum to the ledger."""
        where, args = (" AND warehouse_id = ?", [warehouse_id]) if warehouse_id else ("", [])
        receipts = self.db.execute("SELECT * FROM relief_ledger WHERE kind = ?" + where, [RECEIPT, *args])
        issued = self.db.execute("SELECT warehouse_id, item, lot, SUM(quantity) AS q FROM relief_ledger WHERE kind = ?"
                                 + where + " GROUP BY warehouse_id, item, lot", [ISSUE, *args])
        taken: dict[str, float] = {}
        loose: dict[tuple[str, str], float] = {}
        for r in issued:
            if r["lot"]:
                taken[r["lot"]] = taken.get(r["lot"], 0.0) - float(r["q"])
            else:
                key = (r["warehouse_id"], r["item"])
                loose[key] = loose.get(key, 0.0) - float(r["q"])
        lots = sorted((Lot(r["entry_id"], r["warehouse_id"], r["item"], float(r["quantity"]),
                           float(r["quantity"]) - taken.get(r["entry_id"], 0.0), r["expires"],
                           bool(r["expires"]) and r["expires"] < today, r["signed_by"] or r["actor"], r["actor"],
                           float(r["ts"])) for r in receipts),
                      key=lambda lot: (lot.warehouse_id, lot.item, fefo_key(lot)))  # fmt: skip
        out = []
        for lot in lots:
            key = (lot.warehouse_id, lot.item)
            take = min(max(lot.remaining, 0.0), loose.get(key, 0.0))
            if take > 0:
                loose[key] -= take
                lot = Lot(lot.lot_id, lot.warehouse_id, lot.item, lot.received, lot.remaining - take, lot.expires,
                          lot.expired, lot.signed_by, lot.actor, lot.ts)  # fmt: skip
            out.append(lot)
        return out

    def usable(self, today: str) -> dict[str, dict[str, float]]:
        """Warehouse -> item -> quantity in lots not expired on `today` (what may be planned and issued)."""
        out: dict[str, dict[str, float]] = {str(r["warehouse_id"]): {} for r in self.warehouse_rows()}
        for lot in self.lots(today):
            if not lot.expired and lot.remaining > EPS:
                have = out.setdefault(lot.warehouse_id, {})
                have[lot.item] = round(have.get(lot.item, 0.0) + lot.remaining, 6)
        return out

    def stock(self) -> dict[str, dict[str, float]]:
        """Warehouse -> item -> quantity on hand (the ledger's sum)."""
        out: dict[str, dict[str, float]] = {str(r["warehouse_id"]): {} for r in self.warehouse_rows()}
        rows = self.db.execute("SELECT warehouse_id, item, SUM(quantity) AS q FROM relief_ledger"
                               " GROUP BY warehouse_id, item ORDER BY warehouse_id, item")  # fmt: skip
        for r in rows:
            out.setdefault(r["warehouse_id"], {})[r["item"]] = round(float(r["q"]), 6) + 0.0
        return out

    def earliest_expiry(self, today: str = "") -> dict[str, dict[str, str]]:
        """Warehouse -> item -> the soonest expiry date among its lots with stock left (not yet expired on `today`,
        when given)."""
        out: dict[str, dict[str, str]] = {}
        for lot in self.lots(today or "0000-00-00"):
            if lot.expires and lot.remaining > EPS and not lot.expired:
                have = out.setdefault(lot.warehouse_id, {})
                have[lot.item] = min(have.get(lot.item, lot.expires), lot.expires)
        return out

    def warehouses(self, today: str = "") -> list[Warehouse]:
        """Warehouses with their usable stock (lots not expired on `today`, default the hub's date), as the relief
        solver takes them."""
        stock = self.usable(today or cst_day(time.time()))
        return [Warehouse(str(r["warehouse_id"]), float(r["lat"]), float(r["lon"]),
                          stock.get(str(r["warehouse_id"]), {})) for r in self.warehouse_rows()]  # fmt: skip

    def ledger(self, warehouse_id: str | None = None, limit: int = 200,
               among: tuple[str, ...] | None = None) -> list[LedgerEntry]:
        """Ledger lines, newest first (of one warehouse; `among`: of these warehouses only, a full page of them)."""
        ids = [warehouse_id] if warehouse_id else list(among) if among is not None else None
        where = "" if ids is None else f" WHERE warehouse_id IN ({', '.join('?' for _ in ids) or 'NULL'})"
        rows = self.db.execute("SELECT * FROM relief_ledger" + where + " ORDER BY ts DESC, entry_id LIMIT ?",
                               [*(ids or []), limit])
        return [LedgerEntry(r["entry_id"], r["warehouse_id"], r["item"], float(r["quantity"]), r["kind"],
                            r["expires"], r["ref"], r["actor"], float(r["ts"]), r["note"], r["lot"] or "",
                            r["signed_by"] or "") for r in rows]  # fmt: skip

    # relief plans
    def save_plan(self, plan_id: str, plan: ReliefPlan, actor: str, ts: float) -> StoredPlan:
        """Record a draft plan; earlier drafts are superseded (one draft waits for the commander)."""
        self.db.execute("UPDATE relief_plans SET status = ? WHERE status = ?", [SUPERSEDED, DRAFT])
        self.db.execute(
            "INSERT INTO relief_plans (plan_id, status, body, created_by, created_at, approved_by, approved_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [plan_id, DRAFT, _plan_json(plan), actor, ts, "", None],
        )
        return StoredPlan(plan_id, plan, actor, ts)

    def plans(self, limit: int = 20) -> list[StoredPlan]:
        """Plans, newest first, with their receipts."""
        rows = self.db.execute("SELECT * FROM relief_plans ORDER BY created_at DESC LIMIT ?", [limit])
        got: dict[str, dict[str, tuple[str, float]]] = {}
        ids = [r["plan_id"] for r in rows]
        if ids:
            marks = ", ".join("?" * len(ids))
            for r in self.db.execute(f"SELECT * FROM relief_receipts WHERE plan_id IN ({marks})", ids):
                got.setdefault(r["plan_id"], {})[r["village_id"]] = (r["actor"], float(r["ts"]))
        return [_stored(r, got.get(r["plan_id"], {})) for r in rows]

    def plan(self, plan_id: str) -> StoredPlan:
        """One plan; KeyError when unknown."""
        rows = self.db.execute("SELECT * FROM relief_plans WHERE plan_id = ?", [plan_id])
        if not rows:
            raise KeyError(plan_id)
        receipts = {r["village_id"]: (r["actor"], float(r["ts"]))
                    for r in self.db.execute("SELECT * FROM relief_receipts WHERE plan_id = ?", [plan_id])}  # fmt: skip
        return _stored(rows[0], receipts)

    def approve_plan(self, plan_id: str, actor: str, ts: float) -> StoredPlan:
        """The commander's approval: the plan's shipments leave the warehouses (issue rows), once, each from the
        lots with the earliest expiry first (FEFO; expired lots are not issued). Refused when the plan is not a
        draft or a warehouse no longer holds, in lots still valid, what the plan ships."""
        stored = self.plan(plan_id)
        if stored.plan.status != DRAFT:
            raise ResourceError(f"plan {plan_id} is {stored.plan.status}, not a draft")
        today = cst_day(ts)
        stock = self.usable(today)
        for (wh, item), qty in _totals(stored.plan.shipments).items():
            have = stock.get(wh, {}).get(item, 0.0)
            if qty > have + EPS:
                raise ResourceError(f"{wh} holds {have:g} {item} not expired, the plan ships {qty:g}: plan again")
        rows = _issue_rows(plan_id, stored.plan.shipments, self.lots(today), actor, ts)
        self.db.execute("UPDATE relief_plans SET status = ?, approved_by = ?, approved_at = ?"
                        " WHERE plan_id = ? AND status = ?", [APPROVED, actor, ts, plan_id, DRAFT])  # fmt: skip
        after = self.plan(plan_id)
        if (after.plan.approved_by, after.plan.approved_at) != (actor, ts):
            raise ResourceError(f"plan {plan_id} was decided by {after.plan.approved_by or 'someone'} meanwhile")
        self.db.executemany(
            "INSERT OR IGNORE INTO relief_ledger (entry_id, warehouse_id, item, quantity, kind, expires, ref, actor,"
            " ts, note, lot, signed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return after

    def confirm_receipt(self, plan_id: str, village_id: str, actor: str, ts: float, note: str = "") -> StoredPlan:
        """The village confirms the plan's supplies arrived (once; the first confirmation is kept)."""
        stored = self.plan(plan_id)
        if stored.plan.status != APPROVED:
            raise ResourceError(f"plan {plan_id} is {stored.plan.status}: only approved supplies are sent")
        if village_id not in {s.village_id for s in stored.plan.shipments}:
            raise ResourceError(f"plan {plan_id} sends nothing to {village_id}")
        self.db.execute("INSERT OR IGNORE INTO relief_receipts (plan_id, village_id, actor, ts, note)"
                        " VALUES (?, ?, ?, ?, ?)", [plan_id, village_id, actor, ts, note])  # fmt: skip
        return self.plan(plan_id)


def _issue_rows(plan_id: str, shipments: tuple[Shipment, ...], lots: list[Lot], actor: str,
                ts: float) -> list[tuple[object, ...]]:  # fmt: skip
    """The ledger rows of a plan's issue: each line taken from its warehouse's lots of the item, earliest expiry
    first, skipping expired and empty lots (one row per line and lot, ids `<plan>:<line>:<n>`)."""
    left = {lot.lot_id: lot.remaining for lot in lots}
    rows: list[tuple[object, ...]] = []
    for n, s in enumerate(shipments):
        need, k = s.quantity, 0
        for lot in sorted((x for x in lots if (x.warehouse_id, x.item) == (s.warehouse_id, s.item)), key=fefo_key):
            if need <= EPS:
                break
            if lot.expired or left[lot.lot_id] <= EPS:
                continue
            take = min(need, left[lot.lot_id])
            left[lot.lot_id] -= take
            need -= take
            rows.append((f"{plan_id}:{n}:{k}", s.warehouse_id, s.item, -take, ISSUE, lot.expires, plan_id, actor, ts,
                         s.village_id, lot.lot_id, ""))  # fmt: skip
            k += 1
        if need > EPS:
            raise ResourceError(f"{s.warehouse_id} lacks {need:g} {s.item} in lots still valid: plan again")
    return rows


def _totals(shipments: tuple[Shipment, ...]) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for s in shipments:
        out[(s.warehouse_id, s.item)] = out.get((s.warehouse_id, s.item), 0.0) + s.quantity
    return out


def _team(r: object) -> TeamRecord:
    row = dict(r)  # type: ignore[call-overload]  # sqlite3.Row or a PostgreSQL dict row
    caps = frozenset(c for c in str(row["capabilities"]).split(",") if c)
    team = Team(row["team_id"], float(row["lat"]), float(row["lon"]), caps, row["status"], row["name"])
    return TeamRecord(team, row["incident"], row["updated_by"], float(row["updated_at"]), row.get("assignment") or "")


def _plan_json(plan: ReliefPlan) -> str:
    lines = [[s.warehouse_id, s.village_id, s.item, s.quantity, s.distance_km] for s in plan.shipments]
    return orjson.dumps({"shipments": lines, "need": plan.need, "fill": plan.fill}).decode()


def _stored(r: object, receipts: dict[str, tuple[str, float]]) -> StoredPlan:
    row = dict(r)  # type: ignore[call-overload]  # sqlite3.Row or a PostgreSQL dict row
    body = orjson.loads(row["body"])
    shipments = tuple(Shipment(w, v, i, float(q), float(km)) for w, v, i, q, km in body["shipments"])
    at = row["approved_at"]
    plan = ReliefPlan(shipments, body["need"], body["fill"], row["status"], row["approved_by"],
                      None if at is None else float(at))  # fmt: skip
    return StoredPlan(row["plan_id"], plan, row["created_by"], float(row["created_at"]), receipts)
