"""Request body limits before authentication (issue 16): ASGI middleware in front of every route.

A request's body may be at most `max_body` bytes (the JSON API; 64 KiB by default), or `max_import` on the import
routes (16 MiB). A declared `Content-Length` over the limit is answered 413 at once, before routing, the session
check or any read of the body; a body without one (chunked) is counted as it streams in, and the first chunk past
the limit ends the read with 413. The answer is JSON, `{"detail": "request body too large: ..."}`, like every other
refusal of the API. So a client without a session cannot make the hub (which also runs ingest and the detectors)
hold a 50 MiB body in memory.
"""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 64 * 1024
MAX_IMPORT = 16 * 1024 * 1024
IMPORT_PATHS = ("/api/cap/import",)


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit (FastAPI re-raises HTTPExceptions from reads)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body too large: at most {limit} bytes on this route")


def _is_import(path: str) -> bool:
    return path in IMPORT_PATHS or (path.startswith("/api/") and path.rstrip("/").endswith("/import"))


async def _answer(send: Send, status: int, detail: str) -> None:
    body = orjson.dumps({"detail": detail})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: 413 for a body over the route's limit, whether declared or streamed."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, max_import: int = MAX_IMPORT) -> None:
        self.app = app
        self.max_body = max_body
        self.max_import = max_import

    def limit(self, path: str) -> int:
        """The body limit of a request path."""
        return self.max_import if _is_import(path) else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a declared oversize body at once; count a streamed one."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = [v for k, v in scope.get("headers", []) if k == b"content-length"]
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                await _answer(send, 400, "malformed Content-Length header")
                return
            if length > limit:
                await _answer(send, 413, BodyTooLarge(limit).detail)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # read outside FastAPI's handlers (or re-raised by them)
            if started:
                raise
            await _answer(send, 413, exc.detail)
