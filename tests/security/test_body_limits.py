"""Issue 16: request bodies are limited before authentication, by a declared Content-Length and while streaming."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from live_server import served
from staff_app import StaffClient, staff_hub

from dashboard.body_limit import MAX_BODY, MAX_IMPORT


@pytest.fixture
def staff(tmp_path: Path) -> Iterator[StaffClient]:
    with staff_hub(tmp_path / "hub") as client:
        yield client


async def _chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def _post(staff: StaffClient, path: str, content: object, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=staff.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
            return await c.post(path, content=content, headers=headers or {})

    return asyncio.run(go())


def test_a_declared_oversize_body_is_refused_before_it_is_read(staff: StaffClient) -> None:
    with served(staff.app) as address:
        host, port = address.split(":")
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(b"POST /api/login HTTP/1.1\r\nHost: " + address.encode() +
                         b"\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = conn.recv(4096)  # answered without sending a byte of the 50 MiB
                if not chunk:
                    break
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"content-type: application/json" in head.lower()
    assert "too large" in orjson.loads(body)["detail"]


def test_a_chunked_body_without_length_is_cut_at_the_limit(staff: StaffClient) -> None:
    answer = _post(staff, "/api/login", _chunks(4 * MAX_BODY), {"content-type": "application/json"})
    assert answer.status_code == 413 and "too large" in answer.json()["detail"]
    assert "content-length" not in answer.request.headers  # it really was streamed


def test_import_routes_allow_more_and_are_still_capped(staff: StaffClient) -> None:
    assert _post(staff, "/api/login", b"x" * (MAX_BODY + 1)).status_code == 413
    big_xml = b"<alert>" + b" " * (2 * MAX_BODY) + b"</alert>"
    assert _post(staff, "/api/cap/import", big_xml).status_code == 401  # past the limit check: needs a session
    unread = _post(staff, "/api/cap/import", _chunks(MAX_IMPORT + 1, 1024 * 1024))
    assert unread.status_code == 401  # this route reads its body only after the session check: never read
    refused = staff.call("POST", "/api/cap/import", role="commander", content=_chunks(MAX_IMPORT + 1, 1024 * 1024))
    assert refused.status_code == 413 and "too large" in refused.json()["detail"]


def test_small_bodies_pass(staff: StaffClient) -> None:
    ok = _post(staff, "/api/login", orjson.dumps({"username": "admin", "password": "staff-password-1"}),
               {"content-type": "application/json"})
    assert ok.status_code == 200
