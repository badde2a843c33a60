"""Issue 16: an open /ws ends within 5 s of logout, of the account being disabled and of the session's expiry, and
only the hub's own origin (or a configured one) may open it. A real websocket client against uvicorn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import served
from staff_app import StaffClient, staff_hub
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from dashboard.app import create_app
from dashboard.guard import CSRF_HEADER, SESSION_COOKIE, csrf_token

ENDS_WITHIN_S = 5.0


@pytest.fixture
def staff(tmp_path: Path) -> Iterator[StaffClient]:
    with staff_hub(tmp_path / "hub") as client:
        yield client


def _open(address: str, token: str | None, origin: str | None = "same") -> ClientConnection:
    headers = {"Cookie": f"{SESSION_COOKIE}={token}"} if token else {}
    return connect(f"ws://{address}/ws", additional_headers=headers, open_timeout=5,
                   origin=f"http://{address}" if origin == "same" else origin)


def _closed_within(ws: ClientConnection, seconds: float) -> tuple[float, int | None]:
    """Seconds until the server closed the socket (frames meanwhile are read and dropped) and its close code."""
    start = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() - start < seconds + 2:
            ws.recv(timeout=seconds + 2)
    return time.monotonic() - start, closed.value.rcvd.code if closed.value.rcvd else None


def test_logout_closes_the_open_websocket(staff: StaffClient) -> None:
    with served(staff.app) as address:
        token = staff.session("operator")
        with _open(address, token) as ws:
            time.sleep(0.3)
            out = httpx.post(f"http://{address}/api/logout", cookies={SESSION_COOKIE: token},
                             headers={CSRF_HEADER: csrf_token(token)})
            assert out.status_code == 200
            took, code = _closed_within(ws, ENDS_WITHIN_S)
    assert took < ENDS_WITHIN_S and code == 4401


def test_disabling_the_account_closes_its_websocket(staff: StaffClient) -> None:
    with served(staff.app) as address, _open(address, staff.session("supervisor")) as ws:
        time.sleep(0.3)
        assert staff.hub.ctx.auth is not None
        staff.hub.ctx.auth.set_active("supervisor", False)
        took, code = _closed_within(ws, ENDS_WITHIN_S)
    assert took < ENDS_WITHIN_S and code == 4401


def test_an_expired_session_closes_its_websocket(staff: StaffClient) -> None:
    auth = staff.hub.ctx.auth
    assert auth is not None
    with served(staff.app) as address, _open(address, staff.session("commander")) as ws:
        time.sleep(0.3)
        auth.clock = lambda: time.time() + auth.lifetime_s + 1  # the shift is over
        took, code = _closed_within(ws, ENDS_WITHIN_S)
    assert took < ENDS_WITHIN_S and code == 4401


def test_websocket_origin_is_checked(staff: StaffClient) -> None:
    with served(staff.app) as address:
        token = staff.session("operator")
        with pytest.raises(InvalidStatus) as refused:
            _open(address, token, origin="http://evil.example")
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus):
            _open(address, None)  # no session
        with _open(address, token) as ws:  # same origin
            ws.ping().wait(5)
        with _open(address, token, origin=None) as ws:  # no Origin: not a browser, cookies were not borrowed
            ws.ping().wait(5)
    configured = create_app(staff.hub.ctx, origins=["https://console.example"])
    with served(configured) as address:
        with _open(address, token, origin="https://console.example") as ws:
            ws.ping().wait(5)
        with pytest.raises(InvalidStatus):
            _open(address, token, origin="https://other.example")
