"""The dashboard's FastAPI app: health, registry and readings REST, one live websocket feed, the live page.

Built by `create_app(ctx)` from the objects the composition root made; nothing global. Routes take those objects
and the signed-in user from dashboard/deps.py. To add a page (route module, role table, HTML with common.js), see
dashboard/README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse

from dashboard import (
    auth_api,
    calls_api,
    caring_api,
    console_api,
    contacts_api,
    detections_api,
    error_texts,
    i18n_api,
    identity_api,
    insights_api,
    readings_api,
    registry_api,
    resources_api,
    responders_api,
    search_api,
)
from dashboard.access_log import AccessLog
from dashboard.aliases_api import router as aliases_router
from dashboard.auth import StaffAuth
from dashboard.body_limit import MAX_BODY, MAX_IMPORT, BodyLimit
from dashboard.call_log import CallLog
from dashboard.command_pages import mount_command
from dashboard.console_pages import mount_console
from dashboard.context import HubContext
from dashboard.deps import require
from dashboard.devices_api import mount_devices_page
from dashboard.devices_api import router as devices_router
from dashboard.escalation_api import open_router as sms_open_router
from dashboard.escalation_api import pages as escalation_pages
from dashboard.escalation_api import router as escalation_router
from dashboard.export_api import router as export_router
from dashboard.fhir_api import router as fhir_router
from dashboard.guard import Attribution, guard
from dashboard.headers import SecurityHeaders
from dashboard.metrics import router as metrics_router
from dashboard.pages import STATIC, mount_assets
from dashboard.place_scope import FrameFilter, scope_of
from dashboard.spec import document
from dispatch.caring_calls import CaringCalls
from dispatch.service_catalogue import ServiceCatalogue

RECHECK_S = 2.0  # an open /ws notices the end of its session within this (plus a query)


def _index() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


async def _pump(ws: WebSocket, queue: asyncio.Queue[bytes], frames: FrameFilter) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while True:
            data = await queue.get()
            if frames.allows(data):  # scope by place: a limited account gets its townships' frames only
                await ws.send_text(data.decode())


async def _watch(ws: WebSocket, auth: StaffAuth, token: str | None) -> None:
    """Issue 16: re-check the session every RECHECK_S; close the socket (4401) once it has ended (logout, account
    disabled, lifetime or idle timeout). The re-check is not activity: it does not extend an idle session."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while True:
            await asyncio.sleep(RECHECK_S)
            if await asyncio.to_thread(auth.session, token, False) is None:
                await ws.close(code=4401, reason="session ended")
                return


async def _drain(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return


def create_app(ctx: HubContext, behind_tls: bool = False, *, max_body_bytes: int = MAX_BODY,
               max_import_bytes: int = MAX_IMPORT, origins: Sequence[str] = (), cti_token: str = "") -> FastAPI:
    """The HTTP app over a running hub's objects (`behind_tls`: HSTS and Secure cookies, issue 8).

    Issue 16: request bodies are limited before routing (`max_body_bytes`, `max_import_bytes` on import routes);
    `origins` are other origins allowed to open /ws and send state-changing requests besides the hub's own.
    `cti_token`: the PBX/CTI system's bearer token for screen pops (`POST /api/calls`); empty = sessions only.
    Raises `dashboard.pages.MissingAssets` (what to run) when the pages' front-end libraries are not installed.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"ctx": ctx}

    # issue 8: every route passes the role table (dashboard/roles.py), CSRF and the access log; security headers
    # issue 16: no /docs or /redoc (they load Swagger UI and ReDoc from a CDN); the spec stays at /openapi.json
    app = FastAPI(title="Eldercare & disaster hub", version="0.1.0", lifespan=lifespan, dependencies=[Depends(guard)],
                  docs_url=None, redoc_url=None)
    mount_assets(app)  # first: a hub whose pages cannot load refuses to start, saying what to run
    app.state.ctx = ctx
    error_texts.install(app)  # issue 18: errors carry a `message` in the reader's language
    app.state.access = AccessLog(ctx.registry.db)
    app.state.behind_tls = behind_tls
    app.state.origins = tuple(o.rstrip("/").lower() for o in origins)
    app.state.calls = CallLog(ctx.registry.db)  # the hotline's lines and calls (screen pop)
    app.state.caring = CaringCalls(ctx.registry.db, ctx.registry, ctx.incidents)  # weekly calls to those alone
    app.state.catalogue = ServiceCatalogue(ctx.registry.db, ctx.registry, app.state.caring)  # prices, subsidies
    app.state.cti_token_sha = hashlib.sha256(cti_token.encode()).hexdigest() if cti_token else ""
    tile_url = ctx.field_ops.tile_url if ctx.field_ops is not None else ""
    app.add_middleware(Attribution)  # issue 16: every unsafe request with a session in the audit log
    app.add_middleware(BodyLimit, max_body=max_body_bytes, max_import=max_import_bytes)  # issue 16, before auth
    app.add_middleware(SecurityHeaders, tile_url=tile_url, behind_tls=behind_tls)  # outermost: on every answer
    document(app)  # the spec states the role table's 401/403 and the real error shapes
    staff = [Depends(require())]  # issue 5: every /api route needs a session (401), /health stays open
    app.include_router(registry_api.router, dependencies=staff)
    app.include_router(readings_api.router, dependencies=staff)
    app.include_router(detections_api.router, dependencies=staff)
    for router in (export_router, fhir_router, aliases_router):  # issue 9
        app.include_router(router, dependencies=staff)
    app.include_router(metrics_router)  # issue 9: open, counts only (dashboard/metrics.py)
    for router in (auth_api.open_router, auth_api.router, console_api.router, responders_api.router,
                   identity_api.router, devices_router, i18n_api.open_router, i18n_api.router,
                   search_api.router, contacts_api.router, calls_api.router, caring_api.router,
                   escalation_router, sms_open_router, escalation_pages,  # issue 15
                   insights_api.router, insights_api.pages,  # issue 19
                   resources_api.router, resources_api.pages):  # issue 14: teams and relief
        app.include_router(router)
    if ctx.auth is not None:
        i18n_api.add_language_column(ctx.auth.db)  # issue 18: each member of staff's language
    mount_console(app)
    mount_devices_page(app)  # issue 16: admins issue and revoke device credentials
    mount_command(app)  # issue 6: the command map, its actions and CAP

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, Any]:
        """Liveness plus the ingest counters."""
        return {"status": "ok", "mqtt_connected": ctx.mqtt_connected(), "ingest": ctx.stats_dict()}

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/console")  # the operator's screen; it links to the map and the live feed

    @app.get("/live", response_class=HTMLResponse, include_in_schema=False)
    def live_page() -> str:
        return _index()

    @app.websocket("/ws")
    async def live(ws: WebSocket) -> None:
        """Live frames `{"type": ..., "data": {...}}`: readings, events, detections, stats.

        The guard has checked the role and the Origin; the session is checked again every RECHECK_S."""
        token = ws.cookies.get(auth_api.COOKIE)
        user = ctx.auth.session(token) if ctx.auth is not None else None
        if ctx.auth is None or user is None:
            await ws.close(code=4401)  # no session: the handshake is refused
            return
        sites = {t: s.village_id for t, s in ctx.field_ops.centre.sites.items()} if ctx.field_ops else None
        frames = FrameFilter(scope_of(ctx.registry, user), ctx.registry, username=user.username, sites=sites,
                             incident=ctx.incidents.store.get if ctx.incidents is not None else None)
        await ws.accept()
        sub = ctx.bus.subscribe()
        # Send, receive and re-check side by side: a client's close, the server's shutdown or the end of the
        # session ends the handler at once, even while no frame is due.
        tasks = [asyncio.create_task(_pump(ws, sub.queue, frames)), asyncio.create_task(_drain(ws)),
                 asyncio.create_task(_watch(ws, ctx.auth, token))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            ctx.bus.unsubscribe(sub)

    return app
