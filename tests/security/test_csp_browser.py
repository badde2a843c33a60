"""The pages under the security headers in Chromium (issue 8): the console, the live page (its inline script allowed
by hash), the map and the statistics page run with no Content-Security-Policy violation, and their websocket
connects."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import ConsoleMessage, expect, sync_playwright
from staff_app import PASSWORD, StaffClient, staff_hub

from hub.broker import free_port

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """The app of an in-process hub served by uvicorn on a free port, in a thread."""
    with staff_hub(tmp_path) as client:
        yield from _serve(client)


def _serve(client: StaffClient) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(client.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_console_live_and_map_run_under_the_policy(base_url: str) -> None:
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("console", watch)
        page.goto(f"{base_url}/console")
        page.fill("#login-user", "operator")
        page.fill("#login-pass", PASSWORD)
        page.click("#login-submit")
        # websocket through connect-src 'self' (the badge's class: its text is in the reader's language, issue 18)
        expect(page.locator("#conn")).to_have_class(re.compile(r"\bon\b"), timeout=10_000)
        page.goto(f"{base_url}/live")
        expect(page.locator("#conn")).to_have_class("ok", timeout=10_000)  # the inline script ran
        page.goto(f"{base_url}/map")
        page.wait_for_function("() => window.mapStats !== undefined", timeout=10_000)
        page.wait_for_timeout(500)
        page.goto(f"{base_url}/command")  # issue 14: the draft review page
        page.wait_for_function("() => window.commandStats !== undefined", timeout=10_000)
        bureau = browser.new_context().new_page()  # the bureau signs in on the console and lands on its statistics
        bureau.on("console", watch)
        bureau.goto(f"{base_url}/console")
        bureau.fill("#login-user", "bureau")
        bureau.fill("#login-pass", PASSWORD)
        bureau.click("#login-submit")
        expect(bureau.locator("#response-table table")).to_be_visible(timeout=10_000)  # uPlot and the tables ran
        assert bureau.url.endswith("/insights")
        browser.close()
    assert violations == []
