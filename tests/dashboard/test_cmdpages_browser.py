"""Issue 14, the page-side gaps in Chromium, driven as people would: a commander declares an event on /command
(hazard, name, start, a whole township ticked in the picker) and closes it through the confirmation with a note; on
/resources creates a warehouse, signs three lots in (one expired), approves relief and sees the soonest-expiring
lot issued first and the expired one kept apart; an admin assigns a reporter's villages on /users. Every text from the
zh-CN catalogue, no CSP violation, and the records are in the state database with who did it."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest
from page_text import SKIP, VISIBLE_TEXT, foreign
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright
from security.live_server import served
from test_cmdpages_api import audit, client, open_hub, storm

from alerts.disaster.reports import CST
from dashboard.app import create_app
from hub.app import Hub
from hub.settings import Settings, StoreSettings

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
T = TypeVar("T")
SHOTS = Path(tempfile.gettempdir()) / "hub-test-screenshots"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with open_hub(Settings(store=StoreSettings(data_dir=tmp_path)), first=True) as built:
        yield built


def sign_in(page: Page, url: str, user: str) -> None:
    page.goto(url)
    page.fill("#login-user", user)
    page.fill("#login-pass", f"{user}-password-1")
    page.click("#login button[type=submit]")
    expect(page.locator("#main")).to_be_visible(timeout=10_000)


def off_loop(fn: Callable[[], T]) -> T:
    """Run `fn` (which calls the hub's API in process) on a thread of its own: Playwright's loop runs on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def chinese_only(page: Page, name: str) -> None:
    shown: list[str] = page.evaluate(VISIBLE_TEXT, SKIP)
    bad = foreign(shown, "zh-CN")
    assert bad == [], f"{name} in zh-CN: texts not from its catalogue: {bad}"  # issue 18


def test_events_stock_and_reporters_on_the_pages(hub: Hub) -> None:
    assert hub.ctx.field_ops is not None
    cc = hub.ctx.field_ops.centre
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    with served(create_app(hub.ctx)) as host, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.on("console", watch)
        sign_in(page, f"http://{host}/command", "cmd")

        # 1. declare an event: rainstorm, a name, the start prefilled with now (China Standard Time), a township
        form = page.locator("#event-form")
        expect(form).to_be_visible(timeout=10_000)
        expect(page.locator("#ev-start")).not_to_have_value("", timeout=10_000)
        start = page.input_value("#ev-start")
        shown_ts = datetime.strptime(start, "%Y-%m-%dT%H:%M").replace(tzinfo=CST).timestamp()
        assert abs(shown_ts - time.time()) < 180, (start, "the start defaults to now in Asia/Shanghai")
        page.select_option("#ev-hazard", "rainstorm")
        page.fill("#ev-name", "六月暴雨洪涝")
        town = page.locator(".picker-town").first
        township = town.get_attribute("data-township")
        town.locator("input.pt").check()
        villages = {b.get_attribute("value") for b in town.locator("input.pv").all()}
        assert villages and all(b.is_checked() for b in town.locator("input.pv").all())
        chinese_only(page, "/command")
        page.click("#ev-submit")
        row = page.locator("#events tbody tr", has_text="六月暴雨洪涝")
        expect(row).to_contain_text("进行中", timeout=10_000)
        expect(row).to_contain_text("暴雨")
        event_id = row.get_attribute("data-event")
        assert event_id and set(cc.book.events[event_id].villages) == villages
        assert cc.book.events[event_id].declared_by == "cmd" and cc.book.events[event_id].name == "六月暴雨洪涝"

        # 2. close it: a confirmation asks for the note; cancel first, then close for real
        row.locator("button.close-event").click()
        expect(page.locator("#close-dialog")).to_be_visible()
        expect(page.locator("#close-event-name")).to_have_text("六月暴雨洪涝")
        page.click("#close-cancel")
        expect(page.locator("#close-dialog")).to_be_hidden()
        assert cc.book.events[event_id].closed_at is None  # cancelled: nothing closed
        row.locator("button.close-event").click()
        page.fill("#close-note", "雨停水退，转入灾后恢复")
        page.click("#close-confirm")
        expect(row).to_contain_text("已结束", timeout=10_000)
        expect(row).to_contain_text("雨停水退，转入灾后恢复")
        expect(row.locator("button.close-event")).to_have_count(0)
        expect(row.locator(f"a[href='/api/command/reports/{event_id}/rollup.csv']")).to_have_text("CSV 表格")
        chinese_only(page, "/command with a closed event")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "command-events.png"), full_page=True)
        closed = cc.book.events[event_id]
        assert (closed.closed_by, closed.close_note) == ("cmd", "雨停水退，转入灾后恢复")
        assert audit(hub, "disaster_event_closed")[0]["actor"] == "cmd"
        op = off_loop(lambda: client(hub, "op"))
        report = {"event_id": event_id, "village_id": sorted(villages)[0], "stage": "initial",
                  "indicators": {"affected_population": 1}}  # fmt: skip
        refused = off_loop(lambda: op.post("/api/command/reports", json=report))
        assert refused.status_code == 422  # a closed event takes no new initial report

        # 3. a warehouse and its lots on /resources; relief is issued from the soonest-expiring valid lot
        off_loop(lambda: storm(hub, op, client(hub, "cmd")))
        page.goto(f"http://{host}/resources")
        expect(page.locator("#warehouse-form")).to_be_visible(timeout=10_000)
        page.fill("#wh-name", "镇应急物资点")
        page.select_option("#wh-township", township or "")
        page.fill("#wh-lat", "28.2000")
        page.fill("#wh-lon", "112.9000")
        page.click("#warehouse-form button[type=submit]")
        card = page.locator("[data-warehouse]", has_text="镇应急物资点")
        expect(card).to_be_visible(timeout=10_000)
        wid = card.get_attribute("data-warehouse")
        expect(page.locator("#receipt-wh")).to_have_value(wid or "")
        for qty, expires in (("6", "2098-01-01"), ("8", "2099-01-01"), ("50", "2020-01-01")):
            page.select_option("#receipt-item", "tent")
            page.fill("#receipt-qty", qty)
            page.fill("#receipt-expires", expires)
            page.fill("#receipt-signed", "张保管")
            page.click("#receipt-form button[type=submit]")
            expect(page.locator("#receipt-qty")).to_have_value("", timeout=10_000)
        tents = card.locator("tr[data-item=tent] .stock")
        expect(tents).to_contain_text("14", timeout=10_000)
        expect(tents.locator(".expired-qty")).to_have_text("另有过期 50")
        card.locator("details.lots summary").click()
        expect(card.locator("tr.expired")).to_have_count(1)
        expect(card.locator("tr.expired")).to_contain_text("已过期")
        chinese_only(page, "/resources")
        page.click("#plan-form button[type=submit]")
        plan = page.locator(".plan-draft")
        expect(plan).to_contain_text("帐篷", timeout=10_000)
        plan.locator("button.approve").click()
        expect(page.locator(".plan-approved")).to_have_count(1, timeout=10_000)
        expect(tents).to_contain_text("4", timeout=10_000)  # 40 relocated: ten tents, 6 + 4, the 50 expired kept
        page.select_option("#ledger-wh", wid or "")
        issues = page.locator("#ledger tr.entry-issue")
        expect(issues).to_have_count(2, timeout=10_000)
        assert hub.ctx.field_ops.store is not None
        lots = {e.quantity: e.entry_id for e in hub.ctx.field_ops.store.ledger(wid) if e.kind == "receipt"}
        expect(page.locator("#ledger tr.entry-issue", has_text=lots[6])).to_contain_text("-6")
        expect(page.locator("#ledger tr.entry-issue", has_text=lots[8])).to_contain_text("-4")
        expect(page.locator("#ledger tr.entry-receipt")).to_have_count(3)  # the other warehouses' lines are not shown
        expect(page.locator("#ledger tr.entry-receipt").first).to_contain_text("张保管")
        page.screenshot(path=str(SHOTS / "resources-lots.png"), full_page=True)

        # 4. an admin assigns the reporter's villages on /users
        admin = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        admin.on("console", watch)
        sign_in(admin, f"http://{host}/users", "admin")
        li = admin.locator("#reporters tr[data-user=li]")
        expect(li).to_contain_text("未分配", timeout=10_000)
        li.locator("button.edit-villages").click()
        editor = admin.locator("tr[data-editor=li]")
        editor.locator(f".picker-town[data-township='{township}'] input.pt").check()
        expect(editor.locator(".picker-count")).to_have_text(f"已选 {len(villages)} 个村")
        chinese_only(admin, "/users")
        editor.locator("button.save-villages").click()
        expect(li).to_contain_text(f"已保存：{len(villages)} 个村", timeout=10_000)
        assert set(cc.reporters.villages("li")) == villages
        assert audit(hub, "reporter_villages")[0]["actor"] == "admin"
        admin.screenshot(path=str(SHOTS / "users-villages.png"), full_page=True)
        browser.close()
    assert violations == []
