"""Scope by place on the new command-room forms (issue 14): four villages, each its own township. A commander
limited to V01's township sees and picks only V01, declares events there only, closes only events wholly its own,
and makes warehouses only in its township; a township admin sees the officers of its villages (and those with none
yet) and assigns only its villages, without dropping an officer's villages elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_resources_api import client, resources_hub

from dispatch.insights.places import Townships
from hub.app import Hub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with resources_hub(tmp_path) as built:
        assert built.ctx.auth is not None
        places = Townships.of(built.registry.villages()).villages
        assert len(set(places.values())) == 4  # each village its own township
        for name, role, village in (("s1", "commander", "V01"), ("a1", "admin", "V01"), ("adm", "admin", "")):
            built.ctx.auth.add_user(name, f"{name}-password-1", role)
            if village:
                built.ctx.auth.set_townships(name, [places[village]])
        yield built


def test_events_and_warehouses_of_a_township_commander(hub: Hub) -> None:
    cmd, s1 = client(hub, "cmd"), client(hub, "s1")
    county = cmd.get("/api/command/events").json()["places"]
    assert sorted(v["id"] for t in county for v in t["villages"]) == ["V01", "V02", "V03", "V04"]
    (mine,) = s1.get("/api/command/events").json()["places"]
    assert [v["id"] for v in mine["villages"]] == ["V01"]
    assert s1.post("/api/command/events", json={"name": "外镇", "villages": ["V04"]}).status_code == 403
    assert s1.post("/api/command/events", json={"name": "外镇", "townships": [county[-1]["township"]]}).status_code in (
        403, 422)  # fmt: skip
    own = s1.post("/api/command/events", json={"event_id": "own-1", "name": "本镇", "villages": ["V01"]})
    assert own.status_code == 200, own.text
    both = cmd.post("/api/command/events", json={"event_id": "both-1", "villages": ["V01", "V04"]})
    assert both.status_code == 200
    seen = {e["event_id"]: e for e in s1.get("/api/command/events").json()["events"]}
    assert set(seen) == {"own-1", "both-1"} and seen["both-1"]["villages"] == ["V01"]
    assert cmd.post("/api/command/events", json={"event_id": "far-1", "villages": ["V04"]}).status_code == 200
    assert "far-1" not in {e["event_id"] for e in s1.get("/api/command/events").json()["events"]}
    assert s1.post("/api/command/events/both-1/close", json={"note": "本镇已无险情"}).status_code == 403
    assert s1.post("/api/command/events/own-1/close", json={"note": "本镇已无险情"}).status_code == 200
    v01, v04 = (hub.ctx.field_ops.centre.villages[v] for v in ("V01", "V04"))  # type: ignore[union-attr]  # field_ops is optional in the context; this hub has one
    assert s1.get("/api/resources").json()["townships"] == [v01.township]
    far = {"name": "外镇仓", "township": v04.township, "lat": v04.lat, "lon": v04.lon}
    assert s1.post("/api/resources/warehouses", json=far).status_code == 403
    assert s1.post("/api/resources/warehouses", json=far | {"township": v01.township}).status_code == 403  # V04's spot
    near = {"name": "本镇仓", "township": v01.township, "lat": v01.lat, "lon": v01.lon}
    made = s1.post("/api/resources/warehouses", json=near)
    assert made.status_code == 200, made.text
    assert [w["warehouse_id"] for w in s1.get("/api/resources").json()["warehouses"]] == [made.json()["warehouse_id"]]


def test_a_township_admin_assigns_its_own_villages_only(hub: Hub) -> None:
    adm, a1 = client(hub, "adm"), client(hub, "a1")
    put = "PUT"
    assert adm.request(put, "/api/command/reporters/wang", json={"villages": ["V04"]}).status_code == 200
    assert adm.request(put, "/api/command/reporters/li", json={"villages": ["V04"]}).status_code == 200
    got = a1.get("/api/command/reporters").json()
    assert [v["id"] for t in got["places"] for v in t["villages"]] == ["V01"]
    assert got["reporters"] == []  # both officers report for V04 only: not this township's
    assert a1.request(put, "/api/command/reporters/li", json={"villages": ["V04"]}).status_code == 403
    assert adm.request(put, "/api/command/reporters/li", json={"villages": ["V01", "V04"]}).status_code == 200
    (li,) = a1.get("/api/command/reporters").json()["reporters"]
    assert (li["username"], li["villages"]) == ("li", ["V01"])  # its part of the officer's villages
    assert a1.request(put, "/api/command/reporters/li", json={"villages": []}).status_code == 200
    assert hub.ctx.field_ops.centre.reporters.villages("li") == ["V04"]  # type: ignore[union-attr]  # kept
    county = {r["username"]: r["villages"] for r in adm.get("/api/command/reporters").json()["reporters"]}
    assert county == {"li": ["V04"], "wang": ["V04"]}
