"""Issue 14: the village officer's report form in Chromium, phone-sized: a reporter signs in, sees only the village
granted to the account and the declared event, files an initial report, then (after the commander marked the event
stable) the verified one; nothing breaks the Content-Security-Policy."""

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
    build_community(residents=6, terminals=3, villages=3, seed=3).register(built.registry)
    built.registry.devices()
    assert built.ctx.auth is not None and built.ctx.field_ops is not None
    built.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    built.ctx.auth.add_user("li", "li-password-1", "reporter")
    cc = built.ctx.field_ops.centre
    cc.reporters.grant("li", ["V02"], "admin", time.time())
    cc.declare_event("storm-7", "flood", ["V01", "V02"], "cmd", time.time())
    yield built
    built.close()


@pytest.fixture
def base_url(hub: Hub) -> Iterator[str]:
    with served(create_app(hub.ctx)) as address:  # the project's in-thread uvicorn
        yield f"http://{address}"


def test_an_officer_files_the_initial_then_the_verified_report_on_a_phone(hub: Hub, base_url: str) -> None:
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    cc = hub.ctx.field_ops.centre  # type: ignore[union-attr]  # built with a command centre
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.on("console", watch)
        page.goto(f"{base_url}/report")
        page.fill("#login-user", "li")
        page.fill("#login-pass", "li-password-1")
        page.click("#login button[type=submit]")
        expect(page.locator("#village option")).to_have_count(1)  # only the village granted to the account
        expect(page.locator("#login")).to_be_hidden()  # the sign-in form goes once signed in
        assert page.locator("#village").input_value() == "V02"
        expect(page.locator("#stages [data-stage=initial]")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#stages [data-stage=verified]")).to_be_disabled()  # not stable yet
        page.fill("input[data-key=affected_population]", "12")
        page.fill("input[data-key=trapped]", "3")
        box = page.locator("#send").bounding_box()
        assert box is not None and box["width"] >= 300 and box["height"] >= 44  # a thumb-sized button
        page.click("#send")
        expect(page.locator("#result")).to_have_text("初报已提交（第 1 版）")
        shown: list[str] = page.evaluate(VISIBLE_TEXT, SKIP)
        assert foreign(shown, "zh-CN") == [], "the report form in zh-CN: texts not from its catalogue"  # issue 18
        (first,) = cc.book.history("storm-7", "V02")
        assert (first.stage, first.indicators.trapped, first.officer) == ("initial", 3, "li")

        cc.stabilise_event("storm-7", "cmd", time.time())  # the commander marks it stable: 核报 opens
        page.reload()
        expect(page.locator("#stages [data-stage=verified]")).to_be_enabled()
        page.click("#stages [data-stage=verified]")
        expect(page.locator("input[data-key=trapped]")).to_have_value("3")  # prefilled from the last version
        page.fill("input[data-key=trapped]", "0")
        page.click("#send")
        expect(page.locator("#result")).to_have_text("核报已提交（第 2 版）")
        browser.close()
    assert [r.stage for r in cc.book.history("storm-7", "V02")] == ["initial", "verified"]
    assert violations == []
