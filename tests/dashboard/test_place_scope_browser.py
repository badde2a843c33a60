"""Issue 19, item 2 in Chromium: an account limited to one township opens the statistics page and sees only that
township in the township menu, the notice that it is limited, and no name of the other township anywhere on the
page; an unlimited account sees both townships and no notice. The hub's app is served by uvicorn in a thread over
the small known history (tests/insights_history.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inproc import built_hub
from insights_history import T1, T1_NAME, T2, build
from playwright.sync_api import Page, expect, sync_playwright
from security.live_server import served

from dashboard.app import create_app

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PASSWORD = "scope-password"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    users = [("town1", PASSWORD, "supervisor"), ("county1", PASSWORD, "supervisor")]
    with built_hub(Path(tmp_path_factory.mktemp("hub")), users) as hub:
        build(hub.ctx.registry.db)
        assert hub.ctx.auth is not None
        hub.ctx.auth.set_townships("town1", [T1])
        with served(create_app(hub.ctx)) as address:  # the project's in-thread uvicorn
            yield f"http://{address}"


def _sign_in(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/insights")
    expect(page.locator("#login")).to_be_visible(timeout=10_000)
    page.fill("#login-user", user)
    page.fill("#login-pass", PASSWORD)
    page.click("#login button[type=submit]")


def test_a_township_account_sees_only_its_township_on_the_statistics_page(base_url: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(locale="zh-CN")
            _sign_in(page, base_url, "town1")
            options = page.locator("#township option")
            expect(options).to_have_count(2, timeout=10_000)  # 全部乡镇 and the account's one township
            assert options.nth(1).get_attribute("value") == T1 and options.nth(1).inner_text() == T1_NAME
            expect(page.locator("#scope")).to_be_visible()
            expect(page.locator("#scope")).to_have_text(f"本账号仅限以下乡镇：{T1_NAME}")
            assert T2 not in page.locator("main").inner_text()  # no row, figure or option of the other township
            county = browser.new_page(locale="zh-CN")
            _sign_in(county, base_url, "county1")
            names = county.locator("#township option")
            expect(names).to_have_count(3, timeout=10_000)
            assert set(names.all_inner_texts()[1:]) == {T1_NAME, T2}
            expect(county.locator("#scope")).to_be_hidden()
            assert T2 in county.locator("main").inner_text()
        finally:
            browser.close()
