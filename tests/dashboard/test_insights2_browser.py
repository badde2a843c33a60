"""Issue 19's services, fleet and disaster figures in Chromium: the statistics page over the small known history
shows each new figure as a chart, a table and a CSV download, in Chinese, with no script error; an account limited
to one township sees none of the other township's rows in them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from inproc import built_hub
from insights_history import T1_NAME, T2, build, build_disasters, build_services, fill_readings
from playwright.sync_api import Page, expect, sync_playwright
from security.live_server import served

from dashboard.app import create_app

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PASSWORD = "scope-password"
SHOTS = Path(os.environ.get("HUB_SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "hub-test-screenshots")
SECTIONS = ("services", "subsidy", "fleet", "disasters", "evacuation", "relief")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    users = [("town2", PASSWORD, "supervisor"), ("county2", PASSWORD, "bureau")]
    with built_hub(Path(tmp_path_factory.mktemp("hub")), users) as hub:
        db = hub.ctx.registry.db
        build(db)
        build_services(db)
        build_disasters(db)
        fill_readings(hub.ctx.store)
        assert hub.ctx.auth is not None
        hub.ctx.auth.set_townships("town2", [T2])
        with served(create_app(hub.ctx)) as address:
            yield f"http://{address}"


def _open(page: Page, url: str, user: str) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/insights")
    expect(page.locator("#login")).to_be_visible(timeout=10_000)
    page.fill("#login-user", user)
    page.fill("#login-pass", PASSWORD)
    page.click("#login button[type=submit]")
    expect(page.locator("#status")).to_contain_text("统计时段", timeout=10_000)
    page.fill("#from", "2026-11-02")
    page.fill("#to", "2026-11-15")
    page.click("#filters button[type=submit]")
    expect(page.locator("#status")).to_have_text("统计时段：2026-11-02 至 2026-11-15", timeout=10_000)
    return errors


def test_the_new_figures_have_a_chart_a_table_and_a_csv(base_url: str, tmp_path: Path) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 1300, "height": 900})
            errors = _open(page, base_url, "county2")
            for name in SECTIONS:
                expect(page.locator(f"#{name}-chart .uplot")).to_have_count(1)
                assert page.locator(f"#{name}-table tbody tr").count() > 0, name
            expect(page.locator("#services-table")).to_contain_text("颐年护理")
            expect(page.locator("#services-table")).to_contain_text("助餐")
            expect(page.locator("#subsidy-table")).to_contain_text("高龄（80 岁以上）")
            expect(page.locator("#disasters-table")).to_contain_text("初报")
            expect(page.locator("#relief-table")).to_contain_text("方便食品（千克）")
            expect(page.locator("#fleet-as-of")).to_have_text("设备统计时点：2026-11-16 00:00")
            with page.expect_download() as download:
                page.locator("#services-table a.csv").click()
            path = tmp_path / "services.csv"
            download.value.save_as(path)
            lines = path.read_text(encoding="utf-8-sig").splitlines()
            assert lines[0].startswith("分组,对象,工单（件）,已完成（件）,完成率")
            assert any(line.startswith("合计,全部,5,4,0.8,4500,6660,3,4,") for line in lines), lines
            assert errors == []
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.locator("#services").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "insights2-zh.png"), full_page=True)
            town = browser.new_page(locale="zh-CN")
            assert _open(town, base_url, "town2") == []
            text = " ".join(town.locator(f"#{name}").inner_text() for name in SECTIONS)
            assert T2 in text and T1_NAME not in text
        finally:
            browser.close()
