"""Issue 14, item 5, in Chromium on a phone-sized page: a commander opens /evacuation, sees the area's progress, works
two people (contacted then moved with a note; unreachable), marks a third safe while offline (kept on the phone and
sent when the link is back), reveals one phone, and the page shows who did what; nothing breaks the
Content-Security-Policy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from page_text import SKIP, VISIBLE_TEXT, foreign
from playwright.sync_api import ConsoleMessage, expect, sync_playwright
from security.live_server import served

from dashboard.app import create_app
from devices.models import Family, Reading
from dispatch.disaster.drafts import DraftEdits
from hub.app import Hub, build_hub
from hub.settings import Settings, StoreSettings
from simulators.community import build_community

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    async def build() -> Hub:
        return build_hub(Settings(store=StoreSettings(data_dir=tmp_path)))

    built = asyncio.run(build())
    build_community(residents=12, terminals=3, villages=2, seed=3).register(built.registry)
    built.registry.devices()
    assert built.ctx.auth is not None and built.ctx.field_ops is not None
    built.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    built.ctx.auth.add_user("cmd", "cmd-password-1", "commander")
    cc = built.ctx.field_ops.centre
    site = next(s for s in sorted(cc.sites.values(), key=lambda s: s.terminal_id) if s.kind == "river_gauge")
    now = time.time()
    cc.on_detections(cc.warnings.observe(Reading(site.terminal_id, Family.TERMINAL, now, 1, {"river_level_m": 34.5})))
    (draft,) = cc.drafts.pending()
    cc.approve(draft.draft_id, "cmd", DraftEdits(), now)
    yield built
    built.close()


@pytest.fixture
def base_url(hub: Hub) -> Iterator[str]:
    with served(create_app(hub.ctx)) as address:  # the project's in-thread uvicorn
        yield f"http://{address}"


def test_a_commander_works_two_people_on_a_phone(hub: Hub, base_url: str) -> None:
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    cc = hub.ctx.field_ops.centre  # type: ignore[union-attr]  # built with a command centre
    total = len(cc.tasks.tasks)
    assert total >= 3
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.on("console", watch)
        page.goto(f"{base_url}/evacuation")
        page.fill("#login-user", "cmd")
        page.fill("#login-pass", "cmd-password-1")
        page.click("#login button[type=submit]")
        expect(page.locator(".area .done")).to_have_text(f"已完成 0/{total} 人")
        expect(page.locator("#login")).to_be_hidden()
        cards = page.locator("li.person")
        expect(cards).to_have_count(total)
        first, second = cards.nth(0), cards.nth(1)
        task_a, task_b = first.get_attribute("data-person"), second.get_attribute("data-person")
        first.locator("input.note").fill("老人在家，等车接")
        first.locator("button[data-status=contacted]").click()
        a = page.locator(f'li.person[data-person="{task_a}"]')
        expect(a.locator("[data-state]")).to_have_text("已联系")
        expect(a.locator(".history li")).to_contain_text(["cmd · 已联系 · 老人在家，等车接"])
        a.locator("button[data-status=moved]").click()
        expect(a.locator("[data-state]")).to_have_text("已转移")
        expect(a.locator("button[data-status=contacted]")).to_be_disabled()  # moved is final
        page.locator(f'li.person[data-person="{task_b}"] button[data-status=unreachable]').click()
        b = page.locator(f'li.person[data-person="{task_b}"]')
        expect(b.locator("[data-state]")).to_have_text("联系不上")
        expect(page.locator(".area .done")).to_have_text(f"已完成 1/{total} 人")
        expect(page.locator(".area .counts")).to_contain_text("联系不上 1")
        shown: list[str] = page.evaluate(VISIBLE_TEXT, SKIP)
        bad = foreign(shown, "zh-CN")
        assert bad == [], f"the evacuation list in zh-CN: texts not from its catalogue: {bad}"  # issue 18
        third = cards.nth(2)
        task_c = third.get_attribute("data-person")
        page.context.set_offline(True)  # no signal up the valley: the status is kept on the phone
        third.locator("button[data-status=safe]").click()
        expect(page.locator("#queued")).to_contain_text("1 条记录保存在本机")
        page.context.set_offline(False)  # back: sent by itself, with the time it was given in the note
        c = page.locator(f'li.person[data-person="{task_c}"]')
        expect(c.locator("[data-state]")).to_have_text("已确认安全")
        expect(page.locator("#queued")).to_be_hidden()
        expect(c.locator(".history li")).to_contain_text(["离线记录于"])
        masked = a.locator("[data-phone]").inner_text()
        assert "*" in masked
        a.locator("button.reveal").click()
        resident = hub.registry.resident(cc.tasks.tasks[task_a or ""].resident_id)
        assert resident is not None and resident.phone[-4:] == masked[-4:]
        expect(a.locator("[data-phone] a")).to_have_text(resident.phone)  # revealed to the commander, audited
        village = cc.tasks.tasks[task_a or ""].village_id
        other = next(v for v in cc.villages if v != village)
        page.goto(f"{base_url}/evacuation?area={other}")  # the map's table links each area's list: none here
        expect(page.locator("#none")).to_be_visible()
        page.goto(f"{base_url}/evacuation?area={village}")
        expect(page.locator("li.person")).to_have_count(total)
        browser.close()
    assert cc.tasks.tasks[task_a or ""].state == "relocated" and cc.tasks.tasks[task_b or ""].state == "unreachable"
    assert cc.tasks.tasks[task_c or ""].state == "confirmed_safe"
    assert violations == []
