"""The splicer: emergencies cut into a home the dev set's way, deterministic for a seed."""

from __future__ import annotations

import itertools
from pathlib import Path

from tiny_home import write_home

from alerts.eval import home_replay as hr
from alerts.eval import home_splice as hs

H = 3600.0


def _tod(ts: float, off: float) -> float:
    return (ts + off) % 86_400.0


def test_splices_follow_the_rules_and_repeat_for_a_seed(tmp_path: Path) -> None:
    src = write_home(tmp_path / "src", days=20)
    a = hs.splice_home(src, tmp_path / "a", seed=3, count=4)
    b = hs.splice_home(src, tmp_path / "b", seed=3, count=4)
    c = hs.splice_home(src, tmp_path / "c", seed=4, count=4)
    assert a == b and a != c
    assert len(a) == 4 and {s.kind for s in a} == {"day_collapse", "night_bathroom"}
    events = list(hr.read_events(src))
    sensors = {s.sensor_id: s for s in hr.read_sensors(src)}
    off = events[0].utc_offset_s
    first_day = int((events[0].ts + off) // 86_400)
    days = sorted(int((s.start + off) // 86_400) for s in a)
    assert days[0] >= first_day + 3 and all(y - x >= 3 for x, y in itertools.pairwise(days))
    for s in a:
        assert s.end - s.start == 8 * H
        before = [e for e in events if e.ts < s.start]
        if s.kind == "day_collapse":
            assert 9 * H <= _tod(s.start, off) < 16 * H
            assert s.start - before[-1].ts <= 1800  # at home: a sensor in the 30 minutes before
            assert not any(sensors[e.sensor_id].front_door and s.start - e.ts <= H for e in before)
        else:
            last = before[-1]
            assert _tod(s.start, off) < 5 * H and s.start - last.ts == 1.0
            assert last.value == 1 and sensors[last.sensor_id].room in ("bathroom", "toilet")
    spliced = list(hr.read_events(tmp_path / "a"))
    assert not any(s.start <= e.ts < s.end for e in spliced for s in a)
    assert len(spliced) < len(events)
    labels = hr.read_labels(tmp_path / "a")
    assert labels is not None and [(lab.start, lab.kind) for lab in labels] == [(s.start, s.kind) for s in a]


def test_the_source_labels_are_kept_and_avoided(tmp_path: Path) -> None:
    from tiny_home import at

    src = write_home(tmp_path / "src", days=16, silences=[(at(8, 11.0), at(8, 19.0), "day_collapse")])
    new = hs.splice_home(src, tmp_path / "dst", seed=1, count=3)
    labels = hr.read_labels(tmp_path / "dst")
    assert labels is not None and len(labels) == len(new) + 1
    off = 8 * H
    assert all(abs(int((s.start + off) // 86_400) - int((labels[0].start + off) // 86_400)) >= 3 for s in new
               if s.start != labels[0].start)


def test_evening_and_back_home_collapses_to_tune_on(tmp_path: Path) -> None:
    src = write_home(tmp_path / "src", days=16)
    events = list(hr.read_events(src))
    sensors = hr.read_sensors(src)
    off = events[0].utc_offset_s
    evening = hs.candidates(events, sensors, "evening_collapse")
    assert evening and all(16 * H <= _tod(t, off) < 22 * H for t in evening)
    back = hs.candidates(events, sensors, "back_collapse")  # the tiny home comes back at 16:30 every other day
    assert back and all(16.5 * H <= _tod(t, off) < 16.5 * H + 600 for t in back)
    new = hs.splice_home(src, tmp_path / "dst", seed=2, count=3, kinds=("evening_collapse", "back_collapse"))
    assert {s.kind for s in new} == {"evening_collapse", "back_collapse"}
