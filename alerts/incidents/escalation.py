"""Escalation per policy (issue 5, issue 15): an incident not acknowledged, or acknowledged but not dispatched, goes
through the steps of its policy (`alerts/incidents/policy.py`: after how long, who, which channel), and the console
steps of a phase repeat every `repeat_s` until someone acts.

`due(incidents, now, policies)` is pure (no clock reads); the timers are the incident's own stored times
(`opened_at`, `acked_at`, `last_escalated_at`), so a restart in the middle keeps them: a step counts as done when the
incident was last escalated at or after the step's time. `Escalator.run()` drives it with an injectable clock and
sleep, so tests accelerate time. Each step is audited; console steps announce an "escalated" frame for the role's
consoles, SMS steps queue a text in the outbox (sent by its own task, never in the way), offer steps ask dispatch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Protocol

from alerts.incidents.policy import POLICIES, Policy, PolicyStore, Step, policy_for
from alerts.incidents.record import Escalation, Incident
from alerts.incidents.service import IncidentService
from alerts.sms.outbox import mask_number
from devices.contacts import contacts_of
from devices.i18n import kind_title, t

__all__ = ["POLICIES", "Escalator", "Policy", "SmsQueue", "due"]
logger = logging.getLogger(__name__)
REASONS = {"open": "not_acknowledged", "acknowledged": "not_dispatched"}
WHO = {"sms_family": "family", "sms_oncall": "on_call", "offer": "provider"}


class SmsQueue(Protocol):
    """Where escalation texts go (the SMS outbox and its sender)."""

    def queue(self, recipient: str, text: str, *, kind: str, channel: str, incident_id: int | None,
              recipient_name: str = "") -> int: ...


def _escalation(incident: Incident, step: Step, level: int, now: float, start: float) -> Escalation:
    role = step.target if step.channel == "console" else WHO[step.channel]
    return Escalation(incident.id, level, REASONS[step.phase], role, now - start, channel=step.channel,
                      target=step.target)


def _steps(incident: Incident, policy: Policy, now: float) -> list[Escalation]:
    if incident.state == "open":
        start = incident.opened_at
    elif incident.state == "acknowledged" and incident.acked_at is not None:
        start = incident.acked_at
    else:
        return []
    steps = policy.phase(incident.state)
    last = incident.last_escalated_at
    done = [s for s in steps if last is not None and last >= start + s.after_s]
    fresh = [s for s in steps if now >= start + s.after_s and s not in done]
    level = incident.escalation_level
    if fresh:
        return [_escalation(incident, s, level + i + 1, now, start) for i, s in enumerate(fresh)]
    consoles = [s for s in done if s.channel == "console"]
    if consoles and last is not None and now - last >= policy.repeat_s:
        return [_escalation(incident, consoles[-1], level + 1, now, start)]
    return []


def due(incidents: list[Incident], now: float, policies: Mapping[str, Policy] = POLICIES) -> list[Escalation]:
    """The escalations due at `now` for these incidents (pure)."""
    out = []
    for incident in incidents:
        out += _steps(incident, policy_for(policies, incident.severity.value, incident.kind), now)
    return out


class Escalator:
    """Applies due escalations every `interval_s` of the injected clock."""

    def __init__(
        self,
        service: IncidentService,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        interval_s: float = 1.0,
        policies: Mapping[str, Policy] | PolicyStore = POLICIES,
        sms: SmsQueue | None = None,
        offer: Callable[[Incident], None] | None = None,
    ) -> None:
        self.service = service
        self.clock = clock
        self.sleep = sleep
        self.interval_s = interval_s
        self.policies = policies
        self.sms = sms
        self.offer = offer
        self.fired = 0

    def _policies(self) -> Mapping[str, Policy]:
        return self.policies.all() if isinstance(self.policies, PolicyStore) else self.policies

    def tick(self, now: float) -> list[Escalation]:
        """Find and apply the escalations due at `now`; returns them."""
        steps = due(self.service.store.active(), now, self._policies())
        for step in steps:
            self.service.store.update(step.incident_id, escalation_level=step.level, last_escalated_at=now)
            detail = {"level": step.level, "reason": step.reason, "notify_role": step.notify_role,
                      "channel": step.channel, "waited_s": round(step.waited_s, 1)}
            self.service.store.audit("system", "escalated", step.incident_id, detail, now)
            incident = self.service.get(step.incident_id)
            minutes = round(step.waited_s / 60)
            text = t("escalation.text", title=incident.title, level=step.level, minutes=minutes)
            self._carry_out(incident, step, minutes, now)
            self.service.notify("escalated", replace(incident, escalation=replace(step, text=text)))
        self.fired += len(steps)
        return steps

    def _carry_out(self, incident: Incident, step: Escalation, minutes: int, now: float) -> None:
        """The step's channel beyond the console frame: a text queued, or an offer asked for."""
        try:
            if step.channel == "offer" and self.offer is not None:
                self.offer(incident)
            elif step.channel in ("sms_family", "sms_oncall"):
                self._text(incident, step, minutes, now)
        except Exception:
            logger.exception("escalation step %s of incident %d failed", step.channel, incident.id)

    def _text(self, incident: Incident, step: Escalation, minutes: int, now: float) -> None:
        store = self.service.store
        name, number = "", step.target
        if step.channel == "sms_family":
            contacts = [c for c in contacts_of(store.db, incident.resident_id or "") if c.may_sms and c.phone]
            if contacts:
                name, number = contacts[0].name or contacts[0].relation, contacts[0].phone
        if not number or self.sms is None:
            why = "no_recipient" if not number else "no_gateway"
            store.audit("system", "sms_not_sent", incident.id, {"channel": step.channel, "why": why}, now)
            return
        resident = self.service.registry.resident(incident.resident_id or "")
        kind = "escalation_family" if step.channel == "sms_family" else "escalation_oncall"
        text = t(f"sms.{kind}", resident=resident.name if resident else "", kind=kind_title(incident.kind),
                 minutes=minutes, incident=incident.id)
        message_id = self.sms.queue(number, text, kind=kind, channel=step.channel, incident_id=incident.id,
                                    recipient_name=name)
        store.audit("system", "sms_queued", incident.id,
                    {"channel": step.channel, "recipient": mask_number(number), "message_id": message_id}, now)

    async def run(self) -> None:
        """Forever: tick, then sleep; a failing tick is logged and retried next time."""
        while True:
            try:
                self.tick(self.clock())
            except Exception:
                logger.exception("escalation tick failed")
            await self.sleep(self.interval_s)
