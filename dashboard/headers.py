"""Security headers on every HTTP answer (issue 8): CSP, nosniff, no framing, no referrer, no caching of the API.

The pages load their scripts from the hub itself; the live page's one inline script is allowed by its SHA-256
hash, computed from the file at start-up so an edit of the page cannot silently break it. Styles allow
'unsafe-inline' because Leaflet and the map draw markers with style attributes (styles cannot run code).
Strict-Transport-Security is sent only when the hub is behind TLS (HUB_HTTP__BEHIND_TLS).
Issue 16: FastAPI's /docs and /redoc (Swagger UI and ReDoc from a CDN, with inline scripts) are off, so every page
is under the one policy; the OpenAPI document stays at /openapi.json for tools.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.pages import STATIC

INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
HSTS = "max-age=31536000; includeSubDomains"
NO_STORE = ("/api/", "/fhir/")


def inline_script_hashes(page: str = "index.html") -> list[str]:
    """CSP source expressions for the inline scripts of one of the dashboard's pages."""
    html = (STATIC / page).read_text(encoding="utf-8")
    digests = (hashlib.sha256(s.encode()).digest() for s in INLINE_SCRIPT.findall(html))
    return [f"'sha256-{base64.b64encode(d).decode()}'" for d in digests]


def policy(tile_url: str = "") -> str:
    """The Content-Security-Policy of the pages (map tiles from `tile_url`'s origin when one is set)."""
    tiles = urlsplit(tile_url)
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.scheme and tiles.netloc else ""
    scripts = " ".join(["'self'", *inline_script_hashes()])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob:{tile_origin}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """ASGI middleware adding the headers to every HTTP response."""

    def __init__(self, app: ASGIApp, tile_url: str = "", behind_tls: bool = False) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if behind_tls:
            common.append((b"strict-transport-security", HSTS.encode()))
        self.common = common
        self.csp = policy(tile_url).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = self.csp
        no_store = path.startswith(NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if not (no_store and k == b"cache-control")]
                headers += [*self.common, (b"content-security-policy", csp)]
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
