"""Issue 14, item 2: the draft review page in Chromium. A commander signs in, sees the gauge's draft with its
evidence in the warning's colour, raises it to red, edits the headline and approves with the big button; the CAP
feed then carries exactly that message, and the history shows who issued it. No CSP violation on the way."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import ConsoleMessage, expect, sync_playwright
from security.live_server import served
from test_drafts_api import CAP, T0, centre, client, drafts_hub, feed_ids, river

from dashboard.app import create_app
from hub.app import Hub

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SCREENSHOT = Path(tempfile.gettempdir()) / "hub-test-screenshots" / "command.png"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with drafts_hub(tmp_path) as built:
        yield built


def test_a_commander_edits_and_approves_a_draft_on_the_page(hub: Hub) -> None:
    village = river(hub, 33.2, T0)  # orange over the warning level: a draft, nothing in the feed
    name = centre(hub).villages[village].name
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    with served(create_app(hub.ctx)) as host, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", watch)
        page.goto(f"http://{host}/map")
        page.fill("#login-user", "cmd")
        page.fill("#login-pass", "cmd-password-1")
        page.click("#login button[type=submit]")
        expect(page.locator("#main")).to_be_visible(timeout=10_000)
        page.click("a[href='/command']")  # reached from the map's nav
        card = page.locator("article.draft")
        expect(card).to_have_count(1, timeout=10_000)
        expect(card).to_have_class("draft lv3")
        expect(card.locator(".draft-village")).to_contain_text(name)
        expect(card.locator(".evidence")).to_contain_text("河道水位")
        expect(page.locator("#policy")).to_contain_text("关闭")
        card.locator(".lvbtn.lv4").click()
        expect(card).to_have_class("draft lv4")
        card.locator(".f-headline").fill(f"{name}红色预警（Ⅰ级）：立即转移")
        page.locator("#clock").click()  # focus leaves the card ...
        page.evaluate("refresh()")  # ... and the list reloads (a frame, a reconnect): the edits stay under the hand
        expect(card).to_have_class("draft lv4")
        expect(card.locator(".f-headline")).to_have_value(f"{name}红色预警（Ⅰ级）：立即转移")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        card.locator("button.approve").click()
        expect(page.locator("article.draft")).to_have_count(0, timeout=10_000)
        row = page.locator("#history tbody tr").first
        expect(row).to_contain_text("已发布")
        expect(row).to_contain_text("cmd")
        identifier = row.locator("a").inner_text()
        browser.close()
    c = client(hub, "cmd")
    assert feed_ids(c) == [identifier]
    info = etree.fromstring(c.get(f"/cap/alerts/{identifier}.xml").content).find(f"{CAP}info")
    assert info is not None and info.findtext(f"{CAP}headline") == f"{name}红色预警（Ⅰ级）：立即转移"
    assert info.findtext(f"{CAP}severity") == "Extreme"
    assert violations == []
