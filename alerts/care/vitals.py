"""Vital signs against clinical limits set per resident and against the resident's own time-of-day baseline.

A breach must be sustained (a duration and a number of readings) before it alerts, readings taken while the
wearer moves are rejected as motion artefacts, a gap in the data restarts the count, and an episode alerts
once.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alerts.detection import Detection, Severity
from alerts.detector import Detector
from devices.i18n import kind_title, t, word
from devices.models import DeviceEvent, Reading
from devices.topology import SensorKind, Topology

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Limit:
    """Clinical limits of one metric: alert below `low` / above `high` (strictly), sustained."""

    low: float | None
    high: float | None
    sustain_s: float = 60.0
    min_readings: int = 2
    max_gap_s: float = 600.0


DEFAULT_LIMITS: dict[str, Limit] = {
    # three readings: two artefacts in a row at rest are not rare enough over thousands of wearer-days
    "heart_rate": Limit(40.0, 130.0, sustain_s=120.0, min_readings=3),
    "spo2": Limit(90.0, None, sustain_s=60.0, min_readings=3),
    "skin_temp": Limit(30.0, 37.5, sustain_s=600.0, min_readings=3),
    "systolic": Limit(90.0, 180.0, sustain_s=0.0, max_gap_s=1800.0),
    "diastolic": Limit(None, 110.0, sustain_s=0.0, max_gap_s=1800.0),
}
# Which direction of departure from the own baseline matters, and the smallest departure worth a call.
BASELINE_MIN_DEV: dict[str, tuple[float, bool, bool]] = {
    "heart_rate": (20.0, True, True),
    "spo2": (4.0, True, False),
    "skin_temp": (1.5, True, True),
}
MOTION_SENSITIVE = frozenset({"heart_rate", "spo2"})


@dataclass
class VitalsSettings:
    """Limits (defaults and per resident) and the baseline model."""

    limits: dict[str, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    per_resident: dict[str, dict[str, Limit]] = field(default_factory=dict)
    moving_steps: float = 10.0  # steps in one reading above which HR / SpO2 are motion artefacts
    moving_acc_std_g: float = 0.25
    refractory_s: float = 1800.0
    clock_reset_s: float = 600.0
    utc_offset_s: float = 8 * 3600.0
    buckets: int = 6
    baseline_k: float = 4.0
    baseline_sustain_s: float = 600.0
    baseline_min_readings: int = 4
    baseline_sample_s: float = 600.0
    baseline_days: int = 7
    baseline_min_samples: int = 36

    def limit(self, resident_id: str, metric: str) -> Limit | None:
        """The resident's limit for a metric, falling back to the default."""
        own = self.per_resident.get(resident_id, {})
        return own.get(metric, self.limits.get(metric))


@dataclass(slots=True)
class _Run:
    """A run of consecutive breaching readings.

    Between runs it is idle (`start` None, which implies `count` 0 and `alerted` False). Stepping an idle run with a
    reading that does not breach only moves `last`, which matters only once the run opens (and opening it sets it):
    the detector skips such steps.
    """

    start: float | None = None
    last: float = float("-inf")
    count: int = 0
    alerted: bool = False
    quiet_until: float = float("-inf")

    def step(self, ts: float, breach: bool, max_gap_s: float, refractory_s: float) -> None:
        """Extend or reset the run with one reading."""
        if ts - self.last > max_gap_s:
            self.start, self.count = None, 0
            self.alerted = False
        self.last = ts
        if breach and ts < self.quiet_until:  # an episode that flickers stays one episode
            self.quiet_until = ts + refractory_s
        if not breach:
            if self.alerted:
                self.quiet_until = ts + refractory_s
            self.start, self.count, self.alerted = None, 0, False
            return
        if self.start is None:
            self.start = ts
        self.count += 1

    def due(self, ts: float, sustain_s: float, min_readings: int) -> bool:
        """Whether the run has just become an alert."""
        if self.start is None or self.alerted or ts < self.quiet_until:
            return False
        if ts - self.start >= sustain_s and self.count >= min_readings:
            self.alerted = True
            return True
        return False


class _Baseline:
    """Rolling robust baseline (median, MAD-sigma) of one metric in one time-of-day bucket.

    Samples live in a compact float32 ring; median and spread are refreshed every `REFRESH` samples (hourly at
    the default sampling), which keeps the cost per reading far below a microsecond on average. With them are kept
    `ready` (enough samples to judge) and the departures from the median that count, `lo` and `hi` (k sigmas, at
    least the clinical minimum, in the directions that matter), so judging a reading only compares.
    """

    __slots__ = ("_dirty", "_high_ok", "_i", "_k", "_low_ok", "_min_dev", "_min_samples", "_ring", "_size", "hi",
                 "last_sample", "lo", "median", "ready", "sigma")
    REFRESH = 6
    NUMPY_FROM = 48

    def __init__(self, size: int, min_samples: int, k: float, departure: tuple[float, bool, bool]) -> None:
        self._ring = array("f")
        self._i = self._dirty = 0
        self._size = size
        self._min_samples, self._k = min_samples, k
        self._min_dev, self._low_ok, self._high_ok = departure
        self.ready = min_samples <= 0
        self.last_sample = float("-inf")
        self.median = self.sigma = self.lo = self.hi = float("nan")

    def add(self, ts: float, value: float) -> None:
        """Add one sample; refresh median and spread every few samples."""
        if len(self._ring) < self._size:
            self._ring.append(value)
            self.ready = len(self._ring) >= self._min_samples
        else:
            self._ring[self._i] = value
            self._i = (self._i + 1) % self._size
        self.last_sample = ts
        self._dirty += 1
        if self._dirty >= self.REFRESH or self.median != self.median:
            self._refresh()

    def deviant(self, v: float) -> bool:
        """Whether a value departs from the median by more than the threshold, in a direction that matters."""
        if not self.ready:
            return False
        dev = v - self.median
        return dev < self.lo or dev > self.hi

    def _refresh(self) -> None:
        """Median and MAD-sigma of the samples, then the departures that count."""
        self.median, self.sigma = self._median_mad()
        threshold = max(self._k * self.sigma, self._min_dev)
        self.lo = -threshold if self._low_ok else float("-inf")  # a departure this way never counts
        self.hi = threshold if self._high_ok else float("inf")
        self._dirty = 0

    def _median_mad(self) -> tuple[float, float]:
        """(median, 1.4826 * median absolute deviation), sorted by numpy when there are enough samples for it to pay:
        the same order statistics as `sorted` unless a sample is not finite or the median is a zero (whose sign
        depends on the order of equal values), which are left to `_median_mad_sorted`."""
        n = len(self._ring)
        if n < self.NUMPY_FROM:
            return self._median_mad_sorted()
        data = np.array(self._ring, dtype=np.float64)
        data.sort()
        median = 0.5 * (float(data[(n - 1) // 2]) + float(data[n // 2]))
        if median == 0.0 or not np.isfinite(data).all():
            return self._median_mad_sorted()
        np.subtract(data, median, out=data)
        np.abs(data, out=data)
        data.sort()
        return median, 1.4826 * 0.5 * (float(data[(n - 1) // 2]) + float(data[n // 2]))

    def _median_mad_sorted(self) -> tuple[float, float]:
        """`_median_mad` with Python's sort."""
        data = sorted(self._ring)
        n = len(data)
        median = 0.5 * (data[(n - 1) // 2] + data[n // 2])
        dev = sorted(abs(x - median) for x in data)
        return median, 1.4826 * 0.5 * (dev[(n - 1) // 2] + dev[n // 2])


class _Track:
    """One vital sign of one resident: its limit and limit run, the baseline run and the baselines by bucket.

    `calm_low` / `calm_high`, refreshed by `sync` after every step, are the limits while nothing is going on (both
    runs idle, no refractory period, a metric with a baseline); otherwise no value is calm. Readings reach a track in
    time order between restarts (older ones are dropped), so a refractory period over at one step is over for the
    later readings. A calm value is judged from the track and the baseline of its bucket alone, the one last used
    being cached in `bucket` / `base`.
    """

    __slots__ = ("base", "base_run", "baselines", "bucket", "calm_high", "calm_low", "departure", "high", "limit",
                 "low", "metric", "motion", "run")

    def __init__(self, metric: str, limit: Limit) -> None:
        self.metric, self.limit = metric, limit
        self.low = float("-inf") if limit.low is None else limit.low  # an open side never breaches
        self.high = float("inf") if limit.high is None else limit.high
        self.motion = metric in MOTION_SENSITIVE
        self.departure = BASELINE_MIN_DEV.get(metric)  # (minimum, low side counts, high side counts), or None
        self.baselines: dict[int, _Baseline] = {}  # by time-of-day bucket
        self.bucket: float = -1
        self.base: _Baseline | None = None
        self.restart()

    def breach(self, v: float) -> bool:
        """Outside the limits (strictly)."""
        return v < self.low or v > self.high

    def restart(self) -> None:
        """Forget the runs (a device clock reset); the baselines stay."""
        self.run, self.base_run = _Run(), _Run()
        self.sync(float("-inf"))

    def sync(self, ts: float) -> None:
        """Refresh the calm range after a step at `ts`."""
        calm = (self.departure is not None and self.run.start is None and self.base_run.start is None
                and not ts < self.run.quiet_until)
        self.calm_low, self.calm_high = (self.low, self.high) if calm else (float("inf"), float("-inf"))


@dataclass(slots=True)
class _Resident:
    """Per-resident state: one track per vital sign that has a limit for this resident (`moving`: those that are
    still judged while the wearer moves)."""

    resident_id: str
    tracks: dict[str, _Track]
    moving: dict[str, _Track]
    last_ts: float = float("-inf")


class VitalsDetector(Detector):
    """Heart rate, SpO2, skin temperature and blood pressure against limits and the own baseline.

    The settings are read when the detector is built (a resident's limits when the resident is first seen).
    """

    name = "vitals"

    def __init__(self, topology: Topology, settings: VitalsSettings | None = None) -> None:
        self._topology = topology
        self._s = s = settings or VitalsSettings()
        self._residents: dict[str, _Resident] = {}
        self._by_device: dict[str, _Resident] = {}  # wearables seen, while the topology is unchanged
        self._topology_version = topology.version
        per_bucket_s = s.baseline_days * DAY_S / s.buckets
        self._ring_size = max(1, int(per_bucket_s / s.baseline_sample_s))
        self._bucket_s = DAY_S / s.buckets
        self._utc_offset_s, self._moving_steps, self._sample_s = s.utc_offset_s, s.moving_steps, s.baseline_sample_s

    def observe(self, reading: Reading) -> list[Detection]:
        """Check every vital sign the reading carries."""
        return self.observe_batch((reading,))

    def observe_batch(self, readings: Iterable[Reading]) -> list[Detection]:
        """Check a batch of readings in order: the same detections, in the same order, as one `observe` each."""
        out: list[Detection] = []
        topology, by_device = self._topology, self._by_device
        for r in readings:
            if topology.version != self._topology_version:
                self._forget_devices()
            state = by_device.get(r.device_id)
            if state is None:
                state = self._wearer(r.device_id)
                if state is None:
                    continue
            ts = r.ts
            if ts > state.last_ts:
                state.last_ts = ts
            elif not self._clock_reset(state, ts):
                continue  # a duplicate or a small reordering
            self._check_values(state, r, ts, out)
        return out

    def _forget_devices(self) -> None:
        """The topology changed: which resident wears which device is looked up again."""
        self._by_device.clear()
        self._topology_version = self._topology.version

    def _wearer(self, device_id: str) -> _Resident | None:
        """State of the resident wearing a device (remembered per device), or None when it is not a wearable."""
        info = self._topology.get(device_id)
        if info is None or info.kind != SensorKind.WEARABLE:
            return None
        state = self._residents.get(info.resident_id)
        if state is None:
            state = self._residents[info.resident_id] = self._new_resident(info.resident_id)
        self._by_device[device_id] = state
        return state

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """Device events carry no vital signs."""
        return []

    def advance(self, now: float) -> list[Detection]:
        """Vitals alert only on readings; time alone completes nothing."""
        return []

    def _new_resident(self, resident_id: str) -> _Resident:
        """State of a resident seen for the first time, with the resident's limits."""
        tracks = {}
        for metric in DEFAULT_LIMITS:
            lim = self._s.limit(resident_id, metric)
            if lim is not None:
                tracks[metric] = _Track(metric, lim)
        return _Resident(resident_id, tracks, {metric: track for metric, track in tracks.items() if not track.motion})

    def _clock_reset(self, state: _Resident, ts: float) -> bool:
        """A reading not newer than the last: a large backward jump is a device clock reset, which restarts the
        runs; anything else (a duplicate, a small reordering) is dropped."""
        if state.last_ts - ts > self._s.clock_reset_s:
            for track in state.tracks.values():
                track.restart()
            state.last_ts = ts
            return True
        return False

    def _check_values(self, st: _Resident, r: Reading, ts: float, out: list[Detection]) -> None:
        """Judge each vital sign the reading carries (readings taken while moving: only the insensitive ones).

        The common case is settled inline: within the limits and not departing from the baseline while both runs
        are idle, a reading changes nothing but, when one is due, the baseline's sample (an idle run's clock only
        matters once the run opens, and opening it sets it). Anything else takes the full `_check`.
        """
        values, sample_s = r.values, self._sample_s
        # whether the wearer moves only matters for the motion-sensitive signs (HR, SpO2): a reading without them
        # (nine accelerometer windows in ten, issue 20) skips the window's |a| spread
        moving = not MOTION_SENSITIVE.isdisjoint(values) and (
            values.get("steps", 0.0) > self._moving_steps or (r.acc is not None and self._acc_busy(r.acc)))
        tracks = st.moving if moving else st.tracks
        # `_bucket` left a float: made int only when a baseline is looked up (where a non-finite time raises, as it
        # always did); comparing it with the cached bucket needs no int
        bucket = ((ts + self._utc_offset_s) % DAY_S) // self._bucket_s
        for metric, v in values.items():
            track = tracks.get(metric)
            if track is None:
                continue
            if not track.calm_low <= v <= track.calm_high:
                self._check(track, st.resident_id, r, v, out)
                continue
            base = track.base if track.base is not None and track.bucket == bucket else self._baseline(track, bucket)
            if base.ready:  # as `_Baseline.deviant`
                dev = v - base.median
                if dev < base.lo or dev > base.hi:
                    self._check(track, st.resident_id, r, v, out)
                    continue
            if ts - base.last_sample >= sample_s:
                base.add(ts, v)

    def _acc_busy(self, acc: Any) -> bool:
        """Motion artefact from the accelerometer window: the spread of |a| is large."""
        if len(acc) > 1:
            a = np.asarray(acc, dtype=np.float32)
            mag = np.sqrt(np.einsum("ij,ij->i", a, a))
            n = len(mag)
            mean = float(mag.sum()) / n
            # the std as sqrt(E[m^2] - E[m]^2): a third of numpy's std() on a 50-sample window
            return math.sqrt(max(0.0, float(mag @ mag) / n - mean * mean)) > self._s.moving_acc_std_g
        return False

    def _bucket(self, ts: float) -> int:
        """Time-of-day bucket (local time) of a timestamp."""
        return int(((ts + self._s.utc_offset_s) % DAY_S) // self._bucket_s)

    def _baseline(self, track: _Track, bucket: float) -> _Baseline:
        """The track's baseline of a bucket (created empty when first needed), cached as the current one."""
        base = track.baselines.get(int(bucket))
        if base is None:
            s, departure = self._s, track.departure
            assert departure is not None  # only metrics with a baseline have baselines
            base = track.baselines[int(bucket)] = _Baseline(self._ring_size, s.baseline_min_samples, s.baseline_k,
                                                            departure)
        track.bucket, track.base = bucket, base
        return base

    def _check(self, track: _Track, rid: str, r: Reading, v: float, out: list[Detection]) -> None:
        """Limit check first; the baseline is consulted (and learned) only within the limits."""
        lim, run = track.limit, track.run
        breach = track.breach(v)
        run.step(r.ts, breach, lim.max_gap_s, self._s.refractory_s)
        if run.due(r.ts, lim.sustain_s, lim.min_readings):
            out.append(self._detection("vital_limit", rid, r, track.metric, v, run, Severity.CRITICAL))
        elif not (breach or run.alerted or r.ts < run.quiet_until or track.departure is None):
            det = self._check_baseline(track, rid, r, v)
            if det is not None:
                out.append(det)
        track.sync(r.ts)

    def _check_baseline(self, track: _Track, rid: str, r: Reading, v: float) -> Detection | None:
        """Departure from the own median at this time of day, by k robust sigmas and a clinical minimum."""
        bucket = self._bucket(r.ts)
        base = track.base if track.base is not None and track.bucket == bucket else self._baseline(track, bucket)
        run = track.base_run
        deviant = base.deviant(v)
        run.step(r.ts, deviant, 900.0, self._s.refractory_s)
        if not deviant and run.start is None and r.ts - base.last_sample >= self._s.baseline_sample_s:
            base.add(r.ts, v)
        if run.due(r.ts, self._s.baseline_sustain_s, self._s.baseline_min_readings):
            return self._detection("vital_baseline", rid, r, track.metric, v, run, Severity.WARNING,
                                   baseline=base.median)
        return None

    def _detection(
        self, kind: str, rid: str, r: Reading, metric: str, v: float, run: _Run, sev: Severity, **more: float
    ) -> Detection:
        """Build the detection record of a breach, with `more` features (it is frozen: complete before it is built)."""
        duration = r.ts - (run.start if run.start is not None else r.ts)
        return Detection(
            detector=self.name,
            kind=kind,
            subject_id=rid,
            device_id=r.device_id,
            ts=r.ts,
            severity=sev,
            features={"value": v, "duration_s": duration, "readings": float(run.count), **more},
            message=t("det.vitals", metric=word("metric.", metric), value=f"{v:g}", kind=kind_title(kind, metric),
                      seconds=f"{duration:.0f}"),
            key=metric,
        )
