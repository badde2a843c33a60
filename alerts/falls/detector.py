"""Server-side fall detector over wearable accelerometer windows (issue 3).

Streaming and pure: one small state per wearable (`Reading.device_id`), data time only, numpy. Each window is
resampled to 50 Hz, placed by its own `ts` (duplicates and late windows are dropped, gaps kept as NaN),
and scanned for an impact above `ARM_G`. An impact cluster is decided once 1.2 s of data follow its peak,
with the rule of `alerts/falls/features.py`; a fall latches the device for `latch_s` (or until an "ok"
event), so each fall gives exactly one Detection, stamped with the impact time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import numpy as np

from alerts.detection import Detection, Severity
from alerts.detector import Detector
from alerts.falls.features import POST_N, PRE_N, RATE_HZ, FallThresholds, confidence, impact_features, is_fall
from alerts.falls.features import to_internal_rate as to_internal_rate
from alerts.falls.model import FallModel, load_models, segment_features
from devices.i18n import t
from devices.models import DeviceEvent, Reading

WornAt = Literal["waist", "wrist", "pendant"]
ARM_G = 1.8  # |a| above this opens an impact cluster (below every tuned impact threshold)
CLUSTER_N = RATE_HZ  # an impact cluster spans 1 s from its first sample above ARM_G; its peak is the impact
BUF_N = 10 * RATE_HZ  # history kept per device: enough for PRE_N + cluster + POST_N + one long window
BRIDGE_N = round(0.25 * RATE_HZ)  # gaps up to this long between windows (a watch's bursts) are interpolated
# Waist and wrist: decided by the learned models (DEFAULT_MODELS: SisFall dev and WEDA-FALL dev, fitted by
# scripts/train_falls.py). In 5-fold leave-subjects-out CV (`python -m alerts.falls_eval DIR --cv 5`) the waist model
# (the threshold rule, with thresholds it carries, OR the model at a high cut) reached 99.0 % / 99.4 % where the
# waist thresholds below alone, re-tuned per fold, reached 97.1 % / 99.4 %; the wrist model 95.6 % / 96.0 % where the
# wrist thresholds, re-tuned per fold, reached 61 % / 85 %. The thresholds below serve if the model file is missing
# (waist: tuned on all 23 SisFall dev subjects; wrist: judgement, claps reach 3-4 g there).
# Pendant: no pendant data in the dev sets. A pendant rides on the chest, on the trunk like a waist device, so
# falls look like trunk falls: the waist thresholds, except the pre-fall "upright" check, since a pendant turns
# on its cord and its axes do not follow the trunk (`falls_eval SISFALL --worn-at pendant` measures that rule).
# The waist model is not used there for the same reason: it learned the belt's axes (pre- and post-fall tilt).
_TRUNK = {"peak_g": 2.0, "hard_peak_g": 4.0, "freefall_g": 0.8, "orientation_deg": 45.0, "stillness_g": 1.1}
DEFAULT_THRESHOLDS: dict[str, FallThresholds] = {
    "waist": FallThresholds(**_TRUNK, pre_tilt_max_deg=70.0),
    "pendant": FallThresholds(**_TRUNK),  # no "upright before" check: see above
    "wrist": FallThresholds(peak_g=4.0, hard_peak_g=6.0, freefall_g=0.5, orientation_deg=45.0, stillness_g=0.3),
}
DEFAULT_MODELS: dict[str, FallModel] = load_models()  # learned per-position models (scripts/train_falls.py)
Observer = Callable[[str, float, float, dict[str, float]], None]  # device, impact ts, decided at, features


class _Track:
    """Per-device state: the recent samples at RATE_HZ, indexed from the device's first window."""

    __slots__ = ("buf", "latch_end", "n", "origin", "pending", "scan_from")

    def __init__(self, origin: float) -> None:
        self.buf = np.full((BUF_N, 3), np.nan, dtype=np.float32)
        self.origin = origin  # device time of sample index 0
        self.n = 0  # index of the next sample
        self.scan_from = 0
        self.pending: list[int] | None = None  # [cluster start, peak index]
        self.latch_end = -1

    def append(self, chunk: np.ndarray) -> None:
        """Append samples (older ones fall off the front)."""
        m = len(chunk)
        if m >= BUF_N:
            self.buf[:] = chunk[-BUF_N:]
        else:
            self.buf[:-m] = self.buf[m:]
            self.buf[-m:] = chunk
        self.n += m

    def mag(self, lo: int, hi: int) -> np.ndarray:
        """|a| of samples lo..hi-1 still in the buffer (NaN for gaps)."""
        seg = self.buf[lo - self.n + BUF_N : hi - self.n + BUF_N]
        return np.sqrt((seg * seg).sum(axis=1))

    def segment(self, peak: int) -> np.ndarray:
        """Samples peak-PRE_N .. peak+POST_N, NaN where not (or no longer) available."""
        out = np.full((PRE_N + 1 + POST_N, 3), np.nan, dtype=np.float32)
        lo, hi = max(peak - PRE_N, self.n - BUF_N), min(peak + POST_N + 1, self.n)
        if hi > lo:
            out[lo - peak + PRE_N : hi - peak + PRE_N] = self.buf[lo - self.n + BUF_N : hi - self.n + BUF_N]
        return out


class FallDetector(Detector):
    """Detector protocol implementation (`name = "fall"`); see the module docstring."""

    name = "fall"

    def __init__(
        self,
        worn_at: WornAt = "waist",
        devices_worn_at: Mapping[str, WornAt] | None = None,
        thresholds: Mapping[str, FallThresholds] | None = None,
        latch_s: float = 60.0,
        observer: Observer | None = None,
        models: Mapping[str, FallModel | None] | None = None,
    ) -> None:
        self.worn_at = worn_at
        self._worn_at: dict[str, str] = dict(devices_worn_at or {})
        self._thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        # a position with a model decides with it; a model of None, or thresholds given for the position without
        # a model, fall back to the threshold rule there
        given = dict(models or {})
        self._models = {k: v for k, v in {**DEFAULT_MODELS, **given}.items()
                        if v is not None and (k in given or k not in (thresholds or {}))}
        self._latch_n = round(latch_s * RATE_HZ)
        self._observer = observer
        self._tracks: dict[str, _Track] = {}
        self._arm2 = ARM_G * ARM_G

    def set_worn_at(self, device_id: str, worn_at: WornAt) -> None:
        """Record where a device is worn (from the device registry)."""
        self._worn_at[device_id] = worn_at

    def observe(self, reading: Reading) -> list[Detection]:
        """Feed one telemetry reading; readings without `acc` are ignored."""
        if reading.acc is None or len(reading.acc) == 0:
            return []
        chunk = to_internal_rate(np.asarray(reading.acc, dtype=np.float32), reading.acc_rate_hz)
        return self._ingest(reading.device_id, reading.ts, chunk, None)

    def observe_batch(self, readings: Iterable[Reading]) -> list[Detection]:
        """Feed many readings (any devices) at once; |a| screening of equal-length windows is vectorised."""
        rs = [r for r in readings if r.acc is not None and len(r.acc)]
        chunks = [to_internal_rate(np.asarray(r.acc, dtype=np.float32), r.acc_rate_hz) for r in rs]
        peaks2: list[float | None] = [None] * len(rs)
        if chunks and all(len(c) == len(chunks[0]) for c in chunks):
            stack = np.stack(chunks)
            peaks2 = np.einsum("bij,bij->bi", stack, stack).max(axis=1).tolist()
        out: list[Detection] = []
        for r, chunk, p2 in zip(rs, chunks, peaks2, strict=True):
            out += self._ingest(r.device_id, r.ts, chunk, p2)
        return out

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """An "ok" (I'm OK) event releases the device's fall latch; other events are not this detector's."""
        track = self._tracks.get(event.device_id)
        if event.event == "ok" and track is not None:
            track.latch_end = -1
        return []

    def advance(self, now: float) -> list[Detection]:
        """Time alone completes nothing here: a fall needs the post-impact samples to be confirmed."""
        return []

    def _ingest(self, device_id: str, ts: float, chunk: np.ndarray, peak2: float | None) -> list[Detection]:
        """Place a window by its time, drop what was already processed, pad gaps, then screen for impacts."""
        track = self._tracks.get(device_id)
        if track is None:
            track = self._tracks[device_id] = _Track(ts)
        start = round((ts - track.origin) * RATE_HZ)
        if start < track.n:  # duplicate, late or overlapping: keep only the new tail
            chunk = chunk[track.n - start :]
            if len(chunk) == 0:
                return []
            peak2 = None
        elif start > track.n and start - track.n <= BRIDGE_N and track.n and np.isfinite(track.buf[-1]).all():
            # short gap between bursts: linear bridge from the last sample to the new window's first
            w = (np.arange(1, start - track.n + 1, dtype=np.float32) / (start - track.n + 1))[:, None]
            track.append((1 - w) * track.buf[-1] + w * chunk[0])
        elif start > track.n:  # longer gap: unknown samples stay NaN
            track.append(np.full((min(start - track.n, BUF_N), 3), np.nan, dtype=np.float32))
            track.n = start
        track.append(chunk)
        if track.pending is None:
            if peak2 is None:
                peak2 = float(np.einsum("ij,ij->i", chunk, chunk).max())
            if not peak2 >= self._arm2:
                track.scan_from = track.n
                return []
        return self._scan(device_id, track)

    def _scan(self, device_id: str, track: _Track) -> list[Detection]:
        """Open, grow and decide impact clusters over the samples not yet scanned."""
        out: list[Detection] = []
        while True:
            if track.pending is None:
                lo = max(track.scan_from, track.n - BUF_N)
                above = np.flatnonzero(track.mag(lo, track.n) >= ARM_G)
                if len(above) == 0:
                    track.scan_from = track.n
                    return out
                track.pending = [lo + int(above[0]), lo + int(above[0])]
            start = track.pending[0]
            hi = min(start + CLUSTER_N, track.n)
            lo = max(start, track.n - BUF_N)
            mag = track.mag(lo, hi)
            if np.isfinite(mag).any():  # else the cluster has left the buffer (long gap): keep its peak
                track.pending[1] = lo + int(np.nanargmax(mag))
            peak = track.pending[1]
            if track.n < max(start + CLUSTER_N, peak + POST_N + 1):
                return out
            track.pending, track.scan_from = None, start + CLUSTER_N
            if peak >= track.latch_end:
                out += self._decide(device_id, track, peak)

    def _decide(self, device_id: str, track: _Track, peak: int) -> list[Detection]:
        """Compute the evidence around one impact and emit a Detection if it is a fall."""
        seg = track.segment(peak)
        features = impact_features(seg)
        position = self._worn_at.get(device_id, self.worn_at)
        model = self._models.get(position)
        if model is not None:
            features.update(segment_features(seg))
        ts = track.origin + peak / RATE_HZ
        if self._observer is not None:
            self._observer(device_id, ts, track.origin + track.n / RATE_HZ, features)
        th = self._thresholds[position]
        if not (model.is_fall(features) if model is not None else is_fall(features, th)):
            return []
        track.latch_end = peak + self._latch_n
        turned = features["orientation_change_deg"]
        message = t("det.fall.impact", peak=f"{features['peak_g']:.1f}", turned=f"{turned:.0f}")
        return [
            Detection(
                self.name,
                "fall",
                device_id,
                device_id,
                ts,
                Severity.CRITICAL,
                confidence(features, th) if model is None else model.confidence(features),
                features,
                message,
            )
        ]
