"""Issue 14, the page-side records across kill -9 (a hub process, as tests/alerts/test_command_restart.py does for
drafts, reports, teams and stock): a declared-then-closed event with its name and note, a warehouse made on the page
with its lots (one expired) and an issue taken soonest-expiry-first, and a reporter account's villages."""

from __future__ import annotations

import httpx
import pytest
from hubproc import HubProcess

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community


def put(hub: HubProcess, path: str, body: object) -> object:
    response = httpx.put(f"{hub.url}{path}", json=body, cookies=hub.cookies, headers=hub.headers, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.mark.integration
def test_closed_events_lots_and_reporter_villages_survive_kill_9(hub_factory, mosquitto: Mosquitto) -> None:
    hub: HubProcess = hub_factory()
    community = build_community(residents=4, terminals=1, villages=2, seed=5)
    db = StateDB(hub.data_dir / "state.sqlite")
    community.register(Registry(db))
    db.close()
    hub.start()
    first, second = (v.village_id for v in community.villages[:2])
    event = hub.post("/api/command/events", {"hazard": "rainstorm", "name": "七月暴雨", "villages": [first, second]})
    report = {"event_id": event["event_id"], "village_id": first, "stage": "initial",
              "indicators": {"emergency_relocated": 8}}  # fmt: skip
    hub.post("/api/command/reports", report)
    town = community.villages[0].township
    wh = hub.post("/api/resources/warehouses", {"name": "镇物资点", "township": town, "lat": 28.2, "lon": 112.9})
    wid = wh["warehouse_id"]
    lots = {}
    for qty, expires in ((1, "2098-01-01"), (5, "2099-01-01"), (10, "2020-01-01")):
        got = hub.post(f"/api/resources/warehouses/{wid}/receipts",
                       {"item": "tent", "quantity": qty, "expires": expires, "signed_by": "张保管"})
        lots[expires] = got["entry_id"]
    plan = hub.post("/api/resources/relief", {"days": 2})  # 8 relocated: 2 tents
    hub.post(f"/api/resources/relief/{plan['plan_id']}/approve")
    hub.post("/api/admin/users", {"username": "li", "password": "li-password-1", "role": "reporter"})
    put(hub, "/api/command/reporters/li", {"villages": [second]})
    hub.post(f"/api/command/events/{event['event_id']}/close", {"note": "雨停，灾情结束"})
    hub.kill()  # kill -9: everything above is in the state database already
    hub.start()
    (back,) = [e for e in hub.get("/api/command/events")["events"] if e["event_id"] == event["event_id"]]
    assert (back["status"], back["name"], back["closed_by"], back["close_note"]) == (
        "closed", "七月暴雨", "tester", "雨停，灾情结束")
    assert back["late"] == {} and hub.get("/api/command/state")["event"] is None
    refused = httpx.post(f"{hub.url}/api/command/reports", json=report | {"village_id": second},
                         cookies=hub.cookies, headers=hub.headers, timeout=10)  # fmt: skip
    assert refused.status_code == 422  # still closed: no new initial report
    (mine,) = [w for w in hub.get("/api/resources")["warehouses"] if w["warehouse_id"] == wid]
    assert mine["township"] == town and mine["usable"] == {"tent": 4} and mine["expired"] == {"tent": 10}
    issued = {e["lot"]: e["quantity"] for e in hub.get("/api/resources/ledger", warehouse_id=wid)
              if e["kind"] == "issue"}  # fmt: skip
    assert issued == {lots["2098-01-01"]: -1, lots["2099-01-01"]: -1}
    reporters = hub.get("/api/command/reporters")["reporters"]
    assert [(r["username"], r["villages"]) for r in reporters] == [("li", [second])]
    assert hub.stop() == 0
