"""Routine detector on crafted days: inactivity, wake-up, bed, bathroom, night exit; edges and clock jumps."""

from __future__ import annotations

from alerts.care.routine import RoutineDetector
from alerts.detection import Detection
from devices.models import Family, Reading
from devices.topology import DeviceInfo, Room, SensorKind, Topology

T0 = 1_709_222_400.0  # local midnight (UTC+8), day 0
H = 3600.0


def topology(bed: bool = True) -> Topology:
    infos = [DeviceInfo("w", Family.WEARABLE, SensorKind.WEARABLE, "res1", "home1")]
    infos += [DeviceInfo(f"m-{r}", Family.HOME_SENSOR, SensorKind.MOTION, "res1", "home1", r) for r in Room]
    infos.append(DeviceInfo("door", Family.HOME_SENSOR, SensorKind.DOOR, "res1", "home1", Room.HALL))
    if bed:
        infos.append(DeviceInfo("bed", Family.HOME_SENSOR, SensorKind.BED, "res1", "home1", Room.BEDROOM))
    return Topology(infos)


class Home:
    """Drives one detector: records go in, minutes tick, detections are collected."""

    def __init__(self, bed: bool = True) -> None:
        self.det = RoutineDetector(topology(bed))
        self.now = T0
        self.found: list[Detection] = []
        self.worn = True  # the wearable reports every two minutes (no steps)

    def send(self, device: str, ts: float, **values: float) -> None:
        self.run_to(ts)
        self.found += self.det.observe(Reading(device, Family.HOME_SENSOR, ts, 0, values))

    def motion(self, room: str, ts: float) -> None:
        self.send(f"m-{room}", ts, occupancy=1.0)

    def run_to(self, ts: float) -> None:
        while self.now + 60.0 <= ts:
            self.now += 60.0
            if self.worn and self.now % 120 == 0:
                self.found += self.det.observe(Reading("w", Family.WEARABLE, self.now, 0, {"steps": 0.0}))
            self.found += self.det.advance(self.now)

    def kinds(self) -> list[tuple[str, float]]:
        return [(d.kind, d.ts) for d in self.found]


def awake_day(home: Home, day: int = 0, wake: float = 7 * H) -> None:
    """Night in bed from 00:00 (day 0 only), up at `wake`."""
    base = T0 + day * 86_400
    if day == 0:
        home.send("bed", base + 60, bed_occupied=1.0)
    home.send("bed", base + wake, bed_occupied=0.0)
    home.motion(Room.KITCHEN, base + wake + 30)


def busy(home: Home, start: float, end: float) -> None:
    """Motion in the living room every two hours from start to end (absolute times)."""
    t = start
    while t <= end:
        home.motion(Room.LIVING, t)
        t += 2 * H


def test_inactivity_fires_exactly_after_four_daytime_hours() -> None:
    home = Home()
    awake_day(home)
    home.motion(Room.LIVING, T0 + 10 * H)
    home.run_to(T0 + 14 * H - 60)
    assert home.kinds() == []
    home.run_to(T0 + 14 * H)
    assert home.kinds() == [("inactivity", T0 + 14 * H)]
    home.run_to(T0 + 20 * H)
    assert len(home.found) == 1  # one alert until activity resumes


def test_wearable_steps_count_as_activity_but_small_fidgets_do_not() -> None:
    home = Home()
    awake_day(home)
    home.motion(Room.LIVING, T0 + 10 * H)
    home.run_to(T0 + 12 * H)
    home.found += home.det.observe(Reading("w", Family.WEARABLE, T0 + 12 * H, 0, {"steps": 4.0}))
    home.found += home.det.observe(Reading("w", Family.WEARABLE, T0 + 13 * H, 1, {"steps": 5.0}))
    home.run_to(T0 + 16 * H)
    assert home.kinds() == []
    home.run_to(T0 + 17 * H)
    assert home.kinds() == [("inactivity", T0 + 17 * H)]


def test_away_or_in_bed_or_evening_is_not_inactivity() -> None:
    away = Home()
    awake_day(away)
    busy(away, T0 + 9 * H, T0 + 9 * H)
    away.motion(Room.HALL, T0 + 10 * H)
    away.send("door", T0 + 10 * H + 20, contact=0.0)
    away.run_to(T0 + 16 * H)
    assert away.kinds() == []
    napping = Home()
    awake_day(napping)
    busy(napping, T0 + 9 * H, T0 + 12 * H)
    napping.send("bed", T0 + 13 * H, bed_occupied=1.0)  # a nap in bed, shorter than the limit (day one: 4 h)
    napping.run_to(T0 + 16.5 * H)
    assert napping.kinds() == []
    evening = Home()
    awake_day(evening)
    busy(evening, T0 + 9 * H, T0 + 19 * H)
    evening.motion(Room.LIVING, T0 + 20 * H)  # a quiet spell starting at 20:00 is the evening
    evening.run_to(T0 + 26 * H)
    assert evening.kinds() == []


def test_bed_not_left_at_the_default_wake_limit() -> None:
    home = Home()
    busy(home, T0 - 21 * H, T0 - 3 * H)  # installed the day before (its 03:00 is still the routine day before)
    home.send("bed", T0 + 60, bed_occupied=1.0)
    home.run_to(T0 + 10 * H - 60)
    assert home.kinds() == []
    home.run_to(T0 + 16 * H)
    assert home.kinds() == [("bed_not_left", T0 + 10 * H)]  # and no inactivity on top of it


def test_the_installation_day_and_its_night_are_not_judged() -> None:
    home = Home()
    home.motion(Room.KITCHEN, T0 - 10 * H)  # the hub first hears of the home at 14:00
    home.motion(Room.BEDROOM, T0 - 1 * H)  # last seen at 23:00, then nothing for a day (out, no door seen)
    home.run_to(T0 + 22 * H)
    assert home.kinds() == []  # neither "not up" at 10:00 nor inactivity: its evening and night are unknown yet
    home.motion(Room.KITCHEN, T0 + 22 * H)  # back; from now on every silence is judged
    home.send("bed", T0 + 23 * H, bed_occupied=1.0)
    home.run_to(T0 + 86_400 + 10 * H)
    assert home.kinds() == [("bed_not_left", T0 + 86_400 + 10 * H)]
    awake = Home()
    busy(awake, T0 - 10 * H, T0 - 2 * H)
    awake.motion(Room.KITCHEN, T0 + 7 * H)  # the next routine day (from 04:00): judged, day-one limit of 4 h
    awake.run_to(T0 + 11 * H)
    assert awake.kinds() == [("inactivity", T0 + 11 * H)]


def test_no_wakeup_without_a_bed_sensor() -> None:
    home = Home(bed=False)
    home.motion(Room.BEDROOM, T0 + 60)  # turning over in bed is not being up
    home.motion(Room.BEDROOM, T0 + 6 * H)
    home.run_to(T0 + 10 * H)
    assert home.kinds() == [("no_wakeup", T0 + 10 * H)]


def test_wake_time_is_learned() -> None:
    home = Home()
    for day in range(5):
        awake_day(home, day, wake=6 * H)
        busy(home, T0 + day * 86_400 + 8 * H, T0 + day * 86_400 + 20 * H)
        home.motion(Room.BEDROOM, T0 + day * 86_400 + 21 * H)
        home.send("bed", T0 + day * 86_400 + 21 * H + 60, bed_occupied=1.0)
    assert home.det.wake_limit_tod("home1") == 6 * H + 30 + 5400  # median wake + minimum margin
    home.run_to(T0 + 5 * 86_400 + 7.5 * H)
    assert home.kinds() == []
    home.run_to(T0 + 5 * 86_400 + 9 * H)
    assert home.kinds() == [("bed_not_left", T0 + 5 * 86_400 + 7.5 * H + 60)]  # first tick after 07:30:30


def test_bathroom_too_long_once_per_visit() -> None:
    home = Home()
    awake_day(home)
    home.motion(Room.BATHROOM, T0 + 11 * H)
    home.motion(Room.BATHROOM, T0 + 11.5 * H)  # still in there: the visit goes on
    home.run_to(T0 + 11 * H + 75 * 60 - 60)
    assert home.kinds() == []
    home.run_to(T0 + 14 * H)
    assert home.kinds() == [("bathroom_long", T0 + 11 * H + 75 * 60)]


def test_data_gap_restarts_the_bathroom_timer() -> None:
    home = Home()
    awake_day(home)
    home.motion(Room.BATHROOM, T0 + 11 * H)  # then a network outage: nothing arrives for 70 min
    home.worn = False
    home.run_to(T0 + 12 * H + 600)
    home.worn = True
    assert home.kinds() == []  # stale data: no verdict
    home.send("bed", T0 + 12 * H + 600, battery=80.0)  # data resumes: the visit is timed from here
    home.run_to(T0 + 12 * H + 600 + 75 * 60 - 60)
    assert home.kinds() == []
    home.run_to(T0 + 12 * H + 600 + 75 * 60)
    assert home.kinds() == [("bathroom_long", T0 + 12 * H + 600 + 75 * 60)]


def test_short_bathroom_visits_are_learned_and_not_alerted() -> None:
    home = Home()
    awake_day(home)
    for k in range(25):
        t = T0 + 8 * H + k * 1200
        home.motion(Room.BATHROOM, t)
        home.motion(Room.KITCHEN, t + 600)
    assert home.det.bathroom_limit_s("home1") == 45 * 60  # 2 x 10 min, raised to the lower bound
    assert home.kinds() == []


def test_night_exit_without_return() -> None:
    home = Home()
    awake_day(home)
    busy(home, T0 + 9 * H, T0 + 21 * H)
    home.send("bed", T0 + 22 * H, bed_occupied=1.0)
    home.send("bed", T0 + 23.5 * H, bed_occupied=0.0)
    home.motion(Room.HALL, T0 + 23.5 * H + 30)
    home.send("door", T0 + 23.5 * H + 60, contact=0.0)
    home.run_to(T0 + 24 * H)
    assert home.kinds() == []
    home.run_to(T0 + 26 * H)
    assert home.kinds() == [("night_exit", T0 + 24 * H + 60)]  # 30 min after the door opened


def test_night_exit_with_return_is_quiet() -> None:
    home = Home()
    awake_day(home)
    busy(home, T0 + 9 * H, T0 + 21 * H)
    home.send("door", T0 + 22.5 * H, contact=0.0)  # taking out the rubbish
    home.motion(Room.HALL, T0 + 22.5 * H + 600)
    home.run_to(T0 + 25 * H)
    assert home.kinds() == []


def test_clock_jump_backwards_resets_the_picture() -> None:
    home = Home()
    awake_day(home)
    home.motion(Room.BATHROOM, T0 + 11 * H)
    home.det.observe(Reading("m-kitchen", Family.HOME_SENSOR, T0 + 8 * H, 0, {"occupancy": 0.0}))  # 3 h back
    home.run_to(T0 + 13 * H)
    assert home.kinds() == []


def test_unknown_devices_are_ignored() -> None:
    det = RoutineDetector(topology())
    assert det.observe(Reading("x", Family.HOME_SENSOR, T0, 0, {"occupancy": 1.0})) == []
    assert det.advance(T0 + 86_400) == []


def test_a_late_riser_moves_the_wake_limit_later_while_learning_but_not_past_the_latest() -> None:
    home = Home()
    home.worn = False
    home.motion(Room.KITCHEN, T0 + 11.5 * H)  # the hub first hears of this home at 11:30
    assert home.det.wake_limit_tod("home1") == 11.5 * H + 5400  # later than the default 10:00 already
    busy(home, T0 + 12 * H, T0 + 20 * H)
    home.send("bed", T0 + 21 * H, bed_occupied=1.0)
    home.send("bed", T0 + 86_400 + 11.5 * H, bed_occupied=0.0)
    home.motion(Room.KITCHEN, T0 + 86_400 + 11.5 * H + 30)  # and up at 11:30 the next day: no call at 10:00
    busy(home, T0 + 86_400 + 12 * H, T0 + 86_400 + 20 * H)
    home.send("bed", T0 + 86_400 + 21 * H, bed_occupied=1.0)
    home.run_to(T0 + 2 * 86_400 + 12.9 * H)
    assert home.kinds() == []  # day three, still in bed at 12:54: no call yet
    early = Home()
    for day in range(2):  # up at 06:00: the default holds while learning (never earlier on so few days)
        awake_day(early, day, wake=6 * H)
        busy(early, T0 + day * 86_400 + 8 * H, T0 + day * 86_400 + 20 * H)
        early.send("bed", T0 + day * 86_400 + 21 * H, bed_occupied=1.0)
    assert early.det.wake_limit_tod("home1") == 10 * H
    late = Home()
    late.worn = False
    late.motion(Room.KITCHEN, T0 + 16 * H)  # first activity at 16:00 is coming home, not a wake-up
    assert late.det.wake_limit_tod("home1") == 10 * H
