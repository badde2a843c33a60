"""Escalation timers per severity: not acknowledged within `ack_s`, re-notify and raise to a supervisor; not
dispatched within `dispatch_s` of the acknowledgement, raise to the commander; repeat every `repeat_s` until
someone acts (issue 5).

`due(incidents, now)` is pure (no clock reads); the timers are the incident's own stored times, so a restart in
the middle keeps them. `Escalator.run()` drives it with an injectable clock and sleep, so tests accelerate time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from alerts.incidents.record import Escalation, Incident
from alerts.incidents.service import IncidentService
from devices.i18n import t

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Policy:
    """Timers of one severity, in seconds."""

    ack_s: float
    dispatch_s: float
    repeat_s: float


POLICIES: dict[str, Policy] = {
    "critical": Policy(ack_s=60.0, dispatch_s=300.0, repeat_s=60.0),
    "warning": Policy(ack_s=300.0, dispatch_s=1800.0, repeat_s=300.0),
    "info": Policy(ack_s=1800.0, dispatch_s=4 * 3600.0, repeat_s=1800.0),
}


def _step(incident: Incident, policy: Policy, now: float) -> Escalation | None:
    start: float | None
    if incident.state == "open":
        start, limit, reason, role = incident.opened_at, policy.ack_s, "not_acknowledged", "supervisor"
    elif incident.state == "acknowledged":
        start, limit, reason, role = incident.acked_at, policy.dispatch_s, "not_dispatched", "commander"
    else:
        return None
    if start is None or now - start < limit:
        return None
    last = incident.last_escalated_at
    if last is not None and last >= start + limit and now - last < policy.repeat_s:
        return None
    return Escalation(incident.id, incident.escalation_level + 1, reason, role, now - start)


def due(incidents: list[Incident], now: float, policies: dict[str, Policy] = POLICIES) -> list[Escalation]:
    """The escalations due at `now` for these incidents (pure)."""
    out = []
    for incident in incidents:
        step = _step(incident, policies[incident.severity], now)
        if step is not None:
            out.append(step)
    return out


class Escalator:
    """Applies due escalations every `interval_s` of the injected clock."""

    def __init__(
        self,
        service: IncidentService,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        interval_s: float = 1.0,
        policies: dict[str, Policy] = POLICIES,
    ) -> None:
        self.service = service
        self.clock = clock
        self.sleep = sleep
        self.interval_s = interval_s
        self.policies = policies
        self.fired = 0

    def tick(self, now: float) -> list[Escalation]:
        """Find and apply the escalations due at `now`; returns them."""
        steps = due(self.service.store.active(), now, self.policies)
        for step in steps:
            self.service.store.update(step.incident_id, escalation_level=step.level, last_escalated_at=now)
            self.service.store.audit(
                "system",
                "escalated",
                step.incident_id,
                {
                    "level": step.level,
                    "reason": step.reason,
                    "notify_role": step.notify_role,
                    "waited_s": round(step.waited_s, 1),
                },
                now,
            )
            incident = self.service.get(step.incident_id)
            text = t("escalation.text", title=incident.title, level=step.level, minutes=round(step.waited_s / 60))
            self.service.notify("escalated", replace(incident, escalation=replace(step, text=text)))
        self.fired += len(steps)
        return steps

    async def run(self) -> None:
        """Forever: tick, then sleep; a failing tick is logged and retried next time."""
        while True:
            try:
                self.tick(self.clock())
            except Exception:
                logger.exception("escalation tick failed")
            await self.sleep(self.interval_s)
