"""The map's GeoJSON carries the demo county's real outline (issue 14 item 8), served from the installed package."""

from __future__ import annotations

from pathlib import Path

from hub_api import ApiClient
from inproc import built_hub

from dashboard.app import create_app
from devices.boundary import county_boundary
from simulators.community import build_community


def test_the_map_serves_the_real_outline(tmp_path: Path) -> None:
    with built_hub(tmp_path, [("op", "op-password-1", "operator")]) as hub:
        build_community(residents=10, terminals=4, villages=3, seed=3).register(hub.registry)
        hub.registry.devices()  # refresh: the command centre learns the villages
        c = ApiClient(create_app(hub.ctx), base_url="http://hub.test")
        c.post("/api/login", json={"username": "op", "password": "op-password-1"}).raise_for_status()
        geo = c.get("/api/command/geojson").json()
    outline = [f for f in geo["features"] if f["properties"]["layer"] == "boundary"]
    assert len(outline) == 1 and outline[0]["properties"] == {"layer": "boundary", "name": "长沙县", "code": "430121"}
    assert outline[0]["geometry"] == county_boundary("430121").geometry()
    assert len(outline[0]["geometry"]["coordinates"][0][0]) > 1000  # the real line, not a box
    villages = [f for f in geo["features"] if f["properties"]["layer"] == "village"]
    assert len(villages) == 3 and all(f["properties"]["township"].endswith(("镇", "乡")) for f in villages)
