"""Take the README's screenshots from a real `hub demo --scenario storm` in Debian's Chromium.

Usage (after scripts/setup): .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
Starts the demo on free ports, waits for the first staged fall to reach the operator console and for the storm's
first warning draft (a commander approves it on /command and declares the storm), saves console.png, command.png,
evacuation.png, report.png (a phone), map.png, resources.png (a team sent, its device answering over MQTT),
insights.png (the bureau's statistics over the seeded 90 days) and users.png (officers' villages), and stops the demo.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from hub.broker import free_port

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def start_demo(data: Path) -> tuple[subprocess.Popen[str], str]:
    """`hub demo --scenario storm` with a fall every 20 simulated seconds; returns the process and its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "--log-level", "WARNING", "demo", "--http-port",
                             str(port), "--data-dir", str(data), "--scenario", "storm", "--fall-every", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "dashboard at" in line:
            return proc, f"http://127.0.0.1:{port}"
    raise RuntimeError("the demo did not start")


def console(page: Page, url: str, out: Path) -> None:
    """Sign in as the demo operator, open the first incident, and save the console."""
    page.goto(f"{url}/console")
    page.fill("#login-user", "operator")
    page.fill("#login-pass", "operator-demo")
    page.click("#login-submit")
    page.wait_for_selector("#queue li", timeout=90_000)
    page.locator("#queue li").first.click()
    page.wait_for_timeout(3000)
    page.screenshot(path=str(out / "console.png"), full_page=True)


def command(page: Page, url: str, out: Path) -> None:
    """Sign in as the demo commander on /command, save the first warning draft under review, and approve it."""
    page.goto(f"{url}/command")
    page.fill("#login-user", "commander")
    page.fill("#login-pass", "commander-demo")
    page.click("#login button[type=submit]")
    draft = page.locator("#drafts article.draft").first
    draft.wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out / "command.png"), full_page=True)
    draft.locator("button.approve").click()
    page.wait_for_timeout(2000)
    # the villages' reports named the storm: the commander declares it, so officers can report on it
    page.evaluate("() => api('POST', '/api/command/events', {event_id: 'storm-valley-1', hazard: 'flood'})")
    page.goto(f"{url}/evacuation")
    page.locator("#people li").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out / "evacuation.png"))


def report_form(page: Page, url: str, out: Path) -> None:
    """A village officer's report form on a phone, signed in as the demo reporter."""
    page.goto(f"{url}/report")
    page.fill("#login-user", "reporter")
    page.fill("#login-pass", "reporter-demo")
    page.click("#login button[type=submit]")
    page.locator("#event option").first.wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out / "report.png"), full_page=True)


def command_map(page: Page, url: str, out: Path) -> None:
    """Open the command map once a warning is up, and save it."""
    page.goto(f"{url}/map")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and "orange" not in page.content() and "red" not in page.inner_text("body"):
        page.wait_for_timeout(1000)
    page.wait_for_timeout(2000)
    page.screenshot(path=str(out / "map.png"))


def sign_in(page: Page, url: str, path: str, user: str, password: str) -> None:
    """Open a page and sign in with the demo account."""
    page.goto(f"{url}{path}")
    page.fill("#login-user", user)
    page.fill("#login-pass", password)
    page.click("#login button[type=submit]")
    page.locator("#login").wait_for(state="hidden", timeout=30_000)


def resources(page: Page, url: str, out: Path) -> None:
    """The commander's teams and relief page: the proposed assignment confirmed, the teams' devices answering."""
    sign_in(page, url, "/resources", "commander", "commander-demo")
    page.locator("#teams tr").nth(1).wait_for(timeout=30_000)
    page.click("#propose")
    page.wait_for_timeout(2000)
    confirm = page.locator("#confirm-assign")
    if confirm.count() and confirm.is_enabled():
        confirm.click()
    page.wait_for_timeout(12_000)  # the simulated team devices confirm en route and report on scene over MQTT
    page.screenshot(path=str(out / "resources.png"), full_page=True)


def insights(page: Page, url: str, out: Path) -> None:
    """The bureau's statistics page over the demo's 90 days of history."""
    sign_in(page, url, "/insights", "bureau", "bureau-demo")
    page.wait_for_timeout(6000)  # every chart drawn
    shown = page.inner_text("#error").strip()
    if shown:  # a picture of an error is no picture of the page
        raise RuntimeError(f"/insights shows an error: {shown}")
    page.screenshot(path=str(out / "insights.png"), full_page=True)


def users(page: Page, url: str, out: Path) -> None:
    """The admin's page of village officers and their villages."""
    sign_in(page, url, "/users", "admin", "admin-demo")
    page.wait_for_timeout(2500)
    page.screenshot(path=str(out / "users.png"), full_page=True)


def main() -> int:
    """Run the demo, take the screenshots, stop the demo."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="folder for the PNG files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hub-shots-") as tmp:
        proc, url = start_demo(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                console(page, url, args.out)
                command(browser.new_page(viewport={"width": 1400, "height": 1000}), url, args.out)
                report_form(browser.new_page(viewport={"width": 390, "height": 844}), url, args.out)
                command_map(page, url, args.out)
                resources(browser.new_page(viewport={"width": 1400, "height": 1000}), url, args.out)
                insights(browser.new_page(viewport={"width": 1400, "height": 1000}), url, args.out)
                users(browser.new_page(viewport={"width": 1400, "height": 1000}), url, args.out)
                browser.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
    print(f"saved console, command, evacuation, report, map, resources, insights and users (.png) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
