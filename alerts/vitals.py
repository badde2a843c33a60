"""Vital signs against clinical limits set per resident and against the resident's own time-of-day baseline.

A breach must be sustained (a duration and a number of readings) before it alerts, readings taken while the
wearer moves are rejected as motion artefacts, a gap in the data restarts the count, and an episode alerts
once.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

from alerts.topology import SensorKind, Topology
from hub.models import Detection, DeviceEvent, Reading, Severity

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
    """A run of consecutive breaching readings."""

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
    the default sampling), which keeps the cost per reading far below a microsecond on average.
    """

    __slots__ = ("_dirty", "_i", "_ring", "_size", "last_sample", "median", "sigma")
    REFRESH = 6

    def __init__(self, size: int) -> None:
        self._ring = array("f")
        self._i = self._dirty = 0
        self._size = size
        self.last_sample = float("-inf")
        self.median = self.sigma = float("nan")

    def add(self, ts: float, value: float) -> None:
        """Add one sample; refresh median and spread every few samples."""
        if len(self._ring) < self._size:
            self._ring.append(value)
        else:
            self._ring[self._i] = value
            self._i = (self._i + 1) % self._size
        self.last_sample = ts
        self._dirty += 1
        if self._dirty >= self.REFRESH or self.median != self.median:
            self._refresh()

    def _refresh(self) -> None:
        data = sorted(self._ring)
        n = len(data)
        self.median = 0.5 * (data[(n - 1) // 2] + data[n // 2])
        dev = sorted(abs(x - self.median) for x in data)
        self.sigma = 1.4826 * 0.5 * (dev[(n - 1) // 2] + dev[n // 2])
        self._dirty = 0

    def count(self) -> int:
        """Samples held."""
        return len(self._ring)


@dataclass(slots=True)
class _Resident:
    """Per-resident state: runs per metric and baselines per (metric, bucket)."""

    last_ts: float = float("-inf")
    limit_runs: dict[str, _Run] = field(default_factory=dict)
    base_runs: dict[str, _Run] = field(default_factory=dict)
    baselines: dict[tuple[str, int], _Baseline] = field(default_factory=dict)


class VitalsDetector:
    """Heart rate, SpO2, skin temperature and blood pressure against limits and the own baseline."""

    name = "vitals"

    def __init__(self, topology: Topology, settings: VitalsSettings | None = None) -> None:
        self._topology = topology
        self._s = settings or VitalsSettings()
        self._residents: dict[str, _Resident] = {}
        per_bucket_s = self._s.baseline_days * DAY_S / self._s.buckets
        self._ring_size = max(1, int(per_bucket_s / self._s.baseline_sample_s))

    def observe(self, reading: Reading) -> list[Detection]:
        """Check every vital sign the reading carries."""
        info = self._topology.get(reading.device_id)
        if info is None or info.kind != SensorKind.WEARABLE:
            return []
        state = self._residents.setdefault(info.resident_id, _Resident())
        if not self._accept(state, reading.ts):
            return []
        moving = self._moving(reading)
        out: list[Detection] = []
        for metric, value in reading.values.items():
            if metric in DEFAULT_LIMITS and not (moving and metric in MOTION_SENSITIVE):
                det = self._check(state, info.resident_id, reading, metric, value)
                if det is not None:
                    out.append(det)
        return out

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """Device events carry no vital signs."""
        return []

    def advance(self, now: float) -> list[Detection]:
        """Vitals alert only on readings; time alone completes nothing."""
        return []

    def _accept(self, state: _Resident, ts: float) -> bool:
        """Drop duplicates and small reorderings; a large backward jump is a device clock reset."""
        if ts > state.last_ts:
            state.last_ts = ts
            return True
        if state.last_ts - ts > self._s.clock_reset_s:
            state.limit_runs.clear()
            state.base_runs.clear()
            state.last_ts = ts
            return True
        return False

    def _moving(self, reading: Reading) -> bool:
        """Motion artefact: the wearer walked during the reading, or the accelerometer window is busy."""
        if reading.values.get("steps", 0.0) > self._s.moving_steps:
            return True
        if reading.acc is not None and len(reading.acc) > 1:
            mag = np.linalg.norm(np.asarray(reading.acc, dtype=np.float32), axis=1)
            return float(mag.std()) > self._s.moving_acc_std_g
        return False

    def _check(self, st: _Resident, rid: str, r: Reading, metric: str, v: float) -> Detection | None:
        """Limit check first; the baseline is consulted (and learned) only within the limits."""
        lim = self._s.limit(rid, metric)
        if lim is None:
            return None
        run = st.limit_runs.setdefault(metric, _Run())
        breach = (lim.low is not None and v < lim.low) or (lim.high is not None and v > lim.high)
        run.step(r.ts, breach, lim.max_gap_s, self._s.refractory_s)
        if run.due(r.ts, lim.sustain_s, lim.min_readings):
            return self._detection("vital_limit", rid, r, metric, v, run, Severity.CRITICAL)
        if breach or run.alerted or r.ts < run.quiet_until or metric not in BASELINE_MIN_DEV:
            return None
        return self._check_baseline(st, rid, r, metric, v)

    def _check_baseline(self, st: _Resident, rid: str, r: Reading, metric: str, v: float) -> Detection | None:
        """Departure from the own median at this time of day, by k robust sigmas and a clinical minimum."""
        bucket = int(((r.ts + self._s.utc_offset_s) % DAY_S) // (DAY_S / self._s.buckets))
        base = st.baselines.get((metric, bucket))
        if base is None:
            base = st.baselines[(metric, bucket)] = _Baseline(self._ring_size)
        run = st.base_runs.setdefault(metric, _Run())
        deviant = False
        if base.count() >= self._s.baseline_min_samples:
            min_dev, low_ok, high_ok = BASELINE_MIN_DEV[metric]
            dev, thr = v - base.median, max(self._s.baseline_k * base.sigma, min_dev)
            deviant = (low_ok and dev < -thr) or (high_ok and dev > thr)
        run.step(r.ts, deviant, 900.0, self._s.refractory_s)
        if not deviant and run.start is None and r.ts - base.last_sample >= self._s.baseline_sample_s:
            base.add(r.ts, v)
        if run.due(r.ts, self._s.baseline_sustain_s, self._s.baseline_min_readings):
            det = self._detection("vital_baseline", rid, r, metric, v, run, Severity.WARNING)
            det.features["baseline"] = base.median
            return det
        return None

    def _detection(self, kind: str, rid: str, r: Reading, metric: str, v: float, run: _Run, sev: Severity) -> Detection:
        """Build the detection record of a breach."""
        duration = r.ts - (run.start if run.start is not None else r.ts)
        return Detection(
            detector=self.name,
            kind=kind,
            subject_id=rid,
            device_id=r.device_id,
            ts=r.ts,
            severity=sev,
            features={"value": v, "duration_s": duration, "readings": float(run.count)},
            message=f"{metric} {v:g} ({kind.replace('_', ' ')}) for {duration:.0f} s",
        )
