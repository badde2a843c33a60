"""Server-side aggregation of map markers, so 10,000 live gauges stay fluid in the browser (issue 6).

Below `INDIVIDUAL_ZOOM`, and when the view holds more than `MAX_INDIVIDUAL` points, points are binned on a grid of
about `CELL_PX` screen pixels: each cell becomes one cluster with its count, its centre of mass, its highest level
and its count per level. A cell holding one point stays a marker. The browser draws at most a few hundred shapes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

INDIVIDUAL_ZOOM = 15
MAX_INDIVIDUAL = 600
CELL_PX = 64
TILE_PX = 256


@dataclass(frozen=True, slots=True)
class Point:
    """One marker: a gauge with its level (0 none .. 4 red)."""

    id: str
    kind: str
    lat: float
    lon: float
    level: int
    village_id: str = ""


@dataclass(frozen=True, slots=True)
class BBox:
    """A view: south, west, north, east in degrees."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def parse(cls, text: str) -> BBox:
        """From Leaflet's `toBBoxString()` order "west,south,east,north"; ValueError if malformed."""
        parts = [float(p) for p in text.split(",")]
        if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
            raise ValueError("bbox must be west,south,east,north")
        west, south, east, north = parts
        return cls(min(south, north), min(west, east), max(south, north), max(west, east))

    def contains(self, lat: float, lon: float) -> bool:
        """Whether a point is in view."""
        return self.south <= lat <= self.north and self.west <= lon <= self.east


def cell_deg(zoom: int) -> float:
    """Grid cell size in degrees of longitude at this zoom (Web Mercator: 256 px per tile)."""
    return CELL_PX * 360.0 / (TILE_PX * 2.0**zoom)


def marker(p: Point) -> dict[str, Any]:
    """JSON of one marker."""
    return {"id": p.id, "kind": p.kind, "lat": p.lat, "lon": p.lon, "level": p.level, "village": p.village_id}


def aggregate(points: list[Point], bbox: BBox, zoom: int) -> dict[str, Any]:
    """Markers or clusters of the points in view."""
    inside = [p for p in points if bbox.contains(p.lat, p.lon)]
    if zoom >= INDIVIDUAL_ZOOM or len(inside) <= MAX_INDIVIDUAL:
        return {"zoom": zoom, "total": len(inside), "markers": [marker(p) for p in inside], "clusters": []}
    size = cell_deg(zoom)
    cells: dict[tuple[int, int], list[Point]] = {}
    for p in inside:
        cells.setdefault((math.floor(p.lat / size), math.floor(p.lon / size)), []).append(p)
    markers, clusters = [], []
    for key, members in cells.items():
        if len(members) == 1:
            markers.append(marker(members[0]))
        else:
            clusters.append(_cluster(key, members))
    return {"zoom": zoom, "total": len(inside), "markers": markers, "clusters": clusters}


def _cluster(key: tuple[int, int], members: list[Point]) -> dict[str, Any]:
    levels = [0] * 5
    for p in members:
        levels[p.level] += 1
    n = len(members)
    return {
        "id": f"c{key[0]}_{key[1]}",
        "lat": sum(p.lat for p in members) / n,
        "lon": sum(p.lon for p in members) / n,
        "count": n,
        "level": max(p.level for p in members),
        "levels": levels,
    }
