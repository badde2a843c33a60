"""Issue 15: texts through a real Kannel (bearerbox + smsbox + the fake SMSC of kannel-extras), delivery reports
back through the hub's callback, the gateway down then up, and an unacknowledged critical incident escalating per
policy to the supervisor's console and, by SMS, to the family's first contact."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hub_api import ApiClient, hub_api
from security.live_server import served

from alerts.detection import Detection, Severity
from alerts.incidents.escalation import Escalator
from alerts.incidents.policy import PolicyStore
from alerts.sms.gateway import KannelConfig, KannelGateway
from alerts.sms.outbox import Outbox
from alerts.sms.sender import SenderSettings, SmsSender
from dashboard.app import create_app
from dashboard.bus import Subscription
from devices.records import DeviceRecord, Home, Resident
from hub.app import Hub
from hub.kannel import Kannel

SHOTS = Path(os.environ.get("HUB_SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "hub-test-screenshots")
FAST = SenderSettings(backoff_s=0.2, backoff_max_s=0.5, poll_s=0.1)


@pytest.fixture(scope="module")
def kannel() -> Iterator[Kannel]:
    gateway = Kannel().start()
    yield gateway
    gateway.stop()


@dataclasses.dataclass
class Rig:
    hub: Hub
    sms: SmsSender
    client: ApiClient
    base: str


@pytest.fixture
def rig(tmp_path: Path, kannel: Kannel) -> Iterator[Rig]:
    """An in-process hub whose SMS sender talks to the Kannel fixture; its HTTP served for delivery reports."""
    with hub_api(tmp_path / "hub") as (hub, client):
        gateway = KannelGateway(KannelConfig(kannel.sendsms_url, kannel.username, kannel.password))
        sms = SmsSender(Outbox(hub.db), gateway, hub.ctx.bus, FAST)
        ctx = dataclasses.replace(hub.ctx, sms=sms, policies=PolicyStore(hub.db))
        client.app = create_app(ctx)
        with served(client.app) as where:
            gateway.config = dataclasses.replace(gateway.config, dlr_base=f"http://{where}")
            yield Rig(hub, sms, client, f"http://{where}")


def _wait(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _status(rig: Rig, message_id: int) -> str:
    message = rig.sms.outbox.get(message_id)
    assert message is not None
    return message.status


def _frames(sub: Subscription) -> list[dict[str, Any]]:
    queue = sub.queue
    out = []
    while not queue.empty():
        out.append(orjson.loads(queue.get_nowait()))
    return out


def test_chinese_text_arrives_intact_and_the_delivery_report_updates_its_status(rig: Rig, kannel: Kannel) -> None:
    before = len(kannel.received())
    text = "【养老服务中心】王秀英跌倒警报，请尽快联系。"
    message_id = rig.sms.queue("13912345678", text, kind="sms_test", channel="sms_test", incident_id=None)
    assert asyncio.run(rig.sms.drain()) == 1
    got = kannel.wait_received(before + 1)[before:]
    assert [(m.receiver, m.coding, m.text) for m in got] == [("13912345678", "ucs-2", text)]
    _wait(lambda: _status(rig, message_id) == "delivered")
    message = rig.sms.outbox.get(message_id)
    assert message is not None and message.dlr_code == 1 and message.sent_at is not None
    # a forged report (wrong token) changes nothing
    forged = httpx.get(f"{rig.base}/api/sms/dlr", params={"id": message_id, "token": "0" * 16, "type": 2})
    assert forged.status_code == 404
    assert _status(rig, message_id) == "delivered"


def test_gateway_down_queues_and_alarms_then_sends_later(rig: Rig, kannel: Kannel) -> None:
    sub = rig.hub.ctx.bus.subscribe()
    kannel.stop_smsbox()
    try:
        before = len(kannel.received())
        message_id = rig.sms.queue("13800001111", "网关恢复后发送", kind="sms_test", channel="sms_test",
                                   incident_id=None)
        assert asyncio.run(rig.sms.drain()) == 0
        message = rig.sms.outbox.get(message_id)
        assert message is not None and message.status == "retry" and message.attempts == 1
        assert not rig.sms.stats.gateway_up and rig.sms.outbox.pending() == 1
        alarms = [f["data"] for f in _frames(sub) if f["type"] == "sms_gateway"]
        assert alarms and alarms[-1]["up"] is False and alarms[-1]["pending"] == 1
        state = rig.client.get("/api/sms").json()
        assert state["gateway_up"] is False and state["pending"] == 1
        metrics = rig.client.get("/metrics").text
        assert "hub_sms_gateway_up 0.0" in metrics and 'hub_sms_messages{status="retry"} 1.0' in metrics
    finally:
        kannel.start_smsbox()

    async def until_sent() -> None:
        task = asyncio.create_task(rig.sms.run())
        while _status(rig, message_id) == "retry":
            await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(asyncio.wait_for(until_sent(), 30))  # generous: smsbox reconnects to bearerbox on a busy machine
    assert rig.sms.stats.gateway_up, rig.sms.outbox.get(message_id)
    arrived = [m.text for m in kannel.wait_received(before + 1, timeout_s=30)[before:]]
    assert arrived == ["网关恢复后发送"], (arrived, kannel.log_tails())
    assert any(f["type"] == "sms_gateway" and f["data"]["up"] for f in _frames(sub))


def test_unacknowledged_critical_incident_reaches_the_supervisor_console_and_the_family_by_sms(
        rig: Rig, kannel: Kannel) -> None:
    registry, incidents = rig.hub.registry, rig.hub.ctx.incidents
    assert incidents is not None
    registry.add_home(Home("H1", "岳麓区桃花村 3 号", 28.2, 112.9))
    registry.add_resident(Resident("R1", "王秀英", "H1", phone="13700000000",
                                   contacts="儿子: 13912340001; 女儿: 13912340002"))
    registry.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
    sub = rig.hub.ctx.bus.subscribe()
    incidents.on_detections([Detection("flow", "fall", "R1", "W1", time.time(), Severity.CRITICAL)])
    [incident] = incidents.store.active()
    policy = PolicyStore(rig.hub.db)
    escalator = Escalator(incidents, policies=policy, sms=rig.sms)
    critical = policy.all()["critical"]
    t0 = incident.opened_at
    before = len(kannel.received())

    [console] = escalator.tick(t0 + critical.ack_s)  # nobody acknowledged within the policy's first step
    assert (console.channel, console.notify_role) == ("console", "supervisor")
    escalated = [f["data"]["incident"] for f in _frames(sub)
                 if f["type"] == "incident" and f["data"]["event"] == "escalated"]
    assert escalated[-1]["escalation"]["notify_role"] == "supervisor"
    assert escalated[-1]["escalation"]["channel"] == "console"

    family_at = next(s.after_s for s in critical.phase("open") if s.channel == "sms_family")
    [family] = escalator.tick(t0 + family_at)
    assert family.channel == "sms_family"
    assert asyncio.run(rig.sms.drain()) == 1
    [arrived] = kannel.wait_received(before + 1)[before:]
    assert arrived.receiver == "13912340001" and arrived.coding == "ucs-2"  # the first contact, not the second
    assert "王秀英" in arrived.text and "跌倒" in arrived.text and f"{incident.id}" in arrived.text

    def delivered() -> bool:
        return [m.status for m in rig.sms.outbox.of_incident(incident.id)] == ["delivered"]

    _wait(delivered)
    [shown] = rig.client.get(f"/api/incidents/{incident.id}/messages").json()
    assert (shown["channel"], shown["recipient"], shown["status"]) == ("sms_family", "139****0001", "delivered")
    assert shown["recipient_name"] == "儿子" and shown["dlr_code"] == 1
    audit = rig.client.get(f"/api/incidents/{incident.id}/audit").json()
    queued = [a for a in audit if a["action"] == "sms_queued"]
    assert queued and queued[0]["detail"]["recipient"] == "139****0001"


def test_policies_over_the_api_typed_audited_and_for_admins_only(tmp_path: Path) -> None:
    with hub_api(tmp_path / "hub") as (hub, client):
        assert hub.ctx.auth is not None and hub.ctx.incidents is not None
        client.app = create_app(dataclasses.replace(hub.ctx, policies=PolicyStore(hub.db)))
        listed = client.get("/api/escalation/policies").json()
        critical = next(p for p in listed if p["severity"] == "critical" and not p["kind"])
        assert critical["default"] and critical["steps"][0] == {"phase": "open", "after_s": 60.0,
                                                                "channel": "console", "target": "supervisor"}
        steps = [{"phase": "open", "after_s": 30, "channel": "console", "target": "supervisor"},
                 {"phase": "open", "after_s": 90, "channel": "sms_oncall", "target": "13800000001"}]
        body = {"repeat_s": 120, "steps": steps}
        put = client.request("PUT", "/api/escalation/policies/critical", params={"kind": "fall"}, json=body)
        assert put.status_code == 200, put.text
        mine = next(p for p in client.get("/api/escalation/policies").json() if p["kind"] == "fall")
        assert not mine["default"] and mine["updated_by"] == "issue9-admin" and mine["steps"][1]["after_s"] == 90
        audit = [a for a in hub.ctx.incidents.store.audit_log() if a["action"] == "escalation_policy_changed"]
        assert audit[-1]["detail"]["after"]["steps"][1]["target"] == "138****0001"  # masked in the log
        bad = {**body, "steps": [{"phase": "open", "after_s": 30, "channel": "sms_oncall", "target": "soon"}]}
        refused = client.request("PUT", "/api/escalation/policies/critical", json=bad)
        assert refused.status_code == 422 and "手机号" in refused.json()["detail"]  # the admin's language
        assert client.request("PUT", "/api/escalation/policies/urgent", json=body).status_code == 422
        assert client.request("DELETE", "/api/escalation/policies/critical", params={"kind": "fall"}).json()["reset"]
        hub.ctx.auth.add_user("op1", "op1-password", role="operator")
        client.request("POST", "/api/logout")
        client.post("/api/login", json={"username": "op1", "password": "op1-password"}).raise_for_status()
        assert client.request("PUT", "/api/escalation/policies/critical", json=body).status_code == 403
        assert client.get("/api/escalation/policies").status_code == 403  # supervisors and up read them


def test_supervisor_console_alert_policy_page_and_texts_in_chromium(rig: Rig, kannel: Kannel) -> None:
    """What people see: the supervisor's console gets the escalation banner, the incident shows the text delivered
    to the son, and an admin changes a policy on the /escalation page."""
    from playwright.sync_api import expect, sync_playwright

    hub, incidents, auth = rig.hub, rig.hub.ctx.incidents, rig.hub.ctx.auth
    assert incidents is not None and auth is not None
    auth.add_user("sup1", "sup1-password", role="supervisor")
    bus, loop = hub.ctx.bus, {}
    subscribe, publish = bus.subscribe, bus.publish

    def on_loop_subscribe(maxsize: int = 1000) -> Subscription:
        loop["it"] = asyncio.get_running_loop()  # the served app's loop, where frames must be published
        return subscribe(maxsize)

    bus.subscribe = on_loop_subscribe  # type: ignore[method-assign]  # the escalator ticks on this test's thread
    bus.publish = lambda kind, data: loop["it"].call_soon_threadsafe(publish, kind, data)  # type: ignore[method-assign]  # as above
    hub.registry.add_home(Home("H1", "岳麓区桃花村 3 号", 28.2, 112.9))
    hub.registry.add_resident(Resident("R1", "王秀英", "H1", contacts="儿子: 13912340001"))
    hub.registry.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(f"{rig.base}/console")
        page.fill("#login-user", "sup1")
        page.fill("#login-pass", "sup1-password")
        page.click("#login-submit")
        expect(page.locator("#conn")).to_have_class("conn on", timeout=10_000)
        incidents.on_detections([Detection("flow", "fall", "R1", "W1", time.time(), Severity.CRITICAL)])
        [incident] = incidents.store.active()
        escalator = Escalator(incidents, policies=PolicyStore(hub.db), sms=rig.sms)
        escalator.tick(incident.opened_at + 60)
        banner = page.locator("#escalations .escalation-alert")
        expect(banner).to_have_attribute("data-role", "supervisor", timeout=5_000)
        expect(banner).to_contain_text("值班长")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "escalation-alert-zh-CN.png"))
        escalator.tick(incident.opened_at + 120)  # the family's text
        sender = threading.Thread(target=lambda: asyncio.run(rig.sms.drain()))  # playwright holds this thread's loop
        sender.start()
        sender.join(10)
        _wait(lambda: [m.status for m in rig.sms.outbox.of_incident(incident.id)] == ["delivered"])
        banner.locator("button", has_text=f"#{incident.id}").click()
        row = page.locator("#messages tr[data-status=delivered]")
        expect(row).to_contain_text("139****0001", timeout=5_000)
        expect(row).to_contain_text("已送达")
        page.screenshot(path=str(SHOTS / "escalation-console-zh-CN.png"), full_page=True)
        page.click("#logout")
        page.goto(f"{rig.base}/escalation")
        page.fill("#login-user", "issue9-admin")
        page.fill("#login-pass", "issue9-password")
        page.click("#login button[type=submit]")
        card = page.locator('.policy[data-severity="critical"][data-kind=""]')
        expect(card.locator("tr.step")).to_have_count(4, timeout=10_000)
        card.locator("tr.step .after").first.fill("0.5")
        card.locator("button.save").click()
        expect(card.locator("button.reset")).to_be_visible(timeout=5_000)
        page.screenshot(path=str(SHOTS / "escalation-policies-zh-CN.png"), full_page=True)
        browser.close()
    assert PolicyStore(hub.db).all()["critical"].ack_s == 30.0
