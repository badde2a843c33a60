"""WEDA-FALL-layout recordings (wrist-worn watch): discovery, parsing, and replay as bursty MQTT payloads.

Layout (datasets/weda-fall-dev/README.md): `dataset/50Hz/<CODE>/U<id>_R<trial>_accel.csv` with header
`accel_time_list,accel_x_list,accel_y_list,accel_z_list` (s from the recording's start, m/s^2), and
`dataset/fall_timestamps.csv` (`filename,start_time,end_time`, e.g. `F01/U01_R01,4.7,7.7`) for the falls.
The watch delivers samples in bursts; `replay` cuts a recording into 1-s payloads that carry per-sample times,
as the watch would send them, and puts each on the 50 Hz grid exactly as ingest does (devices/acc_timing.py).
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from alerts.detection import Detection
from alerts.falls.detector import FallDetector
from alerts.falls.features import RATE_HZ
from devices.acc_timing import to_grid
from devices.models import Family, Reading

G = 9.80665  # m/s^2 per g
WINDOW_S = 1.0  # one MQTT telemetry payload
T0 = 1_700_000_000.0  # replayed recordings start at this device time
ELDERLY_FROM = 21  # U21-U26 are the elderly subjects of WEDA-FALL (README)
_NAME = re.compile(r"^U(\d\d)_R(\d+)_accel\.csv$")


@dataclass(frozen=True, slots=True)
class WedaRecording:
    """One trial file, its labels read from its path, and the hand-marked fall interval (s) where known."""

    path: Path
    code: str  # D01..D11 (daily activity) or F01..F08 (fall)
    subject: str  # U01..U09 young adults, U21..U26 elderly
    trial: int
    fall_window: tuple[float, float] | None = None

    @property
    def is_fall(self) -> bool:
        """True for Fxx codes."""
        return self.code.startswith("F")

    @property
    def group(self) -> str:
        """Age group: "elderly" (U21 and above) or "young"."""
        return "elderly" if int(self.subject[1:]) >= ELDERLY_FROM else "young"


def is_weda(root: Path) -> bool:
    """True when `root` holds WEDA-FALL accelerometer files (`U<id>_R<trial>_accel.csv`)."""
    return any(_NAME.match(p.name) for p in Path(root).rglob("U*_R*_accel.csv"))


def _fall_windows(root: Path) -> dict[str, tuple[float, float]]:
    """`F01/U01_R01` -> (start, end) from every fall_timestamps.csv under root."""
    out: dict[str, tuple[float, float]] = {}
    for f in sorted(Path(root).rglob("fall_timestamps.csv")):
        with f.open(newline="") as fh:
            for row in csv.DictReader(fh):
                out[row["filename"].strip()] = (float(row["start_time"]), float(row["end_time"]))
    return out


def find_recordings(root: Path) -> list[WedaRecording]:
    """Every `<CODE>/U<id>_R<trial>_accel.csv` under root, sorted by path."""
    windows = _fall_windows(root)
    found = []
    for path in sorted(Path(root).rglob("U*_R*_accel.csv")):
        m = _NAME.match(path.name)
        code = path.parent.name
        if not m or not re.fullmatch(r"[DF]\d\d", code):
            continue
        key = f"{code}/U{m[1]}_R{m[2]}"
        found.append(WedaRecording(path, code, f"U{m[1]}", int(m[2]), windows.get(key)))
    return found


def load_acc(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times in s as float64 (n,), accelerations in g as float32 (n, 3)) of one file, in file order."""
    df = pd.read_csv(path, dtype=np.float64, engine="c")
    t = df.iloc[:, 0].to_numpy()
    acc = (df.iloc[:, 1:4].to_numpy() / G).astype(np.float32)
    return t, acc


def impact_time(rec: WedaRecording, t: np.ndarray, acc: np.ndarray) -> float:
    """The true impact (s from the start): the largest |a| inside the hand-marked fall interval (NaN for ADL)."""
    if not rec.is_fall:
        return float("nan")
    mag2 = (acc.astype(np.float64) ** 2).sum(axis=1)
    lo, hi = rec.fall_window if rec.fall_window else (t[0], t[-1])
    inside = np.flatnonzero((t >= lo) & (t <= hi))
    if len(inside) == 0:
        inside = np.arange(len(t))
    return float(t[inside[np.argmax(mag2[inside])]])


def payloads(t: np.ndarray, acc: np.ndarray, t0: float = T0) -> list[tuple[float, np.ndarray]]:
    """The 50 Hz windows ingest would make of 1-s payloads with per-sample times: [(ts of first sample, (m, 3))]."""
    out = []
    n_win = int(np.floor(t[-1] / WINDOW_S)) + 1
    edges = np.searchsorted(t, np.arange(n_win + 1) * WINDOW_S)
    for lo, hi in itertools.pairwise(edges):
        if hi > lo:
            ts, grid = to_grid(t0 + t[lo:hi], acc[lo:hi], float(RATE_HZ))
            if len(grid):
                out.append((ts, grid))
    return out


def replay(
    detector: FallDetector, t: np.ndarray, acc: np.ndarray, device_id: str
) -> list[tuple[Detection, float]]:
    """Feed a recording as bursty 1-s payloads; return (detection, device time when emitted)."""
    out = []
    for seq, (ts, window) in enumerate(payloads(t, acc)):
        reading = Reading(device_id, Family.WEARABLE, ts, seq, {}, window, float(RATE_HZ))
        emitted_at = ts + len(window) / RATE_HZ
        out += [(d, emitted_at) for d in detector.observe(reading)]
    return out
