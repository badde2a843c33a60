"""Evacuation list on a fixture community: inside the area, vulnerable first; tasks; relocated counts."""

from __future__ import annotations

import pytest

from alerts.disaster.cap import Circle, Polygon
from alerts.disaster.warnings import WarningLevel
from devices.records import Village
from dispatch.disaster.evacuation import Resident, TaskBoard, TransitionError, needs_of, residents_in_area
from dispatch.disaster.village_area import village_area

NOW = 1_783_000_000.0
AREA = Polygon.of([(30.00, 120.00), (30.00, 120.10), (30.10, 120.10), (30.10, 120.00)])
COMMUNITY = [
    Resident("r-plain", "v1", 30.05, 120.05),
    Resident("r-alone", "v1", 30.06, 120.05, lives_alone=True),
    Resident("r-mobility", "v1", 30.07, 120.05, limited_mobility=True),
    Resident("r-vitals", "v2", 30.08, 120.05, abnormal_vitals=True),
    Resident("r-alone-mobility", "v2", 30.09, 120.05, lives_alone=True, limited_mobility=True),
    Resident("r-outside", "v3", 30.20, 120.05, lives_alone=True),
    Resident("r-visiting", "v3", 30.30, 120.30, lives_alone=True, gps=(30.02, 120.02, NOW - 600)),
    Resident("r-stale-fix", "v3", 30.30, 120.30, gps=(30.02, 120.02, NOW - 7200)),
    Resident("r-away", "v1", 30.03, 120.03, gps=(31.0, 121.0, NOW - 60)),
]


def test_list_inside_area_prioritised() -> None:
    entries = residents_in_area(COMMUNITY, AREA, NOW)
    assert [e.resident.resident_id for e in entries] == [
        "r-alone-mobility",
        "r-vitals",
        "r-mobility",
        "r-visiting",
        "r-alone",
        "r-plain",
        "r-away",
    ]  # fmt: skip (ties broken by flag kind, then distance from where they are now)
    where = {e.resident.resident_id: e.located_by for e in entries}
    assert where["r-visiting"] == "gps" and where["r-away"] == "home" and where["r-plain"] == "home"
    away = next(e for e in entries if e.resident.resident_id == "r-away")
    assert (away.lat, away.lon) == (31.0, 121.0)  # home is in the area, but the wearable says where they are


def test_circle_area() -> None:
    entries = residents_in_area(COMMUNITY, Circle(30.05, 120.05, 1.2), NOW)
    assert [e.resident.resident_id for e in entries] == ["r-alone", "r-plain"]  # 30.06 is 1.11 km north


def test_tasks_states_and_relocated_counts() -> None:
    board = TaskBoard()
    entries = residents_in_area(COMMUNITY, AREA, NOW)
    tasks = board.create("w1", entries, WarningLevel.YELLOW, NOW)
    assert {t.kind for t in tasks} == {"check_on"} and len(tasks) == 7
    board.move("w1:r-plain", "contacted", NOW + 60)
    board.move("w1:r-plain", "confirmed_safe", NOW + 120)
    with pytest.raises(TransitionError):
        board.move("w1:r-plain", "open", NOW + 130)
    board.move("w1:r-vitals", "relocated", NOW + 140)
    # The warning rises to orange: check-ons become evacuations, the relocated one stays closed.
    tasks = board.create("w1", entries, WarningLevel.ORANGE, NOW + 600)
    assert len(board.tasks) == 7 and {t.kind for t in tasks if t.state != "relocated"} == {"evacuate"}
    assert board.tasks["w1:r-plain"].state == "open" and board.tasks["w1:r-vitals"].state == "relocated"
    for rid in ("r-alone", "r-mobility", "r-alone-mobility"):
        board.move(f"w1:{rid}", "relocated", NOW + 900)
    assert board.relocated_by_village() == {"v1": 2, "v2": 2}
    assert sorted(board.confirmed_safe("w1")) == ["r-alone", "r-alone-mobility", "r-mobility", "r-vitals"]
    assert [t.resident_id for t in board.outstanding("w1")] == ["r-visiting", "r-plain", "r-away"]


def test_a_villages_proposed_area_is_its_own_polygon_not_a_circle() -> None:
    """Issue 14: two villages 3 km apart get polygons that meet half-way and do not overlap (no one is on two
    lists); away from the neighbour the area reaches the full radius."""
    a = Village("VA", "A", "t", "c", 28.0, 113.0)
    b = Village("VB", "B", "t", "c", 28.0 + 3 / 110.574, 113.0)  # 3 km north
    pa, pb = village_area(a, [a, b], 2.0), village_area(b, [a, b], 2.0)
    km = 1 / 110.574
    assert pa.contains(28.0 + 1.4 * km, 113.0) and not pb.contains(28.0 + 1.4 * km, 113.0)
    assert pb.contains(28.0 + 1.6 * km, 113.0) and not pa.contains(28.0 + 1.6 * km, 113.0)
    assert pa.contains(28.0 - 1.9 * km, 113.0) and not pa.contains(28.0 - 2.1 * km, 113.0)  # the radius southward
    ids = lambda area: {e.resident.resident_id for e in residents_in_area(COMMUNITY, area, NOW)}  # noqa: E731
    far = Circle(30.30, 120.30, 0.5)  # where r-stale-fix lives (outside AREA)
    assert ids((AREA, far)) == ids(AREA) | ids(far) and "r-stale-fix" in ids((AREA, far))  # a warning's shapes


def test_needs_read_from_the_registry() -> None:
    assert needs_of(True, True, "轻度认知障碍、慢阻肺") == ["lives_alone", "wheelchair", "dementia", "oxygen"]
    assert needs_of(False, False, "高血压、糖尿病") == []
    assert needs_of(False, False, "Home oxygen; Alzheimer") == ["dementia", "oxygen"]
