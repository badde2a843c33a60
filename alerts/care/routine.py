"""Inactivity and daily routine per home, from motion, door and bed sensors and the wearable's steps.

Alerts: no activity for hours in the daytime, no activity by the learned wake-up time (or still in bed), bathroom
occupied too long, leaving home at night and not returning. Wake-up time and bathroom visit lengths are learned per
home from its own history; until enough days are seen, conservative defaults apply. Silences that begin on the
installation day (the routine day the hub first heard of the home) are not judged, nor is getting up after its
night. One routine alert per home is open at a time: it suppresses the others until activity resumes, so one bad
morning is one call, not four.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from alerts.care.rhythm import NEG, HomeRhythm, RhythmSettings, Silence, zone_of
from alerts.detection import Detection, Severity
from alerts.detector import Detector
from devices.i18n import kind_title, t, word
from devices.models import DeviceEvent, Reading
from devices.topology import DeviceInfo, Room, SensorKind, Topology

DAY_S = 86_400.0
SCAN_EVERY_S = 1.0  # `advance` walks every home at most this often (device time): its deadlines are in minutes


@dataclass
class RoutineSettings:
    """Thresholds and learning parameters (times of day in seconds after local midnight)."""

    utc_offset_s: float = 8 * 3600.0
    day_start_tod_s: float = 4 * 3600.0  # the routine day starts at 04:00; earlier activity is the night
    day_end_tod_s: float = 20 * 3600.0  # a quiet spell starting later is the evening, not daytime inactivity
    inactivity_s: float = 4 * 3600.0  # day one's daytime limit, until the home's own silences are learned
    steps_active: float = 5.0
    default_wake_limit_tod_s: float = 10 * 3600.0
    wake_margin_min_s: float = 5400.0
    wake_margin_k: float = 4.0
    wake_learn_days: int = 5
    wake_latest_tod_s: float = 14 * 3600.0  # no later wake-up is learned, nor limit set
    default_bathroom_s: float = 75 * 60.0
    bathroom_factor: float = 2.0
    bathroom_bounds_s: tuple[float, float] = (45 * 60.0, 120 * 60.0)
    bathroom_learn_visits: int = 20
    night_start_tod_s: float = 22 * 3600.0
    night_end_tod_s: float = 6 * 3600.0
    night_return_s: float = 1800.0
    away_confirm_s: float = 600.0
    door_grace_s: float = 15.0
    clock_reset_s: float = 3600.0
    data_gap_s: float = 900.0  # no message from the home this long (outage): room timers wait and restart
    save_every_s: float = 1800.0  # with a keeper: a busy home's rhythm is saved this often (and when it goes quiet)
    rhythm: RhythmSettings = field(default_factory=RhythmSettings)  # the learned silences (inactivity)


@dataclass(slots=True)
class _Home:
    """Per-home state; `alert` is the open routine alert, if any."""

    resident_id: str
    first_ts: float
    last_ts: float = NEG
    last_activity: float = NEG
    location: str = ""
    bath_since: float | None = None
    bath_alerted: bool = False
    bed: bool = False
    door_ts: float | None = None
    away: bool = False
    night_alerted: bool = False
    woke_day: int = -1
    checked_day: int = -1
    alert: str | None = None
    wake_tods: deque[float] = field(default_factory=lambda: deque(maxlen=14))
    bath_visits: deque[float] = field(default_factory=lambda: deque(maxlen=60))
    next_check: float = NEG
    rhythm: HomeRhythm = field(default_factory=HomeRhythm)
    saved_last_ts: float = NEG  # the last sign of life when the home was last saved, and when (hub clock)
    saved_at: float = NEG
    settle_day: int | None = None  # silences that begin before this routine day (the installation day) are not judged

    def snapshot(self) -> dict[str, Any]:
        """What is kept across a restart (JSON-ready): the learned wake-ups and bathroom visits, the rhythm."""
        return {"first_ts": self.first_ts, "settle_day": self.settle_day, "wake_tods": list(self.wake_tods),
                "bath_visits": list(self.bath_visits), "woke_day": self.woke_day, "checked_day": self.checked_day,
                "rhythm": self.rhythm.snapshot()}


class RhythmKeeper(Protocol):
    """Where the routine detector keeps what it learned (the state database: `alerts.care.rhythm_store`)."""

    def load(self, home_id: str) -> tuple[dict[str, Any], list[Silence]] | None:
        """A home's saved state and learned silences (oldest first), if it was saved."""
        ...

    def save(self, home_id: str, state: dict[str, Any], fresh: list[Silence]) -> None:
        """Write one home's state and the silences learned since its last save."""
        ...


class RoutineDetector(Detector):
    """Inactivity, wake-up, bathroom, night-exit and bed detections per home."""

    name = "routine"

    def __init__(self, topology: Topology, settings: RoutineSettings | None = None,
                 keeper: RhythmKeeper | None = None) -> None:
        self._topology = topology
        self._s = settings or RoutineSettings()
        self._rhythm = replace(self._s.rhythm, day_default_s=self._s.inactivity_s)
        self._homes: dict[str, _Home] = {}
        self._keeper = keeper  # homes are read back when they first send anything (this worker's homes only)
        self._worn: dict[str, _Home] = {}  # wearables' homes, while the topology is unchanged
        self._topology_version = topology.version
        self._scanned = NEG  # the time of the last walk over the homes
        self._handlers: dict[SensorKind, Callable[[_Home, DeviceInfo, float, dict[str, float]], None]] = {
            SensorKind.MOTION: self._on_motion,
            SensorKind.DOOR: self._on_door,
            SensorKind.BED: self._on_bed,
            SensorKind.ACTIVITY: self._on_activity,
        }

    def observe(self, reading: Reading) -> list[Detection]:
        """Update the home's picture; routine alerts are completed by `advance`."""
        return self.observe_batch((reading,))

    def observe_batch(self, readings: Iterable[Reading]) -> list[Detection]:
        """Update the homes' picture with a batch of readings, in order (the same as one `observe` each).

        A wearable's reading, the common one, is handled inline once its home is remembered (until the topology
        changes); the wearable's steps are activity, and they only move the inactivity deadline later.
        """
        topology, worn, s = self._topology, self._worn, self._s
        for r in readings:
            if topology.version != self._topology_version:
                self._forget_devices()
            home = worn.get(r.device_id)
            if home is None:
                home = self._observe_sensor(r)
                if home is None:
                    continue
            ts = r.ts
            if ts < home.last_ts - s.clock_reset_s:  # as `_clock`
                self._reset(home, ts)
            elif home.bath_since is not None and ts - home.last_ts > s.data_gap_s:
                home.bath_since, home.next_check = ts, NEG
            if ts > home.last_ts:
                home.last_ts = ts
            if r.values.get("steps", 0.0) >= s.steps_active:
                self._activity(home, ts)
                home.rhythm.sign(ts, self._tod(ts), r.device_id, zone_of("", home.location), worn=True)
            if ts + s.inactivity_s < home.next_check:
                home.next_check = ts + s.inactivity_s
        return []

    def _forget_devices(self) -> None:
        """The topology changed: whose wearable is whose is looked up again."""
        self._worn.clear()
        self._topology_version = self._topology.version

    def _observe_sensor(self, r: Reading) -> _Home | None:
        """A reading from a device not known as a wearable: a home sensor's is handled here; a wearable's home is
        remembered and returned for the caller to handle the reading."""
        info = self._topology.get(r.device_id)
        if info is None or (info.kind != SensorKind.WEARABLE and info.kind not in self._handlers):
            return None
        home = self._homes.get(info.home_id)
        if home is None:
            saved = self._keeper.load(info.home_id) if self._keeper is not None else None
            home = _Home(info.resident_id, r.ts, rhythm=HomeRhythm(self._rhythm)) if saved is None else (
                self._restored(info.resident_id, *saved))
            self._homes[info.home_id] = home
            home.rhythm.kept = self._keeper is not None
        if info.kind == SensorKind.WEARABLE:
            self._worn[r.device_id] = home
            return home
        self._clock(home, r.ts)
        self._handlers[info.kind](home, info, r.ts, r.values)
        if _sign_of_life(info.kind, r.values):
            home.rhythm.sign(r.ts, self._tod(r.ts), r.device_id, zone_of(info.kind, info.room))
        home.next_check = NEG
        return None

    def _clock(self, home: _Home, ts: float) -> None:
        """A device clock jumped back, or the home was silent (an outage): then the newest time seen."""
        if ts < home.last_ts - self._s.clock_reset_s:
            self._reset(home, ts)
        elif home.bath_since is not None and ts - home.last_ts > self._s.data_gap_s:
            home.bath_since, home.next_check = ts, NEG  # the visit may have ended unseen in the gap
        if ts > home.last_ts:
            home.last_ts = ts

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """SOS and service keys are handled elsewhere."""
        return []

    def advance(self, now: float) -> list[Detection]:
        """Check every home whose next deadline has come (and keep what each learned, with a keeper), at most once
        per `SCAN_EVERY_S`: the detector stage advances after every batch, and at 10,000 homes a walk per batch
        was a quarter of the hub's main thread (issue 20). A time before the last walk (a clock set back) walks."""
        if self._scanned <= now < self._scanned + SCAN_EVERY_S:
            return []
        self._scanned = now
        out: list[Detection] = []
        for home_id, home in self._homes.items():
            if now >= home.next_check:
                det = self._check(home_id, home, now)
                if det is not None:
                    out.append(det)
            if self._keeper is not None:
                self._keep(home_id, home, now)
        return out

    def _keep(self, home_id: str, home: _Home, now: float) -> None:
        """Save a home when it learned a silence, when a quiet spell has begun (its context is then exact), and at
        most every `save_every_s` while it is busy."""
        rhythm, s = home.rhythm, self._s
        moved = rhythm.last_ts != home.saved_last_ts
        quiet = moved and now - rhythm.last_ts >= s.rhythm.min_silence_s
        if rhythm.fresh or quiet or (moved and now - home.saved_at >= s.save_every_s):
            assert self._keeper is not None
            self._keeper.save(home_id, home.snapshot(), rhythm.fresh)
            rhythm.fresh = []
            home.saved_last_ts, home.saved_at = rhythm.last_ts, now

    def _restored(self, resident_id: str, state: dict[str, Any], silences: list[Silence]) -> _Home:
        """A home as saved: what it learned, and the silence it was in (judged on from the next check)."""
        rhythm = HomeRhythm(self._rhythm)
        rhythm.restore(state.get("rhythm", {}), silences)
        home = _Home(resident_id, float(state.get("first_ts", rhythm.last_ts)), rhythm=rhythm)
        home.last_ts = home.saved_last_ts = rhythm.last_ts
        home.wake_tods.extend(float(x) for x in state.get("wake_tods", []))
        home.bath_visits.extend(float(x) for x in state.get("bath_visits", []))
        home.woke_day = int(state.get("woke_day", -1))
        home.checked_day = int(state.get("checked_day", -1))
        settle = state.get("settle_day")
        home.settle_day = int(settle) if isinstance(settle, (int, float)) else None
        return home

    def wake_limit_tod(self, home_id: str) -> float:
        """Learned latest normal wake-up time of day (s after local midnight). While learning (fewer than
        `wake_learn_days` wake-ups seen) the default, or later where the wake-ups seen so far already say so: a
        home that gets up late is not called every morning of its first week."""
        home = self._homes.get(home_id)
        n = 0 if home is None else len(home.wake_tods)
        if home is None or n == 0:
            return self._s.default_wake_limit_tod_s
        tods = list(home.wake_tods)
        med = statistics.median(tods)
        spread = 1.4826 * statistics.median(abs(t - med) for t in tods)
        learned = med + max(self._s.wake_margin_min_s, self._s.wake_margin_k * spread)
        learned = min(learned, self._s.wake_latest_tod_s)
        return learned if n >= self._s.wake_learn_days else max(learned, self._s.default_wake_limit_tod_s)

    def bathroom_limit_s(self, home_id: str) -> float:
        """Learned longest normal bathroom visit, or the default while learning."""
        home = self._homes.get(home_id)
        if home is None or len(home.bath_visits) < self._s.bathroom_learn_visits:
            return self._s.default_bathroom_s
        p95 = statistics.quantiles(home.bath_visits, n=20)[-1]
        low, high = self._s.bathroom_bounds_s
        return min(high, max(low, self._s.bathroom_factor * p95))

    def _tod(self, ts: float) -> float:
        return (ts + self._s.utc_offset_s) % DAY_S

    def _day(self, ts: float) -> int:
        """Index of the routine day (starting at `day_start_tod_s` local) containing ts."""
        return int((ts + self._s.utc_offset_s - self._s.day_start_tod_s) // DAY_S)

    def _reset(self, home: _Home, ts: float) -> None:
        """Device clock jumped back: forget the transient picture, keep what was learned."""
        home.last_ts, home.last_activity, home.location = ts, NEG, ""
        home.bath_since, home.door_ts, home.away, home.alert = None, None, False, None
        home.first_ts = ts
        home.settle_day = min(self._settle_day(home), self._day(ts))  # known before: judged on the new clock
        home.rhythm.forget_current()

    def _activity(self, home: _Home, ts: float, in_bathroom: bool = False) -> None:
        """Someone moved: it may be the wake-up, and it closes an open alert (bathroom: only elsewhere)."""
        if ts > home.last_activity:
            home.last_activity = ts
        if home.alert is not None and not (in_bathroom and home.alert == "bathroom_long"):
            home.alert = None
        day = self._day(ts)
        if home.woke_day != day:
            home.woke_day = day
            tod = self._tod(ts)
            if home.alert is None and home.checked_day != day and tod < self._s.wake_latest_tod_s:
                home.wake_tods.append(tod)  # later, the first activity of a day is coming home, not getting up

    def _on_motion(self, home: _Home, info: DeviceInfo, ts: float, values: dict[str, float]) -> None:
        if values.get("occupancy", 0.0) < 0.5:
            return
        if home.door_ts is not None and ts > home.door_ts + self._s.door_grace_s:
            home.door_ts, home.away, home.night_alerted = None, False, False
        self._move_to(home, info.room, ts)
        if info.room != Room.BEDROOM:  # turning over in bed is not being up
            self._activity(home, ts, in_bathroom=info.room == Room.BATHROOM)

    def _move_to(self, home: _Home, room: str, ts: float) -> None:
        """Track the room last seen occupied, and the length of bathroom visits."""
        if room == Room.BATHROOM and home.location != Room.BATHROOM:
            home.bath_since, home.bath_alerted = ts, False
        elif room != Room.BATHROOM and home.location == Room.BATHROOM and home.bath_since is not None:
            if not home.bath_alerted:
                home.bath_visits.append(ts - home.bath_since)
            home.bath_since = None
        home.location = room

    def _on_activity(self, home: _Home, info: DeviceInfo, ts: float, values: dict[str, float]) -> None:
        """A cupboard, an appliance, the flush, an inner door, a sensor of unknown kind: someone is there."""
        if not _sign_of_life(info.kind, values):
            return
        room = info.room if info.room else home.location
        self._move_to(home, room, ts)
        if room != Room.BEDROOM:
            self._activity(home, ts, in_bathroom=room == Room.BATHROOM)

    def _on_door(self, home: _Home, info: DeviceInfo, ts: float, values: dict[str, float]) -> None:
        if values.get("contact", 1.0) < 0.5:  # opened
            self._move_to(home, "", ts)
            home.door_ts, home.night_alerted = ts, False

    def _on_bed(self, home: _Home, info: DeviceInfo, ts: float, values: dict[str, float]) -> None:
        if "bed_occupied" in values:
            home.bed = values["bed_occupied"] >= 0.5
            if home.bed:
                self._move_to(home, Room.BEDROOM, ts)

    def _check(self, home_id: str, home: _Home, now: float) -> Detection | None:
        """Evaluate the deadlines of one home; remember when to look again."""
        s = self._s
        deadlines: list[float] = [now + 3600.0]
        kind: str | None = None
        if home.door_ts is not None:
            if now >= home.door_ts + s.away_confirm_s:
                home.away = True
            tod = self._tod(home.door_ts)
            at_night = tod >= s.night_start_tod_s or tod < s.night_end_tod_s
            if at_night and not home.night_alerted:
                if now >= home.door_ts + s.night_return_s:
                    home.night_alerted, kind = True, "night_exit"
                deadlines.append(home.door_ts + s.night_return_s)
        fresh = now - home.last_ts <= s.data_gap_s
        if kind is None and fresh and home.location == Room.BATHROOM and home.bath_since is not None:
            limit = home.bath_since + self.bathroom_limit_s(home_id)
            if now >= limit and home.alert is None and not home.bath_alerted:
                kind, home.bath_alerted = "bathroom_long", True
            elif not home.bath_alerted:
                deadlines.append(limit)
        if kind is None:
            kind = self._check_day(home_id, home, now, deadlines)
        home.next_check = min(deadlines)
        if kind is None or (home.alert is not None and kind != "night_exit"):
            return None
        home.alert = kind
        return self._detection(home, home_id, kind, now)

    def _check_day(self, home_id: str, home: _Home, now: float, deadlines: list[float]) -> str | None:
        """Wake-up by the learned time, then daytime inactivity."""
        s = self._s
        day = self._day(now)
        day_start = day * DAY_S + s.day_start_tod_s - s.utc_offset_s
        limit = day_start + self.wake_limit_tod(home_id) - s.day_start_tod_s
        if home.checked_day != day and now >= limit:
            home.checked_day = day
            deadlines.append(limit + DAY_S)
            rhythm = home.rhythm
            evening = day_start - s.day_start_tod_s + s.day_end_tod_s - DAY_S  # the evening before this day
            seen = rhythm.last_ts >= evening and not rhythm.away() and not rhythm.unconfirmed()  # home, not out
            seen = seen and self._settled(home)
            if home.woke_day != day and not home.away and home.first_ts <= day_start and seen:
                return "bed_not_left" if home.bed else "no_wakeup"
        deadlines.append(limit if home.checked_day != day else limit + DAY_S)
        return self._check_silence(home_id, home, now, deadlines)

    def _settled(self, home: _Home) -> bool:
        """Whether the current silence began after the installation day (the routine day on which the hub first
        heard of the home). Silences that begin on it are not judged, nor is getting up after its night: the detector
        has seen nothing of this home's evening and night yet, and the day sensors are put in is not an ordinary one
        (sensors tried out, the resident's day disturbed, often spent elsewhere)."""
        return self._day(home.rhythm.last_ts) >= self._settle_day(home)

    def _settle_day(self, home: _Home) -> int:
        if home.settle_day is None:
            home.settle_day = self._day(home.first_ts) + 1
        return home.settle_day

    def _check_silence(self, home_id: str, home: _Home, now: float, deadlines: list[float]) -> str | None:
        """Inactivity: the home quiet for longer than it usually is after the same sensor at this time of day."""
        rhythm = home.rhythm
        if rhythm.last_ts == NEG or home.away or not self._settled(home):
            return None
        if home.location == Room.BATHROOM and home.bath_since is not None and now - home.last_ts <= self._s.data_gap_s:
            return None  # in the bathroom with data flowing: the bathroom rule judges the visit
        exp = rhythm.expectation(self.wake_limit_tod(home_id))
        due = rhythm.last_ts + exp.limit_s
        if now >= due:
            if home.alert is None:
                rhythm.alert_cap = exp.limit_s
            return "inactivity"
        if due != float("inf"):
            deadlines.append(due)
        return None

    def _detection(self, home: _Home, home_id: str, kind: str, now: float) -> Detection:
        """Build the detection of one routine alert, saying what was expected and what was seen."""
        severity = Severity.CRITICAL if kind in ("night_exit", "bathroom_long") else Severity.WARNING
        rhythm = home.rhythm
        since = rhythm.last_ts if kind == "inactivity" else (home.door_ts or home.bath_since or now)
        features = {"since_ts": since, "quiet_s": now - home.last_activity if home.last_activity > NEG else 0.0}
        why = _why(self, home, home_id, kind, now, features)
        return Detection(
            detector=self.name,
            kind=kind,
            subject_id=home.resident_id,
            device_id="",
            ts=now,
            severity=severity,
            features=features,
            message=t("det.routine", kind=kind_title(kind), home=home_id, why=why),
        )


def _sign_of_life(kind: SensorKind, values: dict[str, float]) -> bool:
    """Whether a home sensor's reading shows someone there (a heartbeat with only its battery does not)."""
    if kind == SensorKind.MOTION:
        return values.get("occupancy", 0.0) >= 0.5
    if kind == SensorKind.DOOR:
        return "contact" in values
    if kind == SensorKind.BED:
        return "bed_occupied" in values
    return any(k in values for k in ("occupancy", "contact", "bed_occupied", "active"))


def _hm(tod: float) -> str:
    return f"{int(tod // 3600) % 24:02d}:{int(tod % 3600 // 60):02d}"


def _why(det: RoutineDetector, home: _Home, home_id: str, kind: str, now: float, features: dict[str, float]) -> str:
    """What the detector expected and what it saw, in words; the numbers go into `features` too."""
    rhythm = home.rhythm
    if kind == "inactivity":
        exp = rhythm.expectation(det.wake_limit_tod(home_id))
        quiet = now - rhythm.last_ts
        features.update(quiet_s=quiet, expected_s=exp.limit_s, typical_s=exp.typical_s,
                        learned_silences=float(exp.samples), last_sign_tod_s=rhythm.last_tod)
        zone = word("det.zone.", rhythm.last_zone)
        if exp.basis == "exit":  # not alerted (away), kept for completeness
            usual = t("det.routine.usual.exit", sensor=rhythm.last_sensor, samples=exp.samples)
        elif exp.basis == "default":
            usual = t("det.routine.usual.default", limit=f"{exp.limit_s / 3600:.1f}")
        else:
            what = (t("det.routine.what.sensor", sensor=rhythm.last_sensor) if exp.basis == "sensor"
                    else t("det.routine.what.zone", zone=zone))
            usual = t("det.routine.usual.learned", what=what, typical=f"{exp.typical_s / 3600:.1f}",
                      samples=exp.samples, limit=f"{exp.limit_s / 3600:.1f}")
        return t("det.routine.inactivity", hours=f"{quiet / 3600:.1f}", sensor=rhythm.last_sensor,
                 zone=zone, time=_hm(rhythm.last_tod), usual=usual)
    if kind in ("no_wakeup", "bed_not_left"):
        limit = det.wake_limit_tod(home_id)
        features.update(expected_tod_s=limit)
        last = t("det.routine.last", time=_hm(rhythm.last_tod)) if rhythm.last_ts > NEG else t("det.routine.last.none")
        seen = t("det.routine.seen.bed") if kind == "bed_not_left" else t("det.routine.seen.nobody")
        return t("det.routine.wakeup", limit=_hm(limit), seen=seen, last=last)
    if kind == "bathroom_long":
        limit = det.bathroom_limit_s(home_id)
        stay = now - home.bath_since if home.bath_since is not None else 0.0
        features.update(expected_s=limit, stay_s=stay)
        return t("det.routine.bathroom", stay=f"{stay / 60:.0f}", limit=f"{limit / 60:.0f}")
    if kind == "night_exit" and home.door_ts is not None:
        return t("det.routine.night_exit", time=_hm(det._tod(home.door_ts)),
                 minutes=f"{det._s.night_return_s / 60:.0f}")
    return kind_title(kind)
