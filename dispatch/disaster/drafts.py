"""CAP drafts (issue 14, item 1): the gauge and report rules propose, a commander signs off.

A rule that would change an area's warning writes a `Draft` (the CAP message it proposes, what raised it, and its
status) into the state database; nothing goes into `/cap/alerts.xml` until a person approves it (or, only where
configured, the per-level `IssuePolicy` issues it after some minutes without a decision). A newer draft for the same
area supersedes a pending one, so the commander always decides on the current picture. Drafts live in the state
database only (SQLite or PostgreSQL), so they survive `kill -9` and every worker lists the same ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from alerts.disaster.cap import CapWarning, Polygon, Shape
from alerts.disaster.warnings import WarningLevel
from devices.statedb.sqlite import StateDB
from dispatch.disaster.store import message_json, message_of

PENDING, APPROVED, REJECTED, SUPERSEDED = "pending", "approved", "rejected", "superseded"
STATUSES = (PENDING, APPROVED, REJECTED, SUPERSEDED)
ISSUE, CANCEL = "issue", "cancel"  # a draft raises / changes an area's warning, or withdraws it
AUTO_ACTOR = "auto-policy"  # decided_by of a draft issued by the IssuePolicy
DDL = (
    """CREATE TABLE IF NOT EXISTS command_drafts (draft_id TEXT PRIMARY KEY, area TEXT NOT NULL,
        action TEXT NOT NULL, level INTEGER NOT NULL, status TEXT NOT NULL, created REAL NOT NULL,
        message TEXT NOT NULL, evidence TEXT NOT NULL, decided_by TEXT NOT NULL DEFAULT '',
        decided_at REAL, identifier TEXT NOT NULL DEFAULT '', edits TEXT NOT NULL DEFAULT '{}',
        note TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS command_drafts_status ON command_drafts (status, created)",
)


@dataclass(frozen=True, slots=True)
class Draft:
    """One proposed CAP message and its fate."""

    draft_id: str
    area: str
    action: str  # ISSUE or CANCEL
    level: WarningLevel
    created: float  # epoch s (UTC)
    message: CapWarning  # the message as proposed (identifier and sent are set when it is issued)
    evidence: dict[str, Any]  # what raised it: source gauge/report/external, terminal, metric, value, ...
    status: str = PENDING
    decided_by: str = ""
    decided_at: float | None = None
    identifier: str = ""  # the CAP identifier it went out under
    edits: dict[str, Any] = field(default_factory=dict)  # what the commander changed before approving
    note: str = ""  # the commander's reason (a rejection's)


@dataclass(frozen=True, slots=True)
class DraftEdits:
    """What a commander may change before approving (None: keep the draft's)."""

    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    area_desc: str | None = None
    polygon: tuple[tuple[float, float], ...] | None = None  # replaces the area's shapes
    level: WarningLevel | None = None

    def changed(self) -> dict[str, Any]:
        """The edited fields, as stored with the decision."""
        out: dict[str, Any] = {}
        for name in ("headline", "description", "instruction", "area_desc"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.polygon is not None:
            out["polygon"] = [list(p) for p in self.polygon]
        if self.level is not None:
            out["level"] = int(self.level)
        return out

    def apply(self, w: CapWarning) -> CapWarning:
        """The message with these edits (texts, area, level); the caller regenerates texts for a new level."""
        changes: dict[str, Any] = {k: v for k, v in self.changed().items() if k not in ("polygon", "level")}
        if self.polygon is not None:
            shapes: tuple[Shape, ...] = (Polygon.of(list(self.polygon)),)
            changes["shapes"] = shapes
        if self.level is not None:
            changes["level"] = self.level
        return replace(w, **changes)


@dataclass(frozen=True, slots=True)
class IssuePolicy:
    """Automatic issue per level: after so many seconds without a decision (absent: never). Off by default."""

    after_s: dict[WarningLevel, float] = field(default_factory=dict)

    @classmethod
    def of_minutes(cls, minutes: dict[str, float]) -> IssuePolicy:
        """From the settings' {"red": 30, ...} (colour names or grades I..IV; a negative value is refused)."""
        by_name = {lv.colour: lv for lv in WarningLevel if lv} | {lv.grade: lv for lv in WarningLevel if lv}
        after: dict[WarningLevel, float] = {}
        for name, value in minutes.items():
            level = by_name.get(name.strip().lower()) or by_name.get(name.strip().upper())
            if level is None or value < 0:
                raise ValueError(f"auto-issue policy: unknown level {name!r} or negative minutes {value}")
            after[level] = float(value) * 60.0
        return cls(after)

    @classmethod
    def at_once(cls) -> IssuePolicy:
        """Every draft issued as soon as it is made (the behaviour before issue 14; tests of the engine)."""
        return cls({lv: 0.0 for lv in WarningLevel if lv})

    def due(self, draft: Draft) -> float | None:
        """When `draft` would be issued without a decision, or None (never). A cancel follows its area's level."""
        after = self.after_s.get(draft.level)
        return None if after is None else draft.created + after

    def describe(self) -> dict[str, float]:
        """Colour -> minutes, for the page ("off" when empty)."""
        return {lv.colour: s / 60.0 for lv, s in sorted(self.after_s.items())}


def new_draft_id() -> str:
    """A draft id unique across workers."""
    return uuid.uuid4().hex[:16]


class DraftStore:
    """The command_drafts table: every worker reads and decides the same rows."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def add(self, draft: Draft) -> list[str]:
        """Save a new pending draft; earlier pending drafts of its area are superseded (their ids returned)."""
        gone = self.db.execute(
            "UPDATE command_drafts SET status = ?, decided_at = ? WHERE area = ? AND status = ? RETURNING draft_id",
            [SUPERSEDED, draft.created, draft.area, PENDING],
        )
        self.db.execute(
            "INSERT INTO command_drafts (draft_id, area, action, level, status, created, message, evidence)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [draft.draft_id, draft.area, draft.action, int(draft.level), draft.status, draft.created,
             message_json(draft.message), orjson.dumps(draft.evidence).decode()],
        )  # fmt: skip
        return [r["draft_id"] for r in gone]

    def supersede(self, area: str, ts: float) -> list[str]:
        """Drop the area's pending drafts (its level went back before anyone decided)."""
        rows = self.db.execute(
            "UPDATE command_drafts SET status = ?, decided_at = ? WHERE area = ? AND status = ? RETURNING draft_id",
            [SUPERSEDED, ts, area, PENDING],
        )
        return [r["draft_id"] for r in rows]

    def get(self, draft_id: str) -> Draft | None:
        """One draft by id."""
        rows = self.db.execute("SELECT * FROM command_drafts WHERE draft_id = ?", [draft_id])
        return _draft(rows[0]) if rows else None

    def pending(self) -> list[Draft]:
        """Drafts waiting for a decision, oldest first."""
        rows = self.db.execute("SELECT * FROM command_drafts WHERE status = ? ORDER BY created, draft_id", [PENDING])
        return [_draft(r) for r in rows]

    def history(self, limit: int = 100) -> list[Draft]:
        """Decided drafts (approved, rejected, superseded), newest decision first."""
        rows = self.db.execute(
            "SELECT * FROM command_drafts WHERE status <> ? ORDER BY decided_at DESC, created DESC LIMIT ?",
            [PENDING, limit],
        )
        return [_draft(r) for r in rows]

    def area_levels(self) -> dict[str, WarningLevel]:
        """Per area, the level its newest draft was made for (NONE after a cancel), whatever became of it: the
        detector's area level when it last changed, which a restart takes up so that it drafts nothing twice."""
        rows = self.db.execute(
            "SELECT d.area, d.action, d.level FROM command_drafts d JOIN (SELECT area, MAX(created) AS created"
            " FROM command_drafts GROUP BY area) m ON d.area = m.area AND d.created = m.created"
        )
        return {r["area"]: WarningLevel.NONE if r["action"] == CANCEL else WarningLevel(int(r["level"]))
                for r in rows}  # fmt: skip

    def decide(self, draft_id: str, status: str, actor: str, ts: float, identifier: str = "",
               edits: dict[str, Any] | None = None, note: str = "") -> bool:
        """Record a decision on a pending draft; False when it was no longer pending (another worker or click)."""
        rows = self.db.execute(
            "UPDATE command_drafts SET status = ?, decided_by = ?, decided_at = ?, identifier = ?, edits = ?,"
            " note = ? WHERE draft_id = ? AND status = ? RETURNING draft_id",
            [status, actor, ts, identifier, orjson.dumps(edits or {}).decode(), note, draft_id, PENDING],
        )  # fmt: skip
        return bool(rows)


def _draft(r: Any) -> Draft:
    return Draft(
        r["draft_id"], r["area"], r["action"], WarningLevel(int(r["level"])), float(r["created"]),
        message_of(r["message"]), orjson.loads(r["evidence"]), r["status"], r["decided_by"],
        None if r["decided_at"] is None else float(r["decided_at"]), r["identifier"], orjson.loads(r["edits"]),
        r["note"],
    )  # fmt: skip
