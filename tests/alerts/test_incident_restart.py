"""Incidents survive a kill -9 of the hub process: open and acknowledged ones keep their state and audit (issue 5)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from hubproc import HubProcess
from paho.mqtt.enums import CallbackAPIVersion

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community

pytestmark = pytest.mark.integration


def _post(hub: HubProcess, path: str, body: dict[str, Any]) -> Any:
    csrf = {"X-CSRF-Token": hub.cookies.get("hub_csrf", "")}  # where the CSRF guard (issue 8) is on
    response = httpx.post(f"{hub.url}{path}", json=body, cookies=hub.cookies, headers=csrf, timeout=10)
    response.raise_for_status()
    return response.json()


def _incidents(hub: HubProcess, devices: list[str]) -> dict[str, dict[str, Any]]:
    return {i["device_id"]: i for i in hub.get("/api/incidents") if i["device_id"] in devices}


def _snapshot(hub: HubProcess, incident_id: int) -> dict[str, Any]:
    view = hub.get(f"/api/incidents/{incident_id}")
    keep = ("state", "kind", "severity", "acked_by", "ack_comment", "acked_at", "opened_at", "alert_count", "title")
    return {"row": {k: view[k] for k in keep}, "audit": view["audit"], "alerts": view["alerts"]}


def test_open_and_acknowledged_incidents_survive_kill_9(hub_factory, mosquitto: Mosquitto) -> None:
    hub: HubProcess = hub_factory()
    community = build_community(residents=2, terminals=1, villages=1, seed=11)
    db = StateDB(hub.data_dir / "state.sqlite")
    community.register(Registry(db))
    db.close()
    hub.start()
    wearables = [d.device_id for d in community.devices if d.family == "wearable"]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-restart-keys")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    for device_id in wearables:  # the red key raises an alert at once
        body = {"ts": time.time(), "seq": 1, "event": "sos"}
        client.publish(f"eldercare/{device_id}/event", orjson.dumps(body), qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 15
    while len(_incidents(hub, wearables)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    incidents = _incidents(hub, wearables)
    assert len(incidents) == 2
    acked, still_open = incidents[wearables[0]]["id"], incidents[wearables[1]]["id"]
    _post(hub, f"/api/incidents/{acked}/acknowledge", {"comment": "calling the daughter"})
    _post(hub, f"/api/incidents/{acked}/callback", {"reached": True, "note": "she is on her way"})
    before = {i: _snapshot(hub, i) for i in (acked, still_open)}
    assert before[acked]["row"]["state"] == "acknowledged" and before[still_open]["row"]["state"] == "open"

    hub.kill()
    hub.start()

    after = {i: _snapshot(hub, i) for i in (acked, still_open)}
    for incident_id, snap in before.items():
        assert after[incident_id]["row"] == snap["row"]
        assert after[incident_id]["alerts"] == snap["alerts"]
        assert after[incident_id]["audit"][: len(snap["audit"])] == snap["audit"]  # escalations may only append
    actions = [a["action"] for a in after[acked]["audit"]]
    assert actions[:3] == ["opened", "acknowledged", "callback"]
    assert {i["id"] for i in hub.get("/api/incidents")} >= {acked, still_open}  # still in the queue
    resolved = _post(hub, f"/api/incidents/{acked}/resolve", {"outcome": "helped"})  # the lifecycle goes on
    assert resolved["state"] == "resolved"
    assert [a["action"] for a in hub.get(f"/api/incidents/{acked}/audit")][-1] == "resolved"
    client.loop_stop()
    client.disconnect()
