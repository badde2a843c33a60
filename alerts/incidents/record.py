"""The incident records: what the incident service hands to dispatch, the notifiers, the websocket and REST.

An `Incident` is the current row of the `incidents` table, typed, plus what travels with it on the way out:
its alerts (when loaded), the escalation step an "escalated" event announces, and the service order that
dispatch attaches. Records are frozen: a change is a new record (`dataclasses.replace`) or a new read after the
store was updated, never a mutation. `to_json()` is the one place that turns a record into the JSON of the REST
API, the websocket frames and the webhook; its fields and their order are those the table rows had as dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, Final, Literal, Protocol

import orjson

from alerts.detection import Severity

IncidentState = Literal["open", "acknowledged", "dispatched", "on_scene", "resolved", "closed"]


class Row(Protocol):
    """A database row (sqlite3.Row, or the PostgreSQL backend's Row): its column names, and its values in order."""

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...


def _values(row: Row) -> dict[str, Any]:
    return dict(zip(row.keys(), row, strict=True))  # three times faster than dict(row) on a sqlite3.Row


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET  # `Incident.service_order` not looked up (None means: not a service order)


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentAlert:
    """One alert on an incident (a row of `incident_alerts`): the detection that raised or joined it."""

    id: int
    incident_id: int
    ts: float  # the detection's time
    received_at: float  # when the incident service took it (hub clock)
    detector: str
    kind: str
    severity: Severity
    device_id: str
    confidence: float
    features: Mapping[str, Any]
    message: str
    alert_key: str = ""

    @classmethod
    def from_row(cls, row: Row) -> IncidentAlert:
        """From a database row (features stored as JSON text)."""
        values = _values(row)
        values["severity"] = Severity(values["severity"])
        values["features"] = orjson.loads(values["features"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The alert as the REST API serves it."""
        out = {f: getattr(self, f) for f in _ALERT_FIELDS}
        out["severity"] = self.severity.value
        out["features"] = dict(self.features)
        return out


@dataclass(frozen=True, slots=True)
class Escalation:
    """One escalation step to carry out, and what an "escalated" event says about it."""

    incident_id: int
    level: int
    reason: str  # not_acknowledged | not_dispatched
    notify_role: str  # the console step's role (supervisor, commander), or family | on_call | provider
    waited_s: float
    text: str = ""  # what the escalation says to people, in the hub's language (issue 18)
    channel: str = "console"  # issue 15: console | sms_oncall | sms_family | offer (alerts/incidents/policy.py)
    target: str = ""  # the console step's role, the on-call number (never put on a frame)

    def to_json(self) -> dict[str, Any]:
        """The step as the incident's frame carries it."""
        return {"level": self.level, "reason": self.reason, "notify_role": self.notify_role, "text": self.text,
                "channel": self.channel}


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """One incident: its current state (a row of `incidents`) and, when attached, its alerts, escalation step and
    service order."""

    id: int
    group_key: str  # resident:<id>, service:<id>, home:<id> or subject:<id> (see subject.py)
    kind: str  # the kind of its most severe alert
    severity: Severity
    state: IncidentState
    resident_id: str | None = None
    home_id: str | None = None
    device_id: str
    title: str
    opened_at: float
    updated_at: float
    last_alert_at: float
    alert_count: int = 1
    repeats: int = 0  # repeats of an alert within the duplicate window, counted, not re-announced
    acked_at: float | None = None
    acked_by: str | None = None
    ack_comment: str | None = None
    dispatched_at: float | None = None
    responder_id: str | None = None
    outcome: str | None = None
    escalation_level: int = 0
    last_escalated_at: float | None = None
    lat: float | None = None
    lon: float | None = None
    # attached on the way out, not columns:
    escalation: Escalation | None = None  # the step an "escalated" event announces
    service_order: Mapping[str, Any] | Literal[_Unset.UNSET] | None = UNSET  # dispatch's order of a green key
    alerts: tuple[IncidentAlert, ...] | None = None  # None: not loaded (queue listings)

    @classmethod
    def from_row(cls, row: Row) -> Incident:
        """From a row of the `incidents` table."""
        values = _values(row)
        values["severity"] = Severity(values["severity"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The incident as the REST API, the websocket and the webhook show it: the columns, then whatever is
        attached (escalation, service_order, alerts)."""
        out = {f: getattr(self, f) for f in _COLUMNS}
        out["severity"] = self.severity.value
        if self.escalation is not None:
            out["escalation"] = self.escalation.to_json()
        if self.service_order is not UNSET:
            out["service_order"] = None if self.service_order is None else dict(self.service_order)
        if self.alerts is not None:
            out["alerts"] = [a.to_json() for a in self.alerts]
        return out


_ALERT_FIELDS = tuple(f.name for f in fields(IncidentAlert))
_COLUMNS = tuple(f.name for f in fields(Incident) if f.name not in {"escalation", "service_order", "alerts"})
Notify = Callable[[str, Incident], None]  # an incident event ("opened", "updated", a state, "escalated") and its record
