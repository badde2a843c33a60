"""SisFall-layout recordings: discovery from the folder layout, fast parsing, and replay through FallDetector.

Layout (datasets/sisfall-dev/README.md): `SisFall_dataset/<SUBJECT>/<CODE>_<SUBJECT>_R<trial>.txt`, 200 Hz,
nine comma-separated integers per line ending in `;`, ADXL345 in columns 1-3 with g = raw * 32 / 8192.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from alerts.detection import Detection
from alerts.falls.detector import FallDetector
from alerts.falls.features import RATE_HZ, to_internal_rate
from devices.models import Family, Reading

SOURCE_HZ = 200.0
ADXL345_G_PER_COUNT = 32.0 / 8192.0
WINDOW_S = 1.0  # one MQTT telemetry window
T0 = 1_700_000_000.0  # replayed recordings start at this device time
_NAME = re.compile(r"^([DF]\d\d)_([A-Z]{2}\d\d)_R(\d+)\.txt$")


@dataclass(frozen=True, slots=True)
class Recording:
    """One trial file and its labels, read from its name."""

    path: Path
    code: str  # D01..D19 (daily activity) or F01..F15 (fall)
    subject: str  # SA.. young adult, SE.. elderly
    trial: int

    @property
    def is_fall(self) -> bool:
        """True for Fxx codes."""
        return self.code.startswith("F")

    @property
    def group(self) -> str:
        """Age group: "young" (SA) or "elderly" (SE)."""
        return "elderly" if self.subject.startswith("SE") else "young"


def find_recordings(root: Path) -> list[Recording]:
    """Every trial file under `root` (any subjects), sorted by path."""
    found = []
    for path in sorted(Path(root).rglob("*_R*.txt")):
        m = _NAME.match(path.name)
        if m:
            found.append(Recording(path, m[1], m[2], int(m[3])))
    return found


def load_acc(path: Path) -> np.ndarray:
    """ADXL345 samples of one file as float32 (n, 3) in g, at SOURCE_HZ."""
    raw = pd.read_csv(path, header=None, usecols=[0, 1, 2], dtype=np.float32, engine="c").to_numpy()
    return raw * np.float32(ADXL345_G_PER_COUNT)


def impact_index(acc: np.ndarray) -> int:
    """Sample of the largest |a|: the impact, since the dataset carries no impact labels."""
    return int(np.argmax((acc.astype(np.float64) ** 2).sum(axis=1)))


def replay(detector: FallDetector, acc: np.ndarray, device_id: str) -> list[tuple[Detection, float]]:
    """Feed a SOURCE_HZ recording as 1-s 50 Hz windows; return (detection, device time when emitted)."""
    acc50 = to_internal_rate(acc, SOURCE_HZ)
    step = round(WINDOW_S * RATE_HZ)
    out = []
    for seq, lo in enumerate(range(0, len(acc50), step)):
        window = acc50[lo : lo + step]
        ts = T0 + lo / RATE_HZ
        reading = Reading(device_id, Family.WEARABLE, ts, seq, {}, window, float(RATE_HZ))
        emitted_at = ts + len(window) / RATE_HZ
        out += [(d, emitted_at) for d in detector.observe(reading)]
    return out
