"""The pages' front-end libraries (issue 13): a hub without them refuses to start and says what to run, and the
wheel carries exactly the files the pages load from /vendor/ (pyproject.toml's package-data = dashboard/pages.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hub_api import hub_api

from dashboard import pages
from dashboard.app import create_app

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"
ADVICE = ("scripts/setup", "cd dashboard && npm ci")


def test_app_creation_refuses_without_the_libraries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hub_api(tmp_path / "hub", login=False) as (hub, _client):
        monkeypatch.setattr(pages, "VENDOR", tmp_path / "empty")
        (tmp_path / "empty").mkdir()
        with pytest.raises(pages.MissingAssets) as refused:
            create_app(hub.ctx)
    message = str(refused.value)
    assert all(advice in message for advice in ADVICE), message
    assert str(tmp_path / "empty") in message and "leaflet/dist/leaflet.js" in message


def test_hub_run_refuses_in_one_line_before_connecting(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    script = (
        "import sys; from pathlib import Path; import dashboard.pages as p; from hub import cli; "
        f"p.VENDOR = Path({str(tmp_path / 'empty')!r}); "
        f"sys.exit(cli.main(['run', '--mqtt-url', 'mqtt://127.0.0.1:1', '--data-dir', {str(tmp_path / 'hub')!r}, "
        "'--http-port', '0']))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("hub: error:")]
    assert len(errors) == 1 and all(advice in errors[0] for advice in ADVICE), out.stderr


def _package_data() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns: list[str] = config["tool"]["setuptools"]["package-data"]["dashboard"]
    return patterns


def _matches(pattern: str, name: str) -> bool:
    """setuptools' package-data glob: `*` stays within one folder."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", "[^/]*"), name) is not None


def test_the_wheel_carries_every_served_library_file_and_no_other() -> None:
    patterns = [p for p in _package_data() if p.startswith("node_modules/")]
    carried = {f"node_modules/{name}" for name in (*pages.VENDORED, *pages.LICENSES)}
    assert all(any(_matches(p, name) for p in patterns) for name in carried), (patterns, carried)
    on_disk = {str(f.relative_to(DASHBOARD)) for p in patterns for f in DASHBOARD.glob(p)}
    assert on_disk == carried  # small: the dist files served, not the packages' sources and source maps


def test_the_pages_load_only_vendored_files() -> None:
    loaded = {ref for page in (DASHBOARD / "static").glob("*.html")
              for ref in re.findall(r'"/vendor/([^"]+)"', page.read_text(encoding="utf-8"))}  # fmt: skip
    css = (pages.VENDOR / "leaflet/dist/leaflet.css").read_text(encoding="utf-8")
    loaded |= {f"leaflet/dist/{url}" for url in re.findall(r"url\((images/[^)]+)\)", css)}
    assert loaded and loaded <= set(pages.VENDORED), loaded - set(pages.VENDORED)
    assert pages.missing_vendored() == []


def test_every_page_loads_common_js_first() -> None:
    for page in (DASHBOARD / "static").glob("*.html"):
        scripts = re.findall(r"<script( src=\"[^\"]+\")?>", page.read_text(encoding="utf-8"))
        own = [s for s in scripts if "/vendor/" not in s]
        assert own and own[0] == ' src="/assets/common.js"', (page.name, scripts)
