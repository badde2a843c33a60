"""Issue 14: CAP drafts live in the state database (SQLite and PostgreSQL): two workers over one database list the
same drafts, a decision taken on one is final on the other, and a restarted centre neither loses a pending draft nor
drafts the same level change again."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from command_path import STEP_S, T0, V01, V02, feed

from devices.statedb.sqlite import StateDB
from dispatch.disaster.areas import Site
from dispatch.disaster.command import CommandCentre, DraftError
from dispatch.disaster.drafts import APPROVED, PENDING, SUPERSEDED, DraftEdits
from dispatch.disaster.feed import CommandFeed
from dispatch.disaster.store import CommandStore

SITES = {
    "T001": Site("T001", "river_gauge", "V01", 28.10, 112.965),
    "T002": Site("T002", "river_gauge", "V02", 28.20, 112.965),
}


def worker(db: StateDB) -> tuple[CommandCentre, CommandFeed]:
    cc = CommandCentre({"V01": V01, "V02": V02}, dict(SITES), {})
    cc.restore(CommandStore(db))
    return cc, CommandFeed(cc)


def test_two_workers_list_and_decide_the_same_drafts(open_db: Callable[[], StateDB]) -> None:
    a, fa = worker(open_db())
    b, fb = worker(open_db())
    feed(a, fa, "T001", T0, river_level_m=32.6)  # worker a owns T001, worker b T002 (shards)
    feed(b, fb, "T002", T0 + 1, river_level_m=34.5)
    ids_a = [(d.area, d.level.colour, d.status) for d in a.drafts.pending()]
    assert ids_a == [("V01", "yellow", PENDING), ("V02", "red", PENDING)]
    assert [d.draft_id for d in b.drafts.pending()] == [d.draft_id for d in a.drafts.pending()]
    v01 = a.drafts.pending()[0]
    _, w = b.approve(v01.draft_id, "cmd", DraftEdits(headline="一号村黄色预警"), T0 + 60)
    assert w.headline == "一号村黄色预警" and w.msg_type == "Alert"
    with pytest.raises(DraftError, match="approved already") as refused:  # decided on the other worker
        a.approve(v01.draft_id, "cmd2", DraftEdits(), T0 + 61)
    assert refused.value.status == 409
    seen = a.drafts.get(v01.draft_id)
    assert seen is not None and (seen.status, seen.decided_by, seen.identifier) == (APPROVED, "cmd", w.identifier)
    assert seen.edits == {"headline": "一号村黄色预警"}
    for step in (1, 2):  # V02 drops to orange (after the hold time) before anyone decided on red
        feed(b, fb, "T002", T0 + step * STEP_S, river_level_m=33.2)
    v02 = [d for d in a.drafts.history() if d.area == "V02"]
    assert [d.status for d in v02] == [SUPERSEDED]
    (pending,) = a.drafts.pending()
    assert pending.area == "V02" and pending.level.colour == "orange"


def test_a_restarted_centre_keeps_pending_drafts_and_drafts_nothing_twice(open_db: Callable[[], StateDB]) -> None:
    cc, fd = worker(open_db())
    feed(cc, fd, "T001", T0, river_level_m=32.6)
    (draft,) = cc.drafts.pending()
    again, fd2 = worker(open_db())  # as after kill -9: the gauge's state and the draft come back
    assert [d.draft_id for d in again.drafts.pending()] == [draft.draft_id]
    feed(again, fd2, "T001", T0 + 60, river_level_m=32.7)  # the same level: no second draft
    assert [d.draft_id for d in again.drafts.pending()] == [draft.draft_id]
    assert again.alerts.active(T0 + 60) == []
    _, w = again.approve(draft.draft_id, "cmd", DraftEdits(), T0 + 120)
    assert [x.identifier for x in again.alerts.active(T0 + 120)] == [w.identifier]
