"""The operator console's page and its assets (the libraries under /vendor/ are dashboard/pages.py's)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from dashboard.pages import STATIC


def mount_console(app: FastAPI) -> None:
    """GET /console (the page), /console/assets/* (its script and style)."""

    @app.get("/console", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(STATIC / "console.html", headers={"Cache-Control": "no-cache"})

    app.mount("/console/assets", StaticFiles(directory=STATIC), name="console-assets")
