"""The console in Debian's Chromium (the app served by uvicorn in-process): an operator reveals the numbers of an
open incident as tel: links (the audit shows it), takes line 8001, and a call from the PBX pops the caller's card;
a request taken on that call becomes a service order, which the provider completes, and a satisfaction call-back
appears; an unknown number opens a blank record."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from inproc import built_hub
from playwright.sync_api import expect, sync_playwright
from security.live_server import served

from alerts.detection import Detection, Severity
from dashboard.app import create_app
from devices.contacts import contacts_of
from dispatch.responders import Responder
from hub.demo_seed import seed_contacts
from simulators.community import build_community

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
CTI = "browser-cti-token"


def test_reveal_numbers_and_screen_pop(tmp_path: Path) -> None:
    with built_hub(tmp_path, [("op1", "op1-password", "operator")]) as hub:
        community = build_community(residents=3, terminals=0, villages=1, seed=5)
        community.register(hub.ctx.registry)
        seed_contacts(hub.ctx.registry.db, community)
        fallen, caller = community.residents[0], community.residents[1]
        wearable = next(d.device_id for d in community.devices if d.resident_id == fallen.resident_id)
        assert hub.ctx.incidents is not None
        hub.ctx.incidents.on_detections([Detection("device", "sos", fallen.resident_id, wearable, time.time(),
                                                   Severity.CRITICAL)])
        son = contacts_of(hub.ctx.registry.db, fallen.resident_id)[0]
        home = next(h for h in community.homes if h.home_id == caller.home_id)
        assert hub.ctx.desk is not None
        hub.ctx.desk.responders.add(Responder("P-MEALS", "助餐点", "provider", "meals", home.lat, home.lon))
        with served(create_app(hub.ctx, cti_token=CTI)) as host, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://{host}/console")
            page.fill("#login-user", "op1")
            page.fill("#login-pass", "op1-password")
            page.click("#login-submit")
            expect(page.locator("#conn")).to_have_class("conn on", timeout=10_000)
            page.locator("#queue li").first.click()
            people = page.locator("#people")
            expect(people.locator("tr[data-who=contact]")).to_have_count(3)
            assert son.phone not in people.inner_text()  # masked until revealed
            assert people.locator("a.tel").count() == 0
            page.click("#reveal")
            expect(people.locator("a.tel").first).to_have_attribute("href", f"tel:{fallen.phone}")
            expect(people.locator("tr[data-priority='1'] a.tel")).to_have_attribute("href", f"tel:{son.phone}")
            expect(page.locator("#audit tr[data-action=contacts_revealed]")).to_have_count(1)

            with page.expect_response(lambda r: r.url.endswith("/api/calls/line") and r.request.method == "PUT"):
                page.fill("#my-line", "8001")
                page.press("#my-line", "Tab")  # the change event saves the line
            call = {"caller": caller.phone, "line": "8001", "call_id": "pbx-77"}
            answer = httpx.post(f"http://{host}/api/calls", json=call, headers={"Authorization": f"Bearer {CTI}"})
            assert answer.status_code == 202 and answer.json()["operator"] == "op1"
            pop = page.locator("#call-pop")
            expect(pop.locator(f"#call-card[data-resident='{caller.resident_id}']")).to_be_visible(timeout=10_000)
            expect(pop).to_contain_text(caller.name)
            page.select_option("#request-kind", "service_request")
            page.select_option("#request-service", "meals")
            page.fill("#request-note", "明天中午送饭")
            page.click("#request-open")
            expect(pop).to_be_hidden()
            expect(page.locator("#incident-state")).to_have_attribute("data-state", "open")
            order = next(i for i in hub.ctx.incidents.store.active()
                         if i.kind == "service_request" and i.resident_id == caller.resident_id)
            expect(page.locator("#candidates tr[data-responder=P-MEALS] button.dispatch")).to_be_visible()
            page.click("#candidates tr[data-responder=P-MEALS] button.dispatch")
            expect(page.locator("#incident-state")).to_have_attribute("data-state", "dispatched")
            offer = hub.ctx.desk.offers.of_incident(order.id)[0]
            for status in ("accepted", "on_scene", "done"):  # the provider's app reports (the demo simulates it)
                hub.ctx.desk.offers.update(offer["id"], status)
            page.reload()
            followup = page.locator(f"#caring li[data-kind=satisfaction][data-resident='{caller.resident_id}']")
            expect(followup).to_be_visible(timeout=10_000)  # the satisfaction call-back (满意度回访)
            followup.locator("select.rating").select_option("4")
            followup.locator("button[data-outcome=well]").click()
            expect(followup).to_have_count(0)

            stranger = {"caller": "13000000000", "line": "8001", "call_id": "pbx-78"}
            httpx.post(f"http://{host}/api/calls", json=stranger, headers={"Authorization": f"Bearer {CTI}"})
            expect(pop.locator("#call-card[data-resident='']")).to_be_visible(timeout=10_000)  # a blank record
            expect(pop.locator("#call-search")).to_be_visible()
            browser.close()
