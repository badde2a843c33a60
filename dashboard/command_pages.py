"""Mount the command map (issue 6): its page and REST, the command actions, and the CAP feed and import."""

from __future__ import annotations

from fastapi import FastAPI

from dashboard import cap_api, command_actions, command_api, drafts_api, evacuation_api, events_api, stations_api


def mount_command(app: FastAPI) -> None:
    """Include the command routers: /map, /command (draft review), /api/command/*, /cap/alerts.xml,
    /cap/alerts/<id>.xml, /api/cap/import, and the evacuation work list (/evacuation, /api/evacuation/*)."""
    for router in (command_api.router, command_api.pages, command_actions.router, drafts_api.router, drafts_api.pages,
                   stations_api.router, events_api.router, events_api.pages, evacuation_api.router,
                   evacuation_api.pages,
                   cap_api.feed, cap_api.router):
        app.include_router(router)
