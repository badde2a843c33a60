"""Issue 14, item 7 (two workers, one picture): two real hub processes sharing PostgreSQL serve the same CAP feed;
a draft approved on one is in force on the other within 2 s, and the next decision on the other worker follows it
(an Update of the message in force, not a second Alert)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from hubproc import TEST_USER, HubProcess

from alerts.disaster.cap import build_alert, issue
from alerts.disaster.warnings import WarningLevel
from dashboard.auth import StaffAuth
from devices.registry import Registry
from devices.statedb.postgres import PgStateDB
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.drafts import Draft
from dispatch.disaster.store import CommandStore
from simulators.community import build_community


def _draft_in(url: str, folder: Path, level: WarningLevel, village: str = "") -> tuple[Draft, str]:
    """Register the community (first call); a weather service's CAP alert for a village drafts a warning for the
    commander, straight in PostgreSQL (as `POST /api/cap/import` on any worker would)."""
    db = PgStateDB(url, folder)
    try:
        registry = Registry(db)
        if not registry.villages():
            build_community(residents=10, terminals=4, villages=2, seed=5).register(registry)
            StaffAuth(db).add_user(*TEST_USER, role="admin")
        villages = {v.village_id: v for v in registry.villages()}
        cc = CommandCentre(villages, {}, {})
        cc.restore(CommandStore(db))
        area = village or sorted(villages)[0]
        now = time.time()
        outside = issue(f"wx-{int(level)}", "weather@example.cn", now, level, event="暴雨", area_desc=area, shapes=(),
                        geocodes={"village": area})  # fmt: skip
        cc.import_cap(build_alert(outside), now)
        (draft,) = cc.drafts.pending()
        return draft, area
    finally:
        db.close()


def _feed(hub: HubProcess) -> str:
    return httpx.get(f"{hub.url}/cap/alerts.xml", timeout=5).text


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_an_approval_on_one_worker_is_in_the_feed_of_the_other(
    tmp_path: Path, postgres: str, hub_factory: Callable[..., HubProcess]
) -> None:
    draft, area = _draft_in(postgres, tmp_path / "setup", WarningLevel.YELLOW)
    common = {"HUB_STORE__STATE_URL": postgres}
    a, b = (hub_factory(tmp_path / f"w{i}", client_id=f"hub-w{i}", env=common | {"HUB_MQTT__SHARD": f"{i}/2"})
            for i in range(2))  # fmt: skip
    with ThreadPoolExecutor(2) as pool:  # both start at once: the test's time is mostly the hubs' start
        list(pool.map(HubProcess.start, (a, b)))
    assert "<entry>" not in _feed(a) and "<entry>" not in _feed(b)  # nothing nobody approved
    assert [d["draft_id"] for d in b.get("/api/command/drafts")["drafts"]] == [draft.draft_id]

    issued = a.post(f"/api/command/drafts/{draft.draft_id}/approve", {"headline": "一号预警（测试）"})
    ident = issued["identifier"]
    t0 = time.monotonic()
    while ident not in _feed(b) and time.monotonic() - t0 < 5:
        time.sleep(0.05)
    seen_after = time.monotonic() - t0
    print(f"approval on worker A in worker B's feed after {seen_after:.2f} s")
    assert ident in _feed(b) and seen_after <= 2.0
    assert _feed(a).count("<entry>") == _feed(b).count("<entry>") == 1
    a.post("/api/command/events", {"event_id": "storm-2w", "villages": [area]})  # reports: the same picture too
    report = {"event_id": "storm-2w", "village_id": area, "stage": "initial", "indicators": {"trapped": 4}}
    assert a.post("/api/command/reports", report)["version"] == 1
    t0 = time.monotonic()

    def reported(state: dict[str, Any]) -> bool:
        return bool(state["event"] and next(v for v in state["villages"] if v["id"] == area)["report"])

    while not reported(seen := b.get("/api/command/state")) and time.monotonic() - t0 < 2.0:
        time.sleep(0.1)  # within 2 s: the event and the report (B's once-a-second sync may fall between the two)
    assert seen["event"]["event_id"] == "storm-2w"
    assert next(v for v in seen["villages"] if v["id"] == area)["report"]["trapped"] == 4
    follow = report | {"stage": "follow_up", "indicators": {"trapped": 1}}
    assert b.post("/api/command/reports", follow)["version"] == 2  # the next version, on the other worker
    xml = httpx.get(f"{b.url}/cap/alerts/{ident}.xml", timeout=5)
    assert xml.status_code == 200 and "一号预警（测试）" in xml.text

    # a second draft for the same area, approved on B: an Update of A's message, which leaves the feed of both
    again, _ = _draft_in(postgres, tmp_path / "setup", WarningLevel.ORANGE, area)
    state = b.get("/api/command/state")
    assert ident in str(state)
    b_issued = b.post(f"/api/command/drafts/{again.draft_id}/approve", {})
    update = httpx.get(f"{a.url}/cap/alerts/{b_issued['identifier']}.xml", timeout=5).text
    assert "<msgType>Update</msgType>" in update and ident in update
    t0 = time.monotonic()
    while ident in _feed(a) and time.monotonic() - t0 < 5:
        time.sleep(0.05)
    assert ident not in _feed(a) and b_issued["identifier"] in _feed(a)
    assert _feed(a).count("<entry>") == _feed(b).count("<entry>") == 1
