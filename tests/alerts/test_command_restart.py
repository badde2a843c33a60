"""The command centre across a restart (issue 7): CAP feed, area levels, gauges and evacuation tasks come back.

A first centre is driven to a warning on a state database and simply abandoned (as a killed hub would leave it);
a second one is built on the same database. Its feed, tasks and levels must equal the first's, the next change
must be an Update or a Cancel referencing the message already out, and the same high readings again must
announce nothing: no second Alert for an area that has one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from command_path import STEP_S, T0, V01, V02, advance, feed
from hubproc import HubProcess
from lxml import etree
from paho.mqtt.enums import CallbackAPIVersion

from alerts.disaster.cap import atom_feed, build_alert, cancel, issue
from alerts.disaster.warnings import WarningLevel
from devices.models import Family, Reading
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.disaster.areas import LOWER_AFTER_S, Site
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.drafts import IssuePolicy
from dispatch.disaster.evacuation import Resident
from dispatch.disaster.feed import CommandFeed, build_command
from dispatch.disaster.store import CommandStore
from hub.broker import Mosquitto
from simulators.community import build_community

ATOM = "{http://www.w3.org/2005/Atom}"
SITES = {
    "T001": Site("T001", "river_gauge", "V01", 28.10, 112.965),
    "T002": Site("T002", "river_gauge", "V02", 28.20, 112.965),
}
RESIDENTS = {
    "R1": Resident("R1", "V01", 28.101, 112.901, lives_alone=True),
    "R2": Resident("R2", "V01", 28.102, 112.899),
    "R3": Resident("R3", "V02", 28.20, 112.90, limited_mobility=True),
}
Frames = list[tuple[str, Any]]


def started(db: StateDB, sites: dict[str, Site] | None = None) -> tuple[CommandCentre, CommandFeed, Frames]:
    """A centre over V01 and V02 that takes up what the database holds."""
    frames: Frames = []
    sites = dict(SITES if sites is None else sites)
    villages = {v.village_id: v for v in (V01, V02) if any(s.village_id == v.village_id for s in sites.values())}
    cc = CommandCentre(villages, sites, dict(RESIDENTS), lambda kind, data: frames.append((kind, data)),
                       policy=IssuePolicy.at_once())  # the engine's path: drafts issued at once
    cc.restore(CommandStore(db))
    return cc, CommandFeed(cc), frames


def orange_storm(db: StateDB) -> tuple[CommandCentre, CommandFeed]:
    """V01 yellow (Alert, check-on tasks), then orange (Update, evacuation); one task contacted; V02 calm."""
    cc, fd, _ = started(db)
    for i, level in enumerate((30.0, 32.05, 33.1)):
        feed(cc, fd, "T001", T0 + i * STEP_S, river_level_m=level)
        feed(cc, fd, "T002", T0 + i * STEP_S, river_level_m=30.0)
    cc.tasks.move(min(cc.tasks.tasks), "contacted", T0 + 2 * STEP_S + 60)
    assert [w.msg_type for w in cc.alerts.active(T0 + 3 * STEP_S)] == ["Update"]
    return cc, fd


def test_feed_levels_gauges_and_tasks_come_back(open_db: Callable[[], StateDB]) -> None:
    before, _ = orange_storm(open_db())
    after, _, _ = started(open_db())  # the first is abandoned, not closed: a killed hub
    now = T0 + 2 * STEP_S + 120
    assert after.alerts.messages == before.alerts.messages
    assert after.alerts.active(now) == before.alerts.active(now)
    feed_xml = atom_feed(after.alerts.active(now), "http://hub", now)
    assert feed_xml == atom_feed(before.alerts.active(now), "http://hub", now)
    assert build_alert(after.alerts.active(now)[0]) == build_alert(before.alerts.active(now)[0])
    assert after.tasks.tasks == before.tasks.tasks
    assert {t.state for t in after.tasks.tasks.values()} == {"open", "contacted"}
    assert after.evacuation_status("V01") == before.evacuation_status("V01")
    assert after.warnings.levels() == before.warnings.levels() == {"V01": WarningLevel.ORANGE}
    assert after.gauge_levels == before.gauge_levels == {"T001": 3, "T002": 0}
    assert after.warnings.terminal_metrics("T001") == before.warnings.terminal_metrics("T001")
    assert after.warning_key("V01") == before.warning_key("V01")


def test_same_high_readings_after_the_restart_announce_nothing(open_db: Callable[[], StateDB]) -> None:
    before, _ = orange_storm(open_db())
    after, fd, frames = started(open_db())
    ts = T0 + 2 * STEP_S  # the batch the killed hub may not have acked comes again, then the river stays up
    for t in (ts, ts + 60, ts + 120):
        assert feed(after, fd, "T001", t, river_level_m=33.1) == []
        assert feed(after, fd, "T002", t, river_level_m=30.0) == []
    assert advance(after, fd, ts + 180) == []
    assert after.alerts.messages == before.alerts.messages  # no second Alert, no Update either
    assert not [f for f in frames if f[0] in ("cap", "warning", "gauge")]


def test_next_changes_update_then_cancel_the_alert_issued_before_the_restart(open_db: Callable[[], StateDB]) -> None:
    before, _ = orange_storm(open_db())
    first = next(w for w in before.alerts.messages.values() if w.msg_type == "Alert")
    after, fd, _ = started(open_db())
    ts = T0 + 3 * STEP_S
    feed(after, fd, "T001", ts, river_level_m=34.2)  # the guarantee level: red
    (red,) = after.alerts.active(ts)
    assert (red.msg_type, red.level, red.source_key) == ("Update", WarningLevel.RED, first.identifier)
    assert red.identifier not in before.alerts.messages  # the sequence went on
    assert {t.kind for t in after.tasks.tasks.values()} == {"evacuate"}
    assert all(t.warning_id == first.identifier for t in after.tasks.tasks.values())
    feed(after, fd, "T001", ts + 60, river_level_m=30.0)
    assert after.warnings.area_level("V01") is WarningLevel.RED  # held: the release waits LOWER_AFTER_S
    feed(after, fd, "T001", ts + 60 + LOWER_AFTER_S, river_level_m=30.0)
    cancel = after.alerts.messages[max(after.alerts.messages, key=lambda i: after.alerts.messages[i].sent)]
    assert cancel.msg_type == "Cancel" and cancel.source_key == first.identifier
    assert [r[1] for r in cancel.references][:1] == [first.identifier]
    assert after.alerts.active(ts + 60 + LOWER_AFTER_S) == []
    again, fd2, _ = started(open_db())  # a restart after the Cancel: the feed is empty, the next rise a new Alert
    assert again.alerts.active(ts + LOWER_AFTER_S + 120) == [] and again.warning_key("V01") is None
    feed(again, fd2, "T001", ts + 2 * LOWER_AFTER_S, river_level_m=32.05)
    (fresh,) = again.alerts.active(ts + 2 * LOWER_AFTER_S)
    assert fresh.msg_type == "Alert" and fresh.identifier not in after.alerts.messages


def test_a_held_level_is_not_released_early_by_the_restart(open_db: Callable[[], StateDB]) -> None:
    orange_storm(open_db())
    after, fd, _ = started(open_db())
    ts = T0 + 3 * STEP_S
    feed(after, fd, "T001", ts, river_level_m=32.5)  # below orange, above yellow: orange holds for LOWER_AFTER_S
    advance(after, fd, ts + LOWER_AFTER_S - 60)
    assert after.warnings.area_level("V01") is WarningLevel.ORANGE
    assert [w.msg_type for w in after.alerts.active(ts)] == ["Update"]
    advance(after, fd, ts + LOWER_AFTER_S + 60)
    (down,) = after.alerts.active(ts + LOWER_AFTER_S + 60)
    assert (down.msg_type, down.level) == ("Update", WarningLevel.YELLOW)
    assert after.gauge_levels["T001"] == 2


def test_killed_between_the_gauge_and_the_cap_message_the_alert_still_goes_out(
    open_db: Callable[[], StateDB],
) -> None:
    cc, fd, _ = started(open_db())
    r = Reading("T001", Family.TERMINAL, T0, 1, {"river_level_m": 32.05})
    assert cc.warnings.observe(r) + fd.observe(r)  # the detectors ran (the gauge saved), the sink never did
    after, fd2, _ = started(open_db())
    assert after.alerts.messages == {} and after.gauge_levels == {"T001": 2}
    assert feed(after, fd2, "T001", T0, river_level_m=32.05) == []  # the redelivered batch
    (det,) = advance(after, fd2, T0 + 1)  # the stage's advance right after it reconciles the area
    assert det.features["level"] == 2
    assert [(w.msg_type, w.level) for w in after.alerts.active(T0 + 1)] == [("Alert", WarningLevel.YELLOW)]


def test_rain_window_comes_back_with_its_gauge(open_db: Callable[[], StateDB]) -> None:
    rain = {"T003": Site("T003", "rain_gauge", "V01", 28.1, 112.9)}
    cc, fd, _ = started(open_db(), rain)
    for i in range(5):  # 5 x 6 mm in 40 min: 30 mm in the hour, yellow by rain_1h_mm (saved with its window)
        feed(cc, fd, "T003", T0 + i * 600, rainfall_mm=6.0)
    assert cc.gauge_levels == {"T003": 2}
    after, fd2, _ = started(open_db(), rain)
    feed(after, fd2, "T003", T0 + 3000, rainfall_mm=6.0)
    metrics = after.warnings.terminal_metrics("T003")
    assert metrics["rain_1h_mm"] == (36.0, 2) and metrics["rain_3h_mm"] == (36.0, 1)  # pre-restart rain counts
    assert after.warnings.area_level("V01") is WarningLevel.YELLOW


def test_imported_warning_survives_and_its_cancel_still_lowers_the_area(open_db: Callable[[], StateDB]) -> None:
    cc, _, _ = started(open_db())
    outside = issue("cma-1", "cma@weather.example", T0, WarningLevel.YELLOW, event="Rainstorm",
                    area_desc="Lugu Township", shapes=(), geocodes={"village": "V02"})  # fmt: skip
    cc.import_cap(build_alert(outside), T0)
    assert cc.warnings.area_level("V02") is WarningLevel.YELLOW and cc.warning_key("V02") is not None
    after, _, _ = started(open_db())
    assert after.received.messages == cc.received.messages
    assert after.warnings.area_level("V02") is WarningLevel.YELLOW
    assert after.alerts.messages == cc.alerts.messages
    after.import_cap(build_alert(cancel(outside, "cma-2", T0 + 600)), T0 + 600)
    assert after.warnings.area_level("V02") is WarningLevel.NONE
    ours = sorted(after.alerts.messages.values(), key=lambda w: w.sent)
    assert [w.msg_type for w in ours] == ["Alert", "Cancel"] and ours[1].source_key == ours[0].identifier


def test_state_of_areas_no_longer_registered_is_left_out(
    open_db: Callable[[], StateDB], caplog: pytest.LogCaptureFixture
) -> None:
    cc, fd, _ = started(open_db())
    feed(cc, fd, "T002", T0, river_level_m=33.1)  # V02 orange, with R3's task
    feed(cc, fd, "T001", T0, river_level_m=32.05)  # V01 yellow
    assert len(cc.alerts.active(T0)) == 2
    with caplog.at_level(logging.WARNING, logger="dispatch.disaster.command"):
        after, fd2, _ = started(open_db(), {"T001": SITES["T001"]})  # V02 and its gauge left the registry
    assert "V02" in caplog.text and "T002" in caplog.text
    assert [w.area_desc for w in after.alerts.active(T0)] == ["Village 01 (V01)"]
    assert {t.village_id for t in after.tasks.tasks.values()} == {"V01"}
    assert after.gauge_levels == {"T001": 2}
    assert feed(after, fd2, "T001", T0 + 60, river_level_m=32.05) == []
    back, _, _ = started(open_db())  # the rows were kept: V02 registered again comes back
    assert len(back.alerts.active(T0)) == 2


def test_the_hubs_command_wiring_takes_up_the_saved_state(tmp_path: Path) -> None:
    community = build_community(residents=6, terminals=1, villages=1, seed=5)  # T001: a river gauge
    db = StateDB(tmp_path / "state.sqlite")
    registry = Registry(db)
    community.register(registry)
    cc = build_command(registry, store=CommandStore(db))
    cc.policy = IssuePolicy.at_once()
    fd = CommandFeed(cc)
    area = cc.sites["T001"].village_id
    for i, level in enumerate((30.0, 32.6)):
        feed(cc, fd, "T001", T0 + i * STEP_S, river_level_m=level)
    (alert,) = cc.alerts.active(T0 + STEP_S)
    assert alert.msg_type == "Alert" and cc.tasks.tasks
    db2 = StateDB(tmp_path / "state.sqlite")
    try:
        after = build_command(Registry(db2), store=CommandStore(db2))
        assert after.alerts.active(T0 + STEP_S) == [alert] and after.tasks.tasks == cc.tasks.tasks
        assert feed(after, CommandFeed(after), "T001", T0 + STEP_S + 60, river_level_m=32.6) == []
        assert after.warning_key(area) == alert.identifier
    finally:
        db2.close()
        db.close()


def _feed_entries(hub: HubProcess) -> list[str]:
    """Identifiers of the alerts the public feed lists."""
    doc = etree.fromstring(httpx.get(f"{hub.url}/cap/alerts.xml", timeout=5).content)
    return [e.findtext(f"{ATOM}id", "").rsplit(":", 1)[-1] for e in doc.findall(f"{ATOM}entry")]


def _wait_feed(hub: HubProcess, check: Callable[[list[str]], bool], timeout_s: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while not check(entries := _feed_entries(hub)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return entries


def _wait_drafts(hub: HubProcess, check: Callable[[list[dict[str, Any]]], bool],
                 timeout_s: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while not check(drafts := hub.get("/api/command/drafts")["drafts"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return drafts


@pytest.mark.integration
def test_a_pending_draft_survives_kill_9_and_its_approval_is_updated_later(hub_factory, mosquitto: Mosquitto) -> None:
    hub: HubProcess = hub_factory()
    community = build_community(residents=4, terminals=1, villages=1, seed=5)  # T001: a river gauge
    db = StateDB(hub.data_dir / "state.sqlite")
    community.register(Registry(db))
    db.close()
    hub.start()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-command-restart")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    seq = 0

    def gauge(level_m: float) -> None:
        nonlocal seq
        seq += 1
        body = {"ts": time.time(), "seq": seq, "river_level_m": level_m}
        client.publish("disaster/T001/observation", orjson.dumps(body), qos=1).wait_for_publish(5)

    try:
        gauge(32.6)  # above the warning level: yellow, a CAP draft (issue 14), nothing in the feed yet
        (draft,) = _wait_drafts(hub, bool)
        assert draft["msg_type"] == "Alert" and draft["colour"] == "yellow" and _feed_entries(hub) == []
        village = community.villages[0].village_id  # issue 14: an event declared and a village's initial report
        hub.post("/api/command/events", {"event_id": "storm-k9", "villages": [village]})
        report = {"event_id": "storm-k9", "village_id": village, "stage": "initial",
                  "indicators": {"trapped": 2, "emergency_relocated": 8}}  # fmt: skip
        assert hub.post("/api/command/reports", report)["version"] == 1
        team = {"team_id": "TM-K9", "name": "蓝天救援队", "lat": 28.2, "lon": 112.9, "capabilities": ["search"]}
        hub.post("/api/resources/teams", team)  # issue 14: teams, stock and relief plans are recorded too
        depot = {"warehouse_id": "WH-K9", "lat": 28.2, "lon": 112.95, "stock": {"tent": 10, "water_l": 500}}
        hub.post("/api/command/warehouses", depot)
        plan = hub.post("/api/resources/relief", {"days": 2})
        hub.post(f"/api/resources/relief/{plan['plan_id']}/approve")  # 2 tents and 48 l of water leave WH-K9
        hub.kill()  # the draft, the event and the report are in the state database: they survive kill -9
        hub.start()
        resources = hub.get("/api/resources")
        assert [(t["team_id"], t["status"], t["name"]) for t in resources["teams"]] == [("TM-K9", "available",
                                                                                         "蓝天救援队")]  # fmt: skip
        assert resources["warehouses"][0]["stock"] == {"tent": 8, "water_l": 452}
        assert [(p["plan_id"], p["status"]) for p in resources["plans"]] == [(plan["plan_id"], "approved")]
        got = hub.post(f"/api/resources/relief/{plan['plan_id']}/receipts/{village}")
        assert village in got["receipts"]
        state = hub.get("/api/command/state")
        assert state["event"]["event_id"] == "storm-k9"
        assert next(v for v in state["villages"] if v["id"] == village)["report"]["trapped"] == 2
        hub.post("/api/command/events/storm-k9/stabilise")  # after the restart: the verified stage opens
        verified = report | {"stage": "verified", "indicators": {"trapped": 0, "deaths": 0, "emergency_relocated": 8}}
        assert hub.post("/api/command/reports", verified)["version"] == 2
        assert [d["draft_id"] for d in hub.get("/api/command/drafts")["drafts"]] == [draft["draft_id"]]
        assert _feed_entries(hub) == []
        first = hub.post(f"/api/command/drafts/{draft['draft_id']}/approve")["identifier"]
        assert _feed_entries(hub) == [first]
        # issue 14, item 5: the evacuation list is worked, then the hub is killed again: statuses and history stay
        (area,) = hub.get("/api/evacuation")["areas"]
        a, b = (p["task_id"] for p in area["people"][:2])
        hub.post(f"/api/evacuation/tasks/{a}/status", {"status": "contacted", "note": "在家，等车"})
        hub.post(f"/api/evacuation/tasks/{a}/status", {"status": "moved"})
        hub.post(f"/api/evacuation/tasks/{b}/status", {"status": "unreachable"})
        hub.kill()
        hub.start()
        (area,) = hub.get("/api/evacuation")["areas"]
        worked = {p["task_id"]: p for p in area["people"]}
        assert [(c["status"], c["by"], c["note"]) for c in worked[a]["history"]] == [
            ("contacted", "tester", "在家，等车"), ("moved", "tester", "")]
        assert worked[a]["status"] == "moved" and worked[b]["status"] == "unreachable"
        assert area["counts"]["moved"] == 1 and area["counts"]["unreachable"] == 1
        assert _feed_entries(hub) == [first]
        for _ in range(3):
            gauge(32.6)  # the river stays up: nothing new
        hub.wait_stored(3, timeout_s=15)
        time.sleep(1.5)  # the detector stage and its advance have seen them
        assert _feed_entries(hub) == [first] and hub.get("/api/command/drafts")["drafts"] == []
        gauge(33.5)  # orange: a draft Update of the Alert sent before the kill
        (second,) = _wait_drafts(hub, bool)
        assert second["msg_type"] == "Update" and second["colour"] == "orange"
        update = hub.post(f"/api/command/drafts/{second['draft_id']}/approve")["identifier"]
        assert _feed_entries(hub) == [update]
        xml = httpx.get(f"{hub.url}/cap/alerts/{update}.xml", timeout=5).text
        assert "<msgType>Update</msgType>" in xml and f",{first}," in xml
    finally:
        client.loop_stop()
        client.disconnect()
    assert hub.stop() == 0
    db = StateDB(hub.data_dir / "state.sqlite")
    try:
        issued = db.execute("SELECT body FROM command_messages WHERE origin = 'issued' ORDER BY pos")
    finally:
        db.close()
    assert [orjson.loads(r["body"])["msg_type"] for r in issued] == ["Alert", "Update"]  # never a second Alert
