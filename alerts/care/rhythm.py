"""A home's own rhythm of silences, learned online: how long this home is usually quiet after a given sensor at a
given time of day, so that a silence is judged against what this home does (sleep, a nap, times away) and not
against one fixed number of hours.

Every sign of life (a sensor a person works: motion seen, a door, the bed, a cupboard, the flush, steps) ends a
silence. Silences of at least `min_silence_s` are remembered with their context: the sensor that fired last, its
zone (bed, bathroom, exit, home) and the time of day the silence began. While the home is quiet, the limit of the
current silence is a high quantile of the silences that began in the same context (the same sensor within
`window_s` of the same time of day; with too few of those, the same zone; with too few again, the defaults), times
a margin, within bounds. On day one the defaults hold: a few hours in the day, the night until the wake-up limit,
a short while after a night visit to the bathroom, no limit after the front door (away). A silence that raised an
alert is learned only up to the limit it broke, so an emergency does not teach the home that such silences are
normal. After a silence that went past its limit (or a very long one), the first burst of signs is a return seen by
one sensor: the silence after it is judged only once a second sign shows someone moving about. A sensor that begins
or ends long silences of the day far more than others is learned as a way out, but only where the registered front
door is not seen working, and never from a night's sleep (the bedroom's door of a bed without a mat).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

DAY_S = 86_400.0
NEG = float("-inf")

BED, BATHROOM, EXIT, HOME = "bed", "bathroom", "exit", "home"


@dataclass
class RhythmSettings:
    """How silences are learned and judged (times of day in seconds after local midnight)."""

    min_silence_s: float = 900.0  # shorter gaps are moving about, not silences worth learning
    window_s: float = 2 * 3600.0  # a silence is compared with those that began this close in the time of day
    min_samples: int = 6  # a context needs this many learned silences before it replaces the broader one
    quantile: float = 1.0
    ignore_top: int = 1  # the longest silences of a context left out (one emergency must not teach it)
    margin: float = 1.5
    floor_s: float = 2 * 3600.0  # never sooner: a quiet hour or two at home is ordinary anywhere
    bathroom_floor_s: float = 5400.0
    cap_s: float = 24 * 3600.0  # never later
    day_default_s: float = 3 * 3600.0  # day one, awake at home
    bathroom_default_s: float = 5400.0  # day one, after the bathroom at night or in the day
    night_start_tod_s: float = 20 * 3600.0  # a silence beginning in the night, in bed or at home, is sleep...
    night_end_tod_s: float = 6 * 3600.0
    evening_tod_s: float = 16 * 3600.0  # a silence beginning after this that runs into the night may be sleep...
    evening_sleep_s: float = 6 * 3600.0  # ...so it is given this long at least (or until the wake-up limit)
    wake_extra_s: float = 2 * 3600.0  # ...until the wake-up limit plus this (the wake-up rule speaks first)
    history: int = 4000  # learned silences kept per home (about a year)
    exit_long_s: float = 2 * 3600.0  # a sensor of the home zone that begins or ends silences this long...
    exit_rate: float = 0.05  # ...this often per time it fires (at least `exit_min` times) acts as the front door
    exit_min: int = 3
    alerted_learn_x: float = 2.0  # a silence that raised an alert is learned up to this times the limit it broke
    exit_window_s: float = 600.0  # a silence that begins this soon after leaving by a door is time away...
    arrive_gap_s: float = 1200.0  # ...but a door after this long a silence is a return, not leaving
    morning_end_tod_s: float = 12 * 3600.0  # a long silence begun in the night and ended before this is sleep
    lone_gap_s: float = 12 * 3600.0  # a sign after a silence this long (the home empty, or its sensors down)...
    confirm_s: float = 60.0  # ...shows someone home only once another sign follows, this long after it


@dataclass(frozen=True, slots=True)
class Expectation:
    """The limit of the current silence and where it comes from (for the alert's explanation)."""

    limit_s: float
    basis: str  # "sensor", "zone" or "default"
    samples: int  # learned silences the limit rests on
    typical_s: float  # the quantile of those silences (0 for the defaults)


@dataclass(frozen=True, slots=True)
class Silence:
    """One learned silence: when it ended (the sign that ended it), the time of day it began, its length, and the
    sensor and zone of the sign that began it."""

    end_ts: float
    tod: float
    length: float
    sensor: str
    zone: str


def _num(ts: float) -> float | None:
    return None if ts == NEG else ts


def _ts(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else NEG  # null: never


def zone_of(kind: str, room: str) -> str:
    """The zone of a sensor for the rhythm: bed, bathroom, exit (the front door) or the rest of the home."""
    if kind == "door":
        return EXIT
    if kind == "bed" or room == "bedroom":
        return BED
    if room in ("bathroom", "toilet"):
        return BATHROOM
    return HOME


def _near(samples: Iterable[tuple[float, float]], tod: float, window: float) -> list[float]:
    """Lengths of the silences that began within `window` of a time of day (either side, across midnight)."""
    far = DAY_S - window
    return [length for t, length in samples if (d := abs(t - tod)) <= window or d >= far]


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile of a non-empty list."""
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


class HomeRhythm:
    """The learned silences of one home and the context of the current one."""

    __slots__ = ("_by_sensor", "_by_zone", "_cache", "_departing", "_door_ts", "_fixed_ts", "_s", "alert_cap",
                 "brackets", "door_signs", "fires", "fresh", "kept", "last_exit_ts", "last_sensor", "last_tod",
                 "last_ts", "last_zone", "lone_ts", "restored", "samples")

    def __init__(self, settings: RhythmSettings | None = None) -> None:
        self._s = settings or RhythmSettings()
        self.samples: deque[tuple[float, float, str, str]] = deque(maxlen=self._s.history)  # tod, length, id, zone
        self._by_sensor: dict[str, deque[tuple[float, float]]] = {}  # the same (tod, length) by sensor and zone
        self._by_zone: dict[str, deque[tuple[float, float]]] = {}
        self.last_ts = NEG
        self.last_tod = 0.0
        self.last_sensor = ""
        self.last_zone = HOME
        self.alert_cap: float | None = None  # the limit the current silence broke, if it raised an alert
        self._cache: tuple[float, float, Expectation] | None = None
        self.fires: dict[str, int] = {}  # signs of life per sensor
        self.last_exit_ts = NEG  # the last sign of leaving by a door (registered, or learned: `exit_like`)
        self._door_ts = NEG
        self._fixed_ts = NEG  # the last sign from a sensor of the home (a wearable goes out too)
        self._departing = False
        self.brackets: dict[str, int] = {}  # long silences each sensor began or ended
        self.door_signs = 0  # signs of the registered front door: where it works, no other sensor is learned as one
        self.lone_ts = NEG  # the first sign after a very long silence, until another confirms someone is there
        self.fresh: list[Silence] = []  # silences learned since the owner last saved them (if `kept`)
        self.kept = False  # whether an owner saves the fresh silences (else they are not collected)
        self.restored = False  # the current silence comes from the state database (it may be stale: not learned)

    def sign(self, ts: float, tod: float, sensor: str, zone: str, worn: bool = False) -> None:
        """A sign of life at ts (tod: its local time of day): the silence before it is learned. `worn`: from a
        wearable (steps), which is no evidence of being at home."""
        if ts < self.last_ts:
            return
        gap = ts - self.last_ts
        self.fires[sensor] = self.fires.get(sensor, 0) + 1
        if gap >= self._s.min_silence_s and self.last_ts > NEG and not self.restored:
            learned = gap if self.alert_cap is None else min(gap, self.alert_cap * self._s.alerted_learn_x)
            silence = Silence(ts, self.last_tod, learned, self.last_sensor, self.last_zone)
            self._learn(silence)
            if self.kept:
                self.fresh.append(silence)
            if gap >= self._s.exit_long_s and not self._slept(tod, gap):
                for x in (self.last_sensor, sensor):
                    self.brackets[x] = self.brackets.get(x, 0) + 1
        if zone == EXIT:
            self.door_signs += 1
        door = zone == EXIT or (zone == HOME and self.exit_like(sensor))
        back_unseen = self.away() and not door and gap >= self._s.exit_long_s  # out for hours, in by no door
        if not worn and self.last_ts > NEG and (gap >= self._s.lone_gap_s or back_unseen or self._beyond(gap)):
            self.lone_ts = ts  # the first sign after a very long silence: one burst of one sensor proves little
        elif not worn and ts - self.lone_ts >= self._s.confirm_s:
            self.lone_ts = NEG  # a second movement, apart from the first burst: someone is there
        if door:
            if ts - self._door_ts > 60.0:  # a new passage (a door reports open and closed within seconds)
                self._departing = ts - self._fixed_ts < self._s.arrive_gap_s  # after a silent home: coming back
            self._door_ts = ts
            if self._departing:
                self.last_exit_ts = ts
        self.last_ts, self.last_tod, self.last_sensor, self.last_zone = ts, tod, sensor, zone
        if not worn:
            self._fixed_ts = ts
        self.alert_cap = None
        self.restored = False

    def _slept(self, tod: float, gap: float) -> bool:
        """Whether a long silence ending now at `tod` was a night's sleep: begun in the night, ended by the next
        morning (its first and last signs are the way to bed, not a way out)."""
        s = self._s
        night = self.last_tod >= s.night_start_tod_s or self.last_tod < s.night_end_tod_s
        return night and tod < s.morning_end_tod_s and gap < DAY_S / 2 + s.morning_end_tod_s - s.night_end_tod_s

    def _beyond(self, gap: float) -> bool:
        """Whether the silence a sign ends went past the limit this home's rhythm set for it (an alert was raised, or
        would have been but for another open one): as after `lone_gap_s`, the home was most likely empty or its
        sensors down, so the first sign after it is a return seen by one sensor, not yet proof of someone moving."""
        if self.alert_cap is not None:
            return True
        cache = self._cache
        return cache is not None and cache[0] == self.last_ts and gap > cache[2].limit_s

    def _learn(self, x: Silence) -> None:
        self.samples.append((x.tod, x.length, x.sensor, x.zone))
        for index, key in ((self._by_sensor, x.sensor), (self._by_zone, x.zone)):
            if key not in index:
                index[key] = deque(maxlen=self._s.history)
            index[key].append((x.tod, x.length))

    def snapshot(self) -> dict[str, Any]:
        """What this home has learned besides its silences (kept apart: `fresh`), and the current silence's
        context, as JSON-ready values (for the state database)."""
        return {"fires": self.fires, "brackets": self.brackets, "door_signs": self.door_signs,
                "last_ts": _num(self.last_ts),
                "last_tod": self.last_tod, "last_sensor": self.last_sensor, "last_zone": self.last_zone,
                "last_exit_ts": _num(self.last_exit_ts), "door_ts": _num(self._door_ts),
                "fixed_ts": _num(self._fixed_ts), "departing": self._departing, "lone_ts": _num(self.lone_ts)}

    def restore(self, state: dict[str, Any], silences: Iterable[Silence]) -> None:
        """Take back a snapshot and the silences learned before (oldest first), as after a restart. The current
        silence goes on being judged; it is not learned when it ends (activity since the save may be unseen)."""
        for x in silences:
            self._learn(x)
        self.fires = {str(k): int(v) for k, v in state.get("fires", {}).items()}
        self.brackets = {str(k): int(v) for k, v in state.get("brackets", {}).items()}
        self.door_signs = int(state.get("door_signs", 0))
        self.last_ts = _ts(state.get("last_ts"))
        self.last_tod = float(state.get("last_tod", 0.0))
        self.last_sensor = str(state.get("last_sensor", ""))
        self.last_zone = str(state.get("last_zone", HOME))
        self.last_exit_ts = _ts(state.get("last_exit_ts"))
        self._door_ts = _ts(state.get("door_ts"))
        self._fixed_ts = _ts(state.get("fixed_ts"))
        self._departing = bool(state.get("departing", False))
        self.lone_ts = _ts(state.get("lone_ts"))
        self.restored = self.last_ts > NEG
        self._cache = None

    def forget_current(self) -> None:
        """The picture was reset (a clock jump): the current silence is not learned."""
        self.last_ts, self.alert_cap = NEG, None

    def expectation(self, wake_limit_tod: float) -> Expectation:
        """The limit of the current silence, learned or default (cached for the silence)."""
        if self._cache is not None and self._cache[0] == self.last_ts and self._cache[1] == wake_limit_tod:
            return self._cache[2]
        exp = self._expect(wake_limit_tod)
        self._cache = (self.last_ts, wake_limit_tod, exp)
        return exp

    def _asleep(self, wake_limit_tod: float) -> bool:
        """Whether the current silence began in the night: late evening (after the bathroom too: before bed), the
        small hours, and in bed until the wake-up limit."""
        s, tod = self._s, self.last_tod
        if self.last_zone == BATHROOM:
            return tod >= s.night_start_tod_s
        morning = wake_limit_tod if self.last_zone == BED else s.night_end_tod_s
        return tod >= s.night_start_tod_s or tod < morning

    def _default(self, wake_limit_tod: float) -> float:
        s, tod, zone = self._s, self.last_tod, self.last_zone
        if zone == EXIT:
            return math.inf
        if self._asleep(wake_limit_tod):
            return (wake_limit_tod - tod) % DAY_S + s.wake_extra_s
        if zone == BATHROOM:
            return s.bathroom_default_s
        return s.day_default_s

    def _floor(self, default: float, wake_limit_tod: float) -> float:
        s = self._s
        if self.last_zone == EXIT or self._asleep(wake_limit_tod):
            return default  # a night is never shorter than until the wake-up limit; the door: away
        return s.bathroom_floor_s if self.last_zone == BATHROOM else s.floor_s

    def away(self) -> bool:
        """Whether the current silence began at (or just after) a door: the resident is out, not silent at home."""
        return self.last_ts - self.last_exit_ts <= self._s.exit_window_s

    def unconfirmed(self) -> bool:
        """Whether the current silence began with the only burst of signs since a silence of `lone_gap_s` (the
        home empty, or its sensors down): one sensor firing once (a glitch, a sensor waking up after an outage, a
        visitor) is weak evidence of a person at home, so the silence after it is not judged as an emergency."""
        return self.lone_ts > NEG and self.last_ts - self.lone_ts < self._s.confirm_s

    def exit_like(self, sensor: str) -> bool:
        """Whether a sensor begins or ends long silences far more often than others for how often it fires: the
        resident leaves and comes home past it (a door the layout does not name as the front door). Only in a home
        whose registered front door is not seen working (fewer than `exit_min` signs): where it works, it tells the
        absences, and a sensor that often begins or ends long silences is on the way to bed (the bedroom door of a
        bed without a mat) or to the sofa, not a way out; a collapse just after it must still be judged."""
        if self.door_signs >= self._s.exit_min:
            return False
        n = self.brackets.get(sensor, 0)
        return n >= self._s.exit_min and n >= self._s.exit_rate * self.fires.get(sensor, 1)

    def _expect(self, wake_limit_tod: float) -> Expectation:
        s = self._s
        default = self._default(wake_limit_tod)
        floor = self._floor(default, wake_limit_tod)
        sensor, zone, tod = self.last_sensor, self.last_zone, self.last_tod
        if self.away():
            return Expectation(math.inf, "exit", self.brackets.get(sensor, 0), 0.0)
        if self.unconfirmed():
            return Expectation(math.inf, "unconfirmed", 0, 0.0)
        mine = self._by_sensor.get(sensor, ())
        levels: tuple[tuple[str, Callable[[], list[float]]], ...] = (
            ("sensor", lambda: _near(mine, tod, s.window_s)),
            ("sensor, any time", lambda: [x[1] for x in mine]),
            ("zone", lambda: _near(self._by_zone.get(zone, ()), tod, s.window_s)),
        )
        for basis, pick in levels:
            if len(mine) < s.min_samples and basis != "zone":
                continue
            lengths = pick()
            if len(lengths) >= s.min_samples:
                kept = sorted(lengths)[: len(lengths) - s.ignore_top] if s.ignore_top else lengths
                typical = _quantile(kept, s.quantile)
                limit = self._into_night(max(floor, typical * s.margin), wake_limit_tod)
                return Expectation(min(s.cap_s, limit), basis, len(lengths), typical)
        return Expectation(min(s.cap_s, self._into_night(default, wake_limit_tod)), "default", 0, 0.0)

    def _into_night(self, limit: float, wake_limit_tod: float) -> float:
        """An evening silence at home (not in the bathroom) whose limit falls in the night may be sleep begun
        where no sensor saw it (a sofa, a bed without a mat): it is then given `evening_sleep_s` (a short night),
        not the whole night, so a collapse in the evening is still called before the morning."""
        s, tod = self._s, self.last_tod
        if self.last_zone == BATHROOM or not s.evening_tod_s <= tod < s.night_start_tod_s:
            return limit
        due = (tod + limit) % DAY_S
        if due >= s.night_start_tod_s or due < s.night_end_tod_s or limit >= DAY_S - tod:
            night = (wake_limit_tod - tod) % DAY_S + s.wake_extra_s
            return max(limit, min(night, s.evening_sleep_s))
        return limit
