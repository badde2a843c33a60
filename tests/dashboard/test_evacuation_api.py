"""Issue 14, item 5: the evacuation list is a work list. The people of the approved warning's polygon (not a circle)
become task rows; staff give each a status (who, when, note kept as history); a commander reveals a phone (audited)
while the list stays masked. On SQLite and on PostgreSQL (the state database a hub with workers shares)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from hub_api import ApiClient

from dashboard.app import create_app
from devices.models import Family, Reading
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.feed import CommandFeed
from dispatch.disaster.store import CommandStore
from hub.app import Hub, build_hub
from hub.settings import Settings, StoreSettings
from simulators.community import build_community

T0 = 1_783_000_000.0
USERS = {"cmd": "commander", "op": "operator"}


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    url = request.getfixturevalue("postgres") if request.param == "postgresql" else ""

    async def build() -> Hub:
        return build_hub(Settings(store=StoreSettings(data_dir=tmp_path, state_url=url)))

    built = asyncio.run(build())
    build_community(residents=40, terminals=8, villages=3, seed=3).register(built.registry)
    built.registry.devices()
    assert built.ctx.auth is not None
    built.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    for name, role in USERS.items():
        built.ctx.auth.add_user(name, f"{name}-password-1", role)
    try:
        yield built
    finally:
        built.close()


def client(hub: Hub, user: str) -> ApiClient:
    c = ApiClient(create_app(hub.ctx), base_url="http://hub.test")
    c.post("/api/login", json={"username": user, "password": f"{user}-password-1"}).raise_for_status()
    return c


def centre(hub: Hub) -> CommandCentre:
    assert hub.ctx.field_ops is not None
    return hub.ctx.field_ops.centre


def audit(hub: Hub, action: str) -> list[dict[str, Any]]:
    assert hub.ctx.incidents is not None
    return [r for r in hub.ctx.incidents.store.audit_log(None, 10_000) if r["action"] == action]


def approve_north_half(hub: Hub, cmd: ApiClient) -> tuple[str, set[str]]:
    """A river gauge drafts; the commander approves with a polygon north of the village's centre. Returns the
    village and the residents whose home lies in that polygon (by plain coordinate comparison)."""
    cc = centre(hub)
    site = next(s for s in sorted(cc.sites.values(), key=lambda s: s.terminal_id) if s.kind == "river_gauge")
    cc.on_detections(cc.warnings.observe(Reading(site.terminal_id, Family.TERMINAL, T0, 1, {"river_level_m": 34.5})))
    (draft,) = cmd.get("/api/command/drafts").json()["drafts"]
    v = cc.villages[site.village_id]
    box = (v.lat, v.lat + 0.05, v.lon - 0.05, v.lon + 0.05)  # the half of the village north of its centre
    ring = [[box[0], box[2]], [box[1], box[2]], [box[1], box[3]], [box[0], box[3]]]
    cmd.post(f"/api/command/drafts/{draft['draft_id']}/approve", json={"polygon": ring}).raise_for_status()
    homes = {h.home_id: h for h in hub.registry.homes()}
    inside = {r.resident_id for r in hub.registry.residents()
              if box[0] <= homes[r.home_id].lat <= box[1] and box[2] <= homes[r.home_id].lon <= box[3]}  # fmt: skip
    return site.village_id, inside


def test_the_polygons_people_are_worked_one_by_one(hub: Hub) -> None:
    op, cmd = client(hub, "op"), client(hub, "cmd")
    assert op.get("/api/evacuation").json() == {"areas": []}  # nothing approved, nothing to do
    village, inside = approve_north_half(hub, cmd)
    homes = {h.home_id: h for h in hub.registry.homes()}
    of_village = {r.resident_id for r in hub.registry.residents() if homes[r.home_id].village_id == village}
    assert inside and of_village - inside  # the polygon takes part of the village: not a circle around it
    (area,) = op.get("/api/evacuation").json()["areas"]
    assert area["area"] == village and area["colour"] == "red"
    people = {p["resident_id"]: p for p in area["people"]}
    assert set(people) == inside
    assert area["total"] == len(inside) and area["counts"]["open"] == len(inside) and area["done"] == 0
    registry = {r.resident_id: r for r in hub.registry.residents()}
    for rid, p in people.items():
        full = registry[rid].phone
        assert p["phone"] != full and "*" in p["phone"] and p["phone"][-4:] == full[-4:]  # masked in the list
        assert p["name"] == registry[rid].name and p["address"] == homes[registry[rid].home_id].address
        assert ("lives_alone" in p["needs"]) == bool(registry[rid].lives_alone)
        assert ("wheelchair" in p["needs"]) == bool(registry[rid].limited_mobility)
        assert p["status"] == "open" and p["kind"] == "evacuate" and p["history"] == []
    first, second = area["people"][0], area["people"][1]
    # the wearable of the first reports a GPS fix (the detector stage's path): the list shows where they are now
    cc = centre(hub)
    wearable = next(d for d, r in cc.wearers.items() if r == first["resident_id"])
    fix = {"lat": 28.123456, "lon": 112.654321}
    CommandFeed(cc).observe(Reading(wearable, Family.WEARABLE, time.time(), 7, fix))
    located = {p["resident_id"]: p["position"] for p in op.get("/api/evacuation").json()["areas"][0]["people"]}
    assert located[first["resident_id"]] == fix | {"ts": pytest.approx(time.time(), abs=60)}
    assert all(pos is None for rid, pos in located.items() if rid != first["resident_id"])
    url = f"/api/evacuation/tasks/{first['task_id']}/status"
    assert op.post(url, json={"status": "gone"}).status_code == 422
    assert op.post("/api/evacuation/tasks/nope/status", json={"status": "safe"}).status_code == 404
    op.post(url, json={"status": "contacted", "note": "电话联系上，正在收拾"}).raise_for_status()
    cmd.post(url, json={"status": "moved"}).raise_for_status()
    back = cmd.post(url, json={"status": "contacted"})  # moved is final
    assert back.status_code == 409 and "已转移" in back.json()["detail"]
    op.post(f"/api/evacuation/tasks/{second['task_id']}/status", json={"status": "unreachable"}).raise_for_status()
    (area,) = op.get(f"/api/evacuation?area={village}").json()["areas"]
    row = next(p for p in area["people"] if p["task_id"] == first["task_id"])
    assert [(c["status"], c["by"], c["note"]) for c in row["history"]] == [
        ("contacted", "op", "电话联系上，正在收拾"), ("moved", "cmd", "")]
    assert row["status"] == "moved" and row["allowed"] == []
    assert area["counts"] == {"open": len(inside) - 2, "contacted": 0, "safe": 0, "moved": 1, "unreachable": 1}
    assert area["done"] == 1
    assert [(r["actor"], r["detail"]["status"]) for r in audit(hub, "evacuation_status")] == [
        ("op", "contacted"), ("cmd", "moved"), ("op", "unreachable")]
    # the map's counts and the village's next report follow
    assert op.get(f"/api/command/evacuation/{village}").json()["relocated"] == 1

    reveal = f"/api/evacuation/tasks/{first['task_id']}/reveal"
    assert op.post(reveal).status_code == 403  # an operator calls from the masked list through the desk
    got = cmd.post(reveal).json()
    full = registry[first["resident_id"]].phone
    assert got["phone"] == full and got["tel"].startswith("tel:")
    (row,) = audit(hub, "evacuation_phone_revealed")
    assert row["actor"] == "cmd" and row["detail"]["task_id"] == first["task_id"]
    assert full not in str(row["detail"])  # who saw which number, never the number
    again = next(p for p in cmd.get("/api/evacuation").json()["areas"][0]["people"] if p["task_id"] == first["task_id"])
    assert again["phone"] != full  # the list stays masked after a reveal


def test_statuses_survive_a_new_centre_over_the_same_database(hub: Hub) -> None:
    """What `kill -9` leaves behind is what a fresh centre reads back: the task states and their history."""
    cmd = client(hub, "cmd")
    approve_north_half(hub, cmd)
    (area,) = cmd.get("/api/evacuation").json()["areas"]
    task = area["people"][0]["task_id"]
    cmd.post(f"/api/evacuation/tasks/{task}/status", json={"status": "safe", "note": "在女儿家"}).raise_for_status()
    cc = centre(hub)
    fresh = CommandCentre(dict(cc.villages), dict(cc.sites), dict(cc.residents))
    assert cc.store is not None
    fresh.restore(CommandStore(cc.store.db))
    assert fresh.tasks.tasks[task].state == "confirmed_safe"
    (change,) = fresh.evac_log.history(area["warning_id"])[task]
    assert (change.status, change.actor, change.note) == ("safe", "cmd", "在女儿家")
