"""Escalation policies as data (issue 15): per severity (and optionally per kind), ordered steps saying after how long,
in which phase of the incident, who is told and by which channel; kept in the state database, editable by an admin,
with the timers the hub always had as defaults.

A step's clock starts when the incident entered its phase: `open` (not acknowledged) counts from the opening,
`acknowledged` (not dispatched) from the acknowledgement. Channels:
- `console`: the consoles of a role (`target`: supervisor, commander, operator) get a distinct escalation alert;
- `sms_oncall`: an on-call person by SMS (`target`: the phone number);
- `sms_family`: the resident's first contact who may receive SMS;
- `offer`: the nearest provider gets a dispatch offer.
After the last due step of a phase, its console steps repeat every `repeat_s` until someone acts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from devices.statedb.sqlite import StateDB

Phase = Literal["open", "acknowledged"]
Channel = Literal["console", "sms_oncall", "sms_family", "offer"]
PHASES: tuple[Phase, ...] = ("open", "acknowledged")
CHANNELS: tuple[Channel, ...] = ("console", "sms_oncall", "sms_family", "offer")
ROLES = ("operator", "supervisor", "commander")
SEVERITIES = ("critical", "warning", "info")
_PHONE = re.compile(r"^\+?\d{5,20}$")


class PolicyError(ValueError):
    """A policy that cannot be used; `key` names the catalogue message (policy.error.*)."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Step:
    """One escalation step."""

    phase: Phase
    after_s: float
    channel: Channel
    target: str = ""  # a role (console), a phone number (sms_oncall), "" otherwise

    def check(self) -> None:
        """Raise PolicyError when the step is not usable."""
        if self.phase not in PHASES:
            raise PolicyError("policy.error.phase", self.phase)
        if self.channel not in CHANNELS:
            raise PolicyError("policy.error.channel", self.channel)
        if not 0 <= self.after_s <= 7 * 86400:
            raise PolicyError("policy.error.after", str(self.after_s))
        if self.channel == "console" and self.target not in ROLES:
            raise PolicyError("policy.error.role", self.target)
        if self.channel == "sms_oncall" and not _PHONE.match(self.target):
            raise PolicyError("policy.error.phone", self.target)

    def to_json(self) -> dict[str, Any]:
        """As the API and the stored row carry it."""
        return {"phase": self.phase, "after_s": self.after_s, "channel": self.channel, "target": self.target}


@dataclass(frozen=True, slots=True)
class Policy:
    """The steps of one severity (and kind), ordered by phase and time."""

    steps: tuple[Step, ...]
    repeat_s: float

    def __post_init__(self) -> None:
        order = sorted(self.steps, key=lambda s: (PHASES.index(s.phase), s.after_s))
        object.__setattr__(self, "steps", tuple(order))

    def check(self) -> None:
        """Raise PolicyError when the policy is not usable."""
        if not 10 <= self.repeat_s <= 86400:
            raise PolicyError("policy.error.repeat", str(self.repeat_s))
        if not self.steps:
            raise PolicyError("policy.error.empty")
        for step in self.steps:
            step.check()

    def phase(self, phase: Phase) -> tuple[Step, ...]:
        """The steps of one phase, by time."""
        return tuple(s for s in self.steps if s.phase == phase)

    def _first(self, phase: Phase) -> float:
        steps = self.phase(phase)
        return steps[0].after_s if steps else float("inf")

    @property
    def ack_s(self) -> float:
        """Seconds until the first step of an unacknowledged incident."""
        return self._first("open")

    @property
    def dispatch_s(self) -> float:
        """Seconds after the acknowledgement until the first step of an undispatched incident."""
        return self._first("acknowledged")

    def to_json(self) -> dict[str, Any]:
        """As the API and the stored row carry it."""
        return {"repeat_s": self.repeat_s, "steps": [s.to_json() for s in self.steps]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Policy:
        """From `to_json()`'s shape (checked by `check()`, not here)."""
        return cls(tuple(Step(**s) for s in data["steps"]), float(data["repeat_s"]))


def _default(ack_s: float, dispatch_s: float, repeat_s: float, family_sms: bool) -> Policy:
    steps = [Step("open", ack_s, "console", "supervisor"), Step("acknowledged", dispatch_s, "console", "commander")]
    if family_sms:  # the family hears of a critical incident no one took, and of one no one was sent to
        steps += [Step("open", ack_s + repeat_s, "sms_family"), Step("acknowledged", dispatch_s + repeat_s,
                                                                     "sms_family")]
    return Policy(tuple(steps), repeat_s)


# The hub's timers before policies were data (issue 5), now the defaults; critical ones also text the family.
POLICIES: dict[str, Policy] = {
    "critical": _default(60.0, 300.0, 60.0, family_sms=True),
    "warning": _default(300.0, 1800.0, 300.0, family_sms=False),
    "info": _default(1800.0, 4 * 3600.0, 1800.0, family_sms=False),
}


def policy_key(severity: str, kind: str = "") -> str:
    """"critical" for a severity's policy, "critical/fall" for one kind's."""
    return f"{severity}/{kind}" if kind else severity


def policy_for(policies: Mapping[str, Policy], severity: str, kind: str) -> Policy:
    """The kind's policy, else the severity's, else the default."""
    return policies.get(policy_key(severity, kind)) or policies.get(severity) or POLICIES[severity]


DDL = (
    """CREATE TABLE IF NOT EXISTS escalation_policies (severity TEXT NOT NULL, kind TEXT NOT NULL,
        body TEXT NOT NULL, updated_at REAL NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (severity, kind))""",
)


class PolicyStore:
    """The policies in the state database (each row overrides a default); read on every use, so an edit made on
    any worker applies at the next escalation tick."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def all(self) -> dict[str, Policy]:
        """Defaults overlaid with the stored policies."""
        out = dict(POLICIES)
        for severity, kind, body in self.db.execute("SELECT severity, kind, body FROM escalation_policies"):
            out[policy_key(severity, kind)] = Policy.from_json(orjson.loads(body))
        return out

    def stored(self) -> list[dict[str, Any]]:
        """The stored rows (who changed what, when)."""
        rows = self.db.execute("SELECT severity, kind, updated_at, updated_by FROM escalation_policies"
                               " ORDER BY severity, kind")
        return [dict(zip(("severity", "kind", "updated_at", "updated_by"), r, strict=True)) for r in rows]

    def put(self, severity: str, kind: str, policy: Policy, actor: str, now: float | None = None) -> None:
        """Check and store one policy (replacing the one before)."""
        if severity not in SEVERITIES:
            raise PolicyError("policy.error.severity", severity)
        policy.check()
        ts = time.time() if now is None else now
        body = orjson.dumps(policy.to_json()).decode()
        self.db.execute("INSERT INTO escalation_policies (severity, kind, body, updated_at, updated_by)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (severity, kind) DO UPDATE SET body = excluded.body,"
                        " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                        [severity, kind, body, ts, actor])

    def reset(self, severity: str, kind: str) -> bool:
        """Back to the default; True when a stored policy was removed."""
        rows = self.db.execute("DELETE FROM escalation_policies WHERE severity = ? AND kind = ? RETURNING severity",
                               [severity, kind])
        return bool(rows)
