"""The scenario's own map layers as GeoJSON, for a command room without a tile server (issue 6).

Village areas are the polygons the warning drafts propose (dispatch/disaster/village_area.py: nearer to the
village than to any other, within the radius). The county boundary is the county's real outline
(devices.boundary, from the npm package in dashboard/node_modules: nothing is fetched) when the villages carry
official codes; otherwise (villages registered without a code) the padded hull box of the villages. The river is
drawn through the river gauges from south to north (they stand on its bank): no river data is installed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from devices.boundary import Boundary, county_boundary
from devices.divisions import DivisionsMissing
from devices.records import Village
from dispatch.disaster.areas import Site
from dispatch.disaster.village_area import village_area

PAD_DEG = 0.04


def _feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def boundary_of(villages: Iterable[Village]) -> Boundary | None:
    """The real outline of the villages' county (by the first official code), or None without codes or data."""
    code = next((v.code for v in villages if len(v.code) == 12 and v.code.isdigit()), "")
    if not code:
        return None
    try:
        return county_boundary(code)
    except DivisionsMissing:
        return None  # the packages are not installed: the box, as before


def layers(villages: Iterable[Village], sites: Iterable[Site], radius_km: float) -> dict[str, Any]:
    """A FeatureCollection: county boundary, village areas and points, the river line."""
    villages, sites = list(villages), list(sites)
    features: list[dict[str, Any]] = []
    outline = boundary_of(villages)
    if outline is not None:
        features.append(_feature(outline.geometry(), layer="boundary", name=outline.name, code=outline.code))
    elif villages:
        lats, lons = [v.lat for v in villages], [v.lon for v in villages]
        s, n, w = min(lats) - PAD_DEG, max(lats) + PAD_DEG, min(lons) - PAD_DEG
        e = max([*lons, *(x.lon for x in sites)]) + PAD_DEG
        box = [[w, s], [e, s], [e, n], [w, n], [w, s]]
        features.append(_feature({"type": "Polygon", "coordinates": [box]}, layer="boundary", name=villages[0].county))
    for v in villages:
        ring = [[lon, lat] for lat, lon in village_area(v, villages, radius_km).points]  # as drafts propose it
        features.append(
            _feature({"type": "Polygon", "coordinates": [ring]}, layer="area", id=v.village_id, name=v.name)
        )
        features.append(_feature({"type": "Point", "coordinates": [v.lon, v.lat]}, layer="village", id=v.village_id,
                                 name=v.name, township=v.township))  # fmt: skip
    bank = sorted((s.lat, s.lon) for s in sites if s.kind == "river_gauge")
    if len(bank) >= 2:
        line = [
            [bank[0][1], bank[0][0] - PAD_DEG],
            *([lon, lat] for lat, lon in bank),
            [bank[-1][1], bank[-1][0] + PAD_DEG],
        ]
        features.append(_feature({"type": "LineString", "coordinates": line}, layer="river", name="Xiang river"))
    return {"type": "FeatureCollection", "features": features}
