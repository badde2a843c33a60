"""Incidents: every alert joins the active incident of its resident (or household), or opens one.

States: open -> acknowledged -> dispatched -> on_scene -> resolved -> closed, with shortcuts where a call settles
it (resolve from any active state). Each transition is timestamped, attributed and appended to the audit log;
the incident row itself is the current state, reloaded from SQLite after a restart or a kill -9. Repeats of the
same alert (a flapping sensor, a re-pressed key) within DUPLICATE_S are counted on the incident, not re-announced.
What it returns and announces is a frozen `Incident` record (record.py), read back after each change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from alerts.detection import Detection
from alerts.incidents.record import Incident, Notify
from alerts.incidents.store import IncidentStore
from alerts.incidents.subject import Subject, locate
from devices.i18n import kind_title, t
from devices.registry import Registry
from devices.statedb.sqlite import StateDB

logger = logging.getLogger(__name__)
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"acknowledged", "dispatched", "resolved"}),
    "acknowledged": frozenset({"dispatched", "resolved"}),
    "dispatched": frozenset({"on_scene", "resolved", "acknowledged"}),
    "on_scene": frozenset({"resolved"}),
    "resolved": frozenset({"closed"}),
    "closed": frozenset(),
}
OUTCOMES = frozenset({"helped", "false_alarm", "taken_to_hospital", "no_help_needed", "referred", "service_done"})
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
DUPLICATE_S = 60.0


class IncidentError(ValueError):
    """A request the incident cannot take: unknown id (404), a transition not allowed now (409), bad input (422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class IncidentService:
    """Groups detections into incidents and applies the operators' actions."""

    def __init__(
        self, db: StateDB, registry: Registry, notify: Notify | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = IncidentStore(db)
        self.registry = registry
        self.notify: Notify = notify or (lambda _event, _incident: None)
        self.clock = clock
        self.suppressed = 0
        self.replayed = 0  # alerts it held already, detected again after a redelivery (issue 7)

    def on_detections(self, detections: list[Detection]) -> None:
        """Sink for the detector stage (after DetectionLog): group, store, announce. Never raises."""
        for det in detections:
            try:
                self._absorb(det)
            except Exception:
                logger.exception("could not turn detection %s of %s into an incident", det.kind, det.device_id)

    def _absorb(self, det: Detection) -> None:
        subject = locate(self.registry, det)
        if subject is None:
            return
        if self.store.has_alert(det.device_id, det.ts, det.detector, det.kind, det.key):
            self.replayed += 1  # detected again after a redelivery (issue 7): the incident has it already
            return
        now = self.clock()
        alert = {
            "ts": det.ts,
            "received_at": now,
            "detector": det.detector,
            "kind": det.kind,
            "severity": det.severity.value,
            "device_id": det.device_id,
            "confidence": det.confidence,
            "features": det.features,
            "message": det.message,
            "alert_key": det.key,
        }
        current = self.store.active_for(subject.group_key)
        if current is None:
            self._open(subject, det, alert, now)
        else:
            self._merge(current, det, alert, now)

    def _open(self, subject: Subject, det: Detection, alert: dict[str, Any], now: float) -> None:
        # issue 18: in the hub's language ("跌倒：王秀英"); the detector's own message stays in the alert row
        title = t("title.incident", kind=kind_title(det.kind, det.key), subject=subject.label)
        incident_id = self.store.create(
            {
                "group_key": subject.group_key,
                "kind": det.kind,
                "severity": det.severity.value,
                "state": "open",
                "resident_id": subject.resident_id,
                "home_id": subject.home_id,
                "device_id": det.device_id,
                "title": title[:200],
                "opened_at": now,
                "updated_at": now,
                "last_alert_at": now,
                "lat": subject.lat,
                "lon": subject.lon,
            }
        )
        self.store.add_alert(incident_id, alert)
        self.store.audit("system", "opened", incident_id, {"kind": det.kind, "severity": det.severity.value}, now)
        self.notify("opened", self.get(incident_id))

    def _merge(self, incident: Incident, det: Detection, alert: dict[str, Any], now: float) -> None:
        recent = [
            a
            for a in self.store.alerts(incident.id)
            if a.kind == det.kind and a.device_id == det.device_id and now - a.received_at < DUPLICATE_S
        ]
        if recent:
            self.suppressed += 1
            self.store.update(incident.id, repeats=incident.repeats + 1, last_alert_at=now, updated_at=now)
            return
        changes: dict[str, Any] = {"alert_count": incident.alert_count + 1, "last_alert_at": now, "updated_at": now}
        if SEVERITY_RANK[det.severity.value] > SEVERITY_RANK[incident.severity]:
            changes.update(severity=det.severity.value, kind=det.kind)
        self.store.update(incident.id, **changes)
        self.store.add_alert(incident.id, alert)
        self.store.audit("system", "merged", incident.id, {"kind": det.kind, "severity": det.severity.value}, now)
        self.notify("updated", self.get(incident.id))

    def get(self, incident_id: int) -> Incident:
        """One incident with its alerts; IncidentError(404) when unknown."""
        incident = self.store.get(incident_id)
        if incident is None:
            raise IncidentError(404, f"no incident {incident_id}")
        return replace(incident, alerts=tuple(self.store.alerts(incident_id)))

    def move(
        self, incident_id: int, to: str, actor: str, detail: dict[str, Any] | None = None, **changes: Any
    ) -> Incident:
        """Apply an allowed transition, audited and announced."""
        incident = self.get(incident_id)
        if to not in TRANSITIONS[incident.state]:
            raise IncidentError(409, f"incident {incident_id} is {incident.state}; cannot become {to}")
        now = self.clock()
        self.store.update(incident_id, state=to, updated_at=now, **changes)
        self.store.audit(actor, to, incident_id, {"from": incident.state, **(detail or {})}, now)
        updated = self.get(incident_id)
        self.notify(to, updated)
        return updated

    def acknowledge(self, incident_id: int, actor: str, comment: str) -> Incident:
        """An operator takes the incident."""
        now = self.clock()
        return self.move(
            incident_id, "acknowledged", actor, {"comment": comment}, acked_at=now, acked_by=actor, ack_comment=comment
        )

    def callback(self, incident_id: int, actor: str, reached: bool, note: str) -> Incident:
        """Record a call-back to the resident or a contact (no state change)."""
        self.get(incident_id)
        self.store.audit(actor, "callback", incident_id, {"reached": reached, "note": note}, self.clock())
        return self.get(incident_id)

    def dispatch(self, incident_id: int, actor: str, responder_id: str, offer_id: int | None = None) -> Incident:
        """A responder was sent (the offer lifecycle lives in dispatch/offers.py)."""
        return self.move(
            incident_id,
            "dispatched",
            actor,
            {"responder_id": responder_id, "offer_id": offer_id},
            dispatched_at=self.clock(),
            responder_id=responder_id,
        )

    def resolve(self, incident_id: int, actor: str, outcome: str, comment: str = "") -> Incident:
        """The situation is settled with an outcome (helped, false_alarm, taken_to_hospital, ...)."""
        if outcome not in OUTCOMES:
            raise IncidentError(422, f"outcome must be one of {sorted(OUTCOMES)}")
        return self.move(incident_id, "resolved", actor, {"outcome": outcome, "comment": comment}, outcome=outcome)

    def audit(self, actor: str, action: str, incident_id: int | None, detail: dict[str, Any]) -> None:
        """Append an entry for an action outside the state machine (logins, user admin, offers)."""
        self.store.audit(actor, action, incident_id, detail, self.clock())
