"""CSRF defence on cookie sessions and the security headers (issue 8)."""

from __future__ import annotations

import hashlib
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path

import pytest
from staff_app import PASSWORD, StaffClient, staff_hub

from dashboard.headers import STATIC

LOGIN = {"username": "operator", "password": PASSWORD}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffClient]:
    with staff_hub(Path(tmp_path_factory.mktemp("hub"))) as made:
        yield made


def test_a_state_change_needs_the_sessions_csrf_token(client: StaffClient) -> None:
    body = {"comment": "taking it"}
    assert client.call("POST", "/api/incidents/1/acknowledge", "operator", csrf=False, json=body).status_code == 403
    wrong = {"X-CSRF-Token": "0" * 64}
    assert client.call("POST", "/api/incidents/1/acknowledge", "operator", csrf=False, json=body,
                       headers=wrong).status_code == 403  # fmt: skip
    assert client.call("POST", "/api/incidents/1/acknowledge", "operator", json=body).status_code == 404  # passed
    assert client.call("GET", "/api/incidents", "operator", csrf=False).status_code == 200  # reads need no token


def test_a_cross_site_origin_is_refused_even_with_the_token(client: StaffClient) -> None:
    evil = {"Origin": "https://evil.example"}
    assert client.call("POST", "/api/logout", "operator", headers=evil).status_code == 403
    assert client.call("POST", "/api/login", json=LOGIN, headers=evil).status_code == 403
    same = {"Origin": "http://hub.test"}
    assert client.call("POST", "/api/login", json=LOGIN, headers=same).status_code == 200
    assert client.call("POST", "/api/logout", "operator", headers=same).status_code == 200


def test_login_sets_strict_cookies_and_the_csrf_cookie_is_readable(client: StaffClient) -> None:
    cookies = client.call("POST", "/api/login", json=LOGIN).headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("hub_session="))
    csrf = next(c for c in cookies if c.startswith("hub_csrf="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Secure" not in session
    assert "HttpOnly" not in csrf and "SameSite=strict" in csrf


def test_security_headers_on_pages_and_api(client: StaffClient) -> None:
    for path in ("/health", "/console", "/map", "/live", "/api/me"):
        h = client.call("GET", path, "operator").headers
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY", path
        assert h["referrer-policy"] == "no-referrer", path
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-eval" not in csp, path
        assert "strict-transport-security" not in h
    assert client.call("GET", "/api/me", "operator").headers["cache-control"] == "no-store"
    assert client.call("GET", "/api/incidents").headers["cache-control"] == "no-store"  # a 401 too


def test_the_live_pages_inline_script_is_allowed_by_its_hash(client: StaffClient) -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    script = html.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in client.call("GET", "/live").headers["content-security-policy"]


def test_behind_tls_adds_hsts_and_secure_cookies(tmp_path: Path) -> None:
    with staff_hub(tmp_path, behind_tls=True) as tls:
        answer = tls.call("POST", "/api/login", json=LOGIN)
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert all("Secure" in c for c in answer.headers.get_list("set-cookie"))
