"""Issue 14: with two hub workers sharing PostgreSQL, a village's overdue report is raised once, not once per
worker. Two real processes run; a commander's event is recorded whose villages' initial reports (due 2 h after its
start) fall due a few seconds later and never come; both workers hold the event and check its deadlines on their
own clocks. Across both workers'
websockets each village's overdue report is announced once, and the shared database holds one detection each."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from hubproc import TEST_USER, HubProcess
from websockets.sync.client import connect

from alerts.disaster.reports import INITIAL_DUE_S, DisasterEvent
from dashboard.auth import StaffAuth
from dashboard.auth_api import COOKIE
from devices.registry import Registry
from devices.statedb.postgres import PgStateDB
from dispatch.disaster.report_store import ReportStore
from simulators.community import build_community


class Frames:
    """What one worker's websocket announces, collected on a thread until `stop`."""

    def __init__(self, hub: HubProcess) -> None:
        self.got: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._listen, args=(hub,), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _listen(self, hub: HubProcess) -> None:
        headers = {"Cookie": f"{COOKIE}={hub.cookies[COOKIE]}"}
        with connect(f"ws://127.0.0.1:{hub.port}/ws", additional_headers=headers) as ws:
            self.ready.set()
            while not self.stop.is_set():
                with contextlib.suppress(TimeoutError):
                    self.got.append(orjson.loads(ws.recv(timeout=0.2)))

    def overdue(self) -> list[str]:
        return [f["data"]["village_id"] for f in self.got if f["type"] == "report" and f["data"].get("overdue")]


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_two_workers_raise_each_overdue_report_once(
    tmp_path: Path, postgres: str, hub_factory: Callable[..., HubProcess]
) -> None:
    db = PgStateDB(postgres, tmp_path / "setup")
    try:
        registry = Registry(db)
        build_community(residents=6, terminals=2, villages=2, seed=5).register(registry)
        StaffAuth(db).add_user(*TEST_USER, role="admin")
        villages = sorted(v.village_id for v in registry.villages())
    finally:
        db.close()
    common = {"HUB_STORE__STATE_URL": postgres}
    a, b = (hub_factory(tmp_path / f"w{i}", client_id=f"hub-w{i}", env=common | {"HUB_MQTT__SHARD": f"{i}/2"})
            for i in range(2))  # fmt: skip
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(HubProcess.start, (a, b)))
    listening = [Frames(a), Frames(b)]

    db = PgStateDB(postgres, tmp_path / "setup")
    try:  # declared (as a commander on either worker would record it) so that the initial reports fall due in 6 s,
        started = time.time() - INITIAL_DUE_S + 6.0  # while both workers hold the event and check its deadlines
        ReportStore(db).save_event(DisasterEvent("storm-late", "flood", started, villages, checked_until=started,
                                                 declared_by="cmd"))  # fmt: skip
    finally:
        db.close()

    def announced() -> list[str]:
        return sorted(v for frames in listening for v in frames.overdue())

    deadline = time.monotonic() + 30
    while len(announced()) < len(villages) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3.0)  # both workers have taken the event up and advanced their books several times over by now
    for frames in listening:
        frames.stop.set()
        frames.thread.join(5)
    assert announced() == villages, [f.overdue() for f in listening]  # once each, by one worker or the other
    stored = sorted((d["subject_id"], d["device_id"]) for d in a.get("/api/detections", limit=1000)
                    if d["kind"] == "report_overdue")  # fmt: skip
    assert stored == [(v, "storm-late") for v in villages]
