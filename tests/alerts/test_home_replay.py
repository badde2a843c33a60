"""A home in the shared layout replayed through the routine detector: registration as the layout says, the learned
rhythm (per sensor and time of day, doors learned), explanations, scoring; the dev home's targets (dataset)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tiny_home import at, night_bath, write_home

from alerts.care.rhythm import BATHROOM, EXIT, HOME, HomeRhythm, RhythmSettings
from alerts.detection import Detection, Severity
from alerts.eval import home_replay as hr
from devices.topology import Room, SensorKind
from hub import cli_evaluate_routine

DEV = Path(__file__).resolve().parents[2].parent / "shared/datasets/homes-dev/house-b"
needs_dev = pytest.mark.skipif(not DEV.is_dir(), reason=f"homes-dev set not found at {DEV}")
H = 3600.0


def test_sensors_are_registered_as_the_layout_describes(tmp_path: Path) -> None:
    layout = hr.load_home(write_home(tmp_path / "h", days=1, extra_sensor=True))
    layout.sensors.extend(hr.unknown_sensors(layout))
    topo = hr.topology(layout.sensors)
    kinds = {d.device_id: (d.kind, d.room) for d in topo}
    assert kinds["pir_kit"] == (SensorKind.MOTION, "kitchen")
    assert kinds["front"] == (SensorKind.DOOR, Room.HALL)  # the front door
    assert kinds["in_door"] == (SensorKind.ACTIVITY, "bedroom")  # an inner door is not a way out
    assert kinds["mat"] == (SensorKind.BED, "bedroom")
    assert kinds["flush"] == (SensorKind.ACTIVITY, Room.BATHROOM)  # the toilet counts as the bathroom
    assert kinds["S99"] == (SensorKind.ACTIVITY, "")  # fires but not described: activity of an unknown room
    assert layout.events[0].utc_offset_s == 8 * H


def test_replay_catches_spliced_silences_without_false_alerts(tmp_path: Path) -> None:
    cuts = [(at(5, 11.0), at(5, 19.0), "day_collapse"),
            (at(7, night_bath(7) + 1 / 3600), at(7, night_bath(7) + 8), "night_bathroom")]
    root = write_home(tmp_path / "h", days=8, silences=cuts)
    t0 = time.perf_counter()
    result = cli_evaluate_routine.evaluate(root)
    assert time.perf_counter() - t0 < 10
    assert result["caught"] == 2 and result["false_alerts"] == 0, result
    assert result["latency_median_h"] <= 3.0
    why = [a["why"] for a in result["alerts"]]
    assert all("小时无动静" in w and "最多应为" in w for w in why), why  # the hub's language, zh-CN by default
    assert "pir_bath（卫生间）以来" in why[1]


def test_labels_are_never_read_by_the_replay(tmp_path: Path) -> None:
    cuts = [(at(5, 11.0), at(5, 19.0), "day_collapse")]
    with_labels = write_home(tmp_path / "a", days=7, silences=cuts)
    without = write_home(tmp_path / "b", days=7, silences=cuts, labels=False)
    (with_labels / "labels.csv").write_text("start,end,kind\n2024-03-02T09:00:00+08:00,2024-03-02T17:00:00+08:00,x\n")
    a = cli_evaluate_routine.evaluate(with_labels)
    b = cli_evaluate_routine.evaluate(without)
    assert a["alerts"] == b["alerts"] and a["days"] == b["days"]
    assert "caught" in a and "caught" not in b  # labels only score
    assert a["false_alerts"] == len(a["alerts"])


def test_score_caught_latency_and_false_alerts() -> None:
    def det(ts: float) -> Detection:
        return Detection("routine", "inactivity", "r", "", ts, Severity.WARNING)

    labels = [hr.Label(1000.0, 1000.0 + 8 * H, "day_collapse"), hr.Label(100 * H, 108 * H, "night_bathroom")]
    result = hr.score(labels, [det(500.0), det(1000.0 + 2 * H), det(1000.0 + 3 * H), det(200 * H)], days=15.0)
    assert result["caught"] == 1 and result["emergencies"] == 2
    assert result["latency_median_h"] == 2.0
    assert result["false_alerts"] == 2 and result["false_alerts_per_home_month"] == 4.0
    assert result["per_emergency"][1] == {"start": hr.iso(100 * H), "kind": "night_bathroom", "caught": False,
                                          "latency_h": None}


def test_rhythm_learns_per_sensor_and_time_of_day() -> None:
    r = HomeRhythm(RhythmSettings(lone_gap_s=float("inf")))  # its nights of 19 h would make lone signs
    day = 86_400.0
    for d in range(10):  # after the kitchen at 12:00 quiet up to an hour; after the sofa at 14:00, three hours
        r.sign(d * day + 12 * H, 12 * H, "kitchen", HOME)
        r.sign(d * day + 13 * H, 13 * H, "kitchen", HOME)
        r.sign(d * day + 14 * H, 14 * H, "sofa", HOME)
        r.sign(d * day + 17 * H, 17 * H, "kitchen", HOME)
    r.sign(10 * day + 12 * H, 12 * H, "kitchen", HOME)
    kitchen = r.expectation(wake_limit_tod=10 * H)
    assert kitchen.basis == "sensor" and kitchen.limit_s == 2 * H  # 1 h x 1.5, raised to the floor
    r.sign(10 * day + 14 * H, 14 * H, "sofa", HOME)
    sofa = r.expectation(wake_limit_tod=10 * H)
    assert sofa.basis == "sensor" and sofa.limit_s == pytest.approx(4.5 * H) and sofa.typical_s == 3 * H
    fresh = HomeRhythm(RhythmSettings(day_default_s=4 * H))
    fresh.sign(12 * H, 12 * H, "kitchen", HOME)
    assert fresh.expectation(10 * H).basis == "default" and fresh.expectation(10 * H).limit_s == 4 * H
    fresh.sign(15 * H, 15 * H, "kitchen", HOME)
    fresh.sign(19 * H, 19 * H, "kitchen", HOME)
    fresh.sign(23 * H, 23 * H, "kitchen", HOME)  # the night: until the wake-up limit plus two hours
    assert fresh.expectation(7 * H).limit_s == 10 * H
    fresh.sign(day + 3 * H, 3 * H, "toilet", BATHROOM)  # a night visit to the bathroom: back in bed soon
    assert fresh.expectation(7 * H).limit_s == 1.5 * H


def test_a_door_the_layout_does_not_name_is_learned_and_leaving_is_told_from_coming_home() -> None:
    r = HomeRhythm(RhythmSettings())
    day = 86_400.0
    for d in range(4):  # leaves by "s4" at 10:00, back by "s4" at 14:00; the kitchen fires all day otherwise
        for k in range(20):
            r.sign(d * day + 8 * H + k * 300, 8 * H + k * 300, "kitchen", HOME)
        r.sign(d * day + 10 * H, 10 * H, "s4", HOME)
        r.sign(d * day + 14 * H, 14 * H, "s4", HOME)
        for k in range(20):
            r.sign(d * day + 14 * H + 60 + k * 300, 14 * H + 60 + k * 300, "kitchen", HOME)
    assert r.exit_like("s4") and not r.exit_like("kitchen")
    r.sign(5 * day + 9 * H, 9 * H, "kitchen", HOME)
    r.sign(5 * day + 9 * H + 60, 9 * H + 60, "s4", HOME)  # leaving: the home goes quiet right after the door
    assert r.away() and r.expectation(10 * H).limit_s == float("inf")
    r.sign(5 * day + 12 * H, 12 * H, "s4", HOME)  # coming home after three quiet hours...
    r.sign(5 * day + 12 * H + 120, 12 * H + 120, "kitchen", HOME)  # ...then quiet at home: not away
    assert not r.away()


def test_an_alerted_silence_teaches_little(tmp_path: Path) -> None:
    r = HomeRhythm(RhythmSettings(alerted_learn_x=2.0))
    r.sign(12 * H, 12 * H, "kitchen", HOME)
    r.alert_cap = 2 * H
    r.sign(22 * H, 22 * H, "kitchen", HOME)  # ten hours, but an alert fired at two: learned as four
    assert [s[1] for s in r.samples] == [4 * H]


@pytest.mark.dataset
@needs_dev
@pytest.mark.timeout(120)
def test_dev_home_catches_every_emergency_in_hours(capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.perf_counter()
    assert cli_evaluate_routine.main([str(DEV), "--json"]) == 0
    assert time.perf_counter() - t0 < 60
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["emergencies"] == 5 and result["caught"] == 5
    assert result["latency_median_h"] <= 3.0
    assert 26.5 < result["days"] < 27.5
    # issue 21's target: <= 2 false alerts per home-month (the plain 4-hour rule: 19 = 21); measured 1 = 1.11
    assert result["false_alerts_per_home_month"] <= 2.0


def test_steps_outside_do_not_turn_coming_home_into_leaving() -> None:
    r = HomeRhythm(RhythmSettings())
    r.sign(10 * H, 10 * H, "hall", HOME)
    r.sign(10 * H + 20, 10 * H + 20, "front", "exit")  # leaving...
    for k in range(1, 30):  # ...walking outside with the watch
        r.sign(10 * H + k * 240, 10 * H + k * 240, "watch", HOME, worn=True)
    r.sign(12 * H, 12 * H, "front", "exit")  # back
    r.sign(12 * H + 30, 12 * H + 30, "living", HOME)  # then still on the sofa: at home, judged as silence
    assert not r.away() and r.expectation(7 * H).limit_s < float("inf")


def test_one_burst_after_a_day_of_nothing_is_not_a_silence_to_judge() -> None:
    r = HomeRhythm(RhythmSettings())
    r.sign(10 * H, 10 * H, "kitchen", HOME)
    r.sign(40 * H, 16 * H, "bath_pir", BATHROOM)  # 30 h of nothing, then one sensor once (a glitch, an outage)
    r.sign(40 * H + 2, 16 * H, "bath_pir", BATHROOM)  # the same burst
    assert r.unconfirmed() and r.expectation(8 * H).limit_s == float("inf")
    r.sign(40 * H + 300, 16 * H + 300, "bath_pir", BATHROOM)  # moving about minutes later: someone is there
    assert not r.unconfirmed() and r.expectation(8 * H).limit_s < 3 * H


def test_an_evening_silence_that_runs_into_the_night_is_judged_as_sleep() -> None:
    r = HomeRhythm(RhythmSettings(lone_gap_s=float("inf")))
    for d in range(10):  # quiet for an hour at a time in the afternoon and the evening
        for h in (15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0):
            r.sign(d * 86_400 + h * H, h * H, "kitchen", HOME)
    r.sign(10 * 86_400 + 15 * H, 15 * H, "kitchen", HOME)
    assert r.expectation(8 * H).limit_s == 2 * H  # the afternoon: the floor
    r.sign(10 * 86_400 + 17 * H, 17 * H, "kitchen", HOME)
    r.sign(10 * 86_400 + 19 * H, 19 * H, "kitchen", HOME)
    assert r.expectation(8 * H).limit_s == 6 * H  # 19:00 + 2 h is the night: maybe asleep, a short night


def test_a_lone_sign_after_a_silence_beyond_its_limit_is_not_yet_someone_home() -> None:
    r = HomeRhythm(RhythmSettings())
    r.sign(8 * H, 8 * H, "kitchen", HOME)
    r.sign(10 * H, 10 * H, "kitchen", HOME)
    assert r.expectation(7 * H).limit_s == 3 * H  # day one, at home in the day
    r.sign(20 * H, 20 * H, "kitchen", HOME)  # ten hours later (out, no door seen): one burst of one sensor
    r.sign(20 * H + 4, 20 * H, "kitchen", HOME)
    assert r.unconfirmed() and r.expectation(7 * H).limit_s == float("inf")
    r.sign(20 * H + 90, 20 * H + 90, "bath_pir", BATHROOM)  # moving about: someone is home, judged again
    assert not r.unconfirmed() and r.expectation(7 * H).limit_s < float("inf")
    within = HomeRhythm(RhythmSettings())
    within.sign(8 * H, 8 * H, "kitchen", HOME)
    within.sign(10 * H, 10 * H, "kitchen", HOME)
    assert within.expectation(7 * H).limit_s == 3 * H
    within.sign(12.5 * H, 12.5 * H, "kitchen", HOME)  # a quiet spell within the limit: the sign is someone there
    assert not within.unconfirmed() and within.expectation(7 * H).limit_s == 3 * H
    alerted = HomeRhythm(RhythmSettings())
    alerted.sign(10 * H, 10 * H, "kitchen", HOME)
    alerted.alert_cap = 3 * H  # the detector raised an alert on this silence
    alerted.sign(14 * H, 14 * H, "kitchen", HOME)
    assert alerted.unconfirmed()


def test_where_the_front_door_works_no_other_sensor_is_learned_as_a_door() -> None:
    day = 86_400.0

    def days(r: HomeRhythm, door: bool) -> None:
        for d in range(5):  # the hall door on the way to bed and back begins and ends every night's silence
            for k in range(40):
                if door and k == 20:  # the front door, opened now and then
                    r.sign(d * day + 8 * H + k * 1200 - 600, 8 * H + k * 1200 - 600, "front", EXIT)
                r.sign(d * day + 8 * H + k * 1200, 8 * H + k * 1200, "kitchen", HOME)
            r.sign(d * day + 22 * H, 22 * H, "hall_door", HOME)
            r.sign(d * day + 31 * H, 7 * H, "hall_door", HOME)

    unsensed = HomeRhythm(RhythmSettings())
    days(unsensed, door=False)
    assert not unsensed.exit_like("hall_door")  # no door seen, but it brackets nights: the way to bed, not out
    for d in range(5, 9):  # ...and afternoons too, from 14:00 to 18:00: the way out
        for k in range(16):
            unsensed.sign(d * day + 8 * H + k * 1200, 8 * H + k * 1200, "kitchen", HOME)
        unsensed.sign(d * day + 14 * H, 14 * H, "hall_door", HOME)
        unsensed.sign(d * day + 18 * H, 18 * H, "hall_door", HOME)
    assert unsensed.exit_like("hall_door")
    sensed = HomeRhythm(RhythmSettings())
    days(sensed, door=True)
    assert not sensed.exit_like("hall_door")  # the front door works: the hall door is the way to bed
    sensed.sign(5 * day + 10 * H, 10 * H, "kitchen", HOME)
    sensed.sign(5 * day + 10 * H + 90, 10 * H + 90, "hall_door", HOME)  # passing the hall door, then silent
    assert not sensed.away() and sensed.expectation(9 * H).limit_s < float("inf")  # judged: not out


@pytest.mark.parametrize("door_silent", [False, True])
def test_night_bathroom_collapses_are_caught_where_the_bedroom_door_brackets_the_nights(
        tmp_path: Path, door_silent: bool) -> None:
    # no bed mat: the hall-bedroom door begins and ends every night, like a door out. Where the front door works, no
    # sensor is learned as a door; where it is silent, silences of a night's sleep do not count towards one. Either
    # way a night's silence is sleep at home, judged (before: every night looked like an absence, 18/40 splices caught)
    cuts = [(at(d, night_bath(d) + 1 / 3600), at(d, night_bath(d) + 8), "night_bathroom") for d in (6, 10, 14)]
    cuts.append((at(18, 11.0), at(18, 19.0), "day_collapse"))
    root = write_home(tmp_path / "h", days=21, silences=cuts, contacts_only=True, door_silent=door_silent)
    result = cli_evaluate_routine.evaluate(root)
    assert result["caught"] == 4, result
    assert result["false_alerts"] <= (1 if door_silent else 0), result  # an outing no door saw: a silence at home
    assert result["latency_median_h"] <= 3.0
