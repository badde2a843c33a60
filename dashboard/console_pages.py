"""The operator console's page and assets, and the front-end libraries under /vendor/.

The libraries (uPlot, Leaflet) come from the npm registry through dashboard/package-lock.json and are installed
into dashboard/node_modules by scripts/setup (`npm ci`); nothing is fetched from a CDN, so the console works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
NODE_MODULES = HERE / "node_modules"


def mount_console(app: FastAPI) -> None:
    """GET /console (the page), /console/assets/* (its script and style), /vendor/* (npm libraries)."""

    @app.get("/console", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(STATIC / "console.html", headers={"Cache-Control": "no-cache"})

    app.mount("/console/assets", StaticFiles(directory=STATIC), name="console-assets")
    app.mount("/vendor", StaticFiles(directory=NODE_MODULES, check_dir=False), name="vendor")
