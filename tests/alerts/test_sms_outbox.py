"""Issue 15: the SMS outbox and the escalation policies in the state database (SQLite and PostgreSQL), the sender's
rate limit per recipient and its backoff, with a stand-in gateway (the real Kannel: tests/dashboard/test_sms_kannel)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from alerts.detection import Detection, Severity
from alerts.incidents.escalation import POLICIES, Escalator, due
from alerts.incidents.policy import Policy, PolicyError, PolicyStore, Step
from alerts.incidents.record import Incident
from alerts.incidents.service import IncidentService
from alerts.sms.gateway import SendResult
from alerts.sms.outbox import Outbox, SmsMessage
from alerts.sms.sender import SenderSettings, SmsSender
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Gateway:
    """Answers what `answers` says (then accepts), and records what it was given."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.got: list[SmsMessage] = []

    async def send(self, message: SmsMessage) -> SendResult:
        self.got.append(message)
        outcome = self.answers.pop(0) if self.answers else "accepted"
        return SendResult(outcome, outcome)  # type: ignore[arg-type]  # one of the Outcome literals


def test_outbox_survives_a_reopen_and_takes_reports_in_any_order(open_db: Callable[[], StateDB]) -> None:
    outbox = Outbox(open_db())
    first = outbox.enqueue("13912340001", "老人跌倒", kind="escalation_family", channel="sms_family", incident_id=7,
                           recipient_name="儿子", now=10.0)
    second = outbox.enqueue("13912340002", "x", kind="sms_test", channel="sms_test", now=11.0)
    outbox = Outbox(open_db())  # another process, or the hub after a restart
    assert [m.id for m in outbox.due(11.0)] == [first, second] and outbox.pending() == 2
    token = outbox.get(first).token  # type: ignore[union-attr]  # just queued
    assert outbox.delivery_report(first, "forged", 1, "", 12.0) is None
    assert outbox.delivery_report(first, token, 1, "", 12.0).status == "delivered"  # type: ignore[union-attr]  # ok
    late = outbox.delivery_report(first, token, 8, "ACK/", 12.1)  # the SMSC's "accepted" after the final report
    assert late is not None and (late.status, late.dlr_code) == ("delivered", 1)
    outbox.mark_sent(first, 12.2)  # the sendsms answer last of all
    assert outbox.get(first).status == "delivered"  # type: ignore[union-attr]  # exists
    assert [m.text for m in outbox.of_incident(7)] == ["老人跌倒"] and outbox.pending() == 1


def test_policies_round_trip_and_bad_ones_are_refused(open_db: Callable[[], StateDB]) -> None:
    store = PolicyStore(open_db())
    assert store.all()["critical"] == POLICIES["critical"]
    mine = Policy((Step("open", 30, "console", "supervisor"), Step("open", 45, "sms_oncall", "13800000000"),
                   Step("acknowledged", 600, "offer")), 120)
    store.put("critical", "fall", mine, "admin1")
    again = PolicyStore(open_db())
    assert again.all()["critical/fall"] == mine and again.all()["critical"] == POLICIES["critical"]
    store.put("critical", "fall", Policy(mine.steps[:1], 90), "admin2")  # replaced, not added
    assert [r["updated_by"] for r in again.stored()] == ["admin2"]
    for bad in (Policy((Step("open", 30, "console", "janitor"),), 60),
                Policy((Step("open", 30, "sms_oncall", "call me"),), 60), Policy((), 60)):
        with pytest.raises(PolicyError):
            store.put("critical", "", bad, "admin1")
    assert again.reset("critical", "fall") and "critical/fall" not in again.all()


def test_due_follows_a_kind_policy_step_by_step() -> None:
    incident = Incident(id=1, group_key="resident:R1", kind="fall", device_id="W1", title="fall", state="open",
                        severity=Severity.CRITICAL, opened_at=0.0, updated_at=0.0, last_alert_at=0.0)
    policies = {**POLICIES, "critical/fall": Policy((Step("open", 10, "sms_family"),
                                                     Step("open", 20, "console", "supervisor")), 30)}
    assert due([incident], 9.9, policies) == []
    [family] = due([incident], 10, policies)
    assert family.channel == "sms_family" and family.notify_role == "family"
    after = replace(incident, escalation_level=1, last_escalated_at=10.0)
    [console] = due([after], 20, policies)
    assert (console.channel, console.notify_role, console.level) == ("console", "supervisor", 2)
    done = replace(after, escalation_level=2, last_escalated_at=20.0)
    assert due([done], 49, policies) == []
    [repeat] = due([done], 50, policies)  # only console steps repeat: the family is not texted again
    assert repeat.channel == "console"


def test_rate_limit_per_recipient_and_backoff(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    clock = Clock()
    gateway = Gateway("retry", "retry")
    sender = SmsSender(Outbox(db), gateway, None, SenderSettings(per_recipient=2, window_s=60, backoff_s=1,
                                                                 backoff_max_s=1.5), clock=clock)
    ids = [sender.queue("13900000000", f"m{i}", kind="sms_test", channel="sms_test", incident_id=None)
           for i in range(3)]
    other = sender.queue("13911111111", "other", kind="sms_test", channel="sms_test", incident_id=None)

    def statuses() -> list[str]:
        return [sender.outbox.get(i).status for i in [*ids, other]]  # type: ignore[union-attr]  # all exist

    assert asyncio.run(sender.drain()) == 2  # two refused as "retry" (gateway down), then two accepted
    assert statuses() == ["retry", "retry", "sent", "sent"]
    assert sender.stats.retries == 2 and sender.stats.gateway_up  # down, then up again
    clock.now += 0.9
    assert asyncio.run(sender.drain()) == 0  # backing off
    clock.now += 0.1  # the first backoff (1 s) has passed
    assert asyncio.run(sender.drain()) == 1  # m0; m1 would be the number's third text in the window: held back
    assert sender.stats.rate_limited == 1 and statuses() == ["sent", "retry", "sent", "sent"]
    clock.now += 61.0
    assert asyncio.run(sender.drain()) == 1 and statuses() == ["sent"] * 4
    assert [m.text for m in gateway.got] == ["m0", "m1", "m2", "other", "m0", "m1"]
    db.close()


def test_escalator_carries_out_offer_and_on_call_steps(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    registry = Registry(db)
    registry.add_home(Home("H1", "addr", 28.0, 112.0))
    registry.add_resident(Resident("R1", "李娜", "H1"))  # no contacts: a family step has no one to text
    registry.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
    service = IncidentService(db, registry)
    service.on_detections([Detection("flow", "sos", "R1", "W1", 0.0, Severity.CRITICAL)])
    [incident] = service.store.active()
    sender = SmsSender(Outbox(db), None)
    offered: list[int] = []
    policies = {**POLICIES, "critical": Policy((Step("open", 10, "sms_oncall", "13800000009"),
                                                Step("open", 20, "sms_family"), Step("open", 30, "offer")), 60)}
    escalator = Escalator(service, policies=policies, sms=sender, offer=lambda i: offered.append(i.id))
    t0 = incident.opened_at
    assert [s.channel for s in escalator.tick(t0 + 10)] == ["sms_oncall"]
    [oncall] = sender.outbox.of_incident(incident.id)
    assert (oncall.recipient, oncall.kind, oncall.status) == ("13800000009", "escalation_oncall", "queued")
    assert "李娜" in oncall.text and "值班" in oncall.text
    assert [s.channel for s in escalator.tick(t0 + 20)] == ["sms_family"]
    assert len(sender.outbox.of_incident(incident.id)) == 1  # no contact: nothing queued, the audit says why
    assert [s.channel for s in escalator.tick(t0 + 30)] == ["offer"] and offered == [incident.id]
    actions = [(a["action"], a["detail"].get("why")) for a in service.store.audit_log(incident.id)]
    assert ("sms_not_sent", "no_recipient") in actions and ("sms_queued", None) in actions
    db.close()
