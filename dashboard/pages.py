"""What every page shares: /assets/* (common.js, and each page's script and style) and the front-end libraries
under /vendor/*, with the start-up check that those libraries are there.

The libraries (uPlot, Leaflet) come from the npm registry through dashboard/package-lock.json and are installed
into dashboard/node_modules by scripts/setup (`npm ci`); nothing is fetched from a CDN, so the pages work offline.
A wheel carries the files in `VENDORED` and `LICENSES` (pyproject.toml's package-data names the same files;
tests/dashboard/test_pages.py keeps the two, and the pages' <script>/<link> tags, in step). Where they are missing
the hub refuses to start and says what to run, rather than answering every /vendor/ request with an error.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
VENDOR = HERE / "node_modules"
VENDORED = (  # every file of node_modules the pages load (leaflet.css refers to the images)
    "leaflet/dist/leaflet.js",
    "leaflet/dist/leaflet.css",
    "leaflet/dist/images/layers.png",
    "leaflet/dist/images/layers-2x.png",
    "leaflet/dist/images/marker-icon.png",
    "leaflet/dist/images/marker-icon-2x.png",
    "leaflet/dist/images/marker-shadow.png",
    "uplot/dist/uPlot.iife.min.js",
    "uplot/dist/uPlot.min.css",
)
LICENSES = ("leaflet/LICENSE", "uplot/LICENSE")  # BSD-2-Clause and MIT: they travel with the files


class MissingAssets(RuntimeError):
    """The pages' front-end libraries are not installed; the message says what to run."""


def missing_vendored(directory: Path | None = None) -> list[str]:
    """The files of `VENDORED` absent from `directory` (default: dashboard/node_modules)."""
    root = VENDOR if directory is None else directory
    return [name for name in VENDORED if not (root / name).is_file()]


def require_vendored(directory: Path | None = None) -> None:
    """Raise `MissingAssets` unless every file the pages load from /vendor/ is there."""
    root = VENDOR if directory is None else directory
    absent = missing_vendored(root)
    if absent:
        more = f" and {len(absent) - 2} more" if len(absent) > 2 else ""
        raise MissingAssets(
            f"the pages' front-end libraries are missing from {root} ({', '.join(absent[:2])}{more}): "
            "run scripts/setup (or: cd dashboard && npm ci) in the checkout; a wheel carries them only when "
            "built after that"
        )


def mount_assets(app: FastAPI) -> None:
    """GET /assets/* (dashboard/static) and /vendor/* (the libraries); refuses (`MissingAssets`) when they lack."""
    require_vendored()
    app.mount("/assets", StaticFiles(directory=STATIC), name="assets")
    app.mount("/vendor", StaticFiles(directory=VENDOR), name="vendor")
