"""Fall datasets of either layout behind one interface: SisFall (waist, 200 Hz) and WEDA-FALL (wrist, bursty stamps).

`load(root)` recognises the layout from its files and returns `Loaded` rows (recording, samples, true impact ts)
as alerts/eval/falls_tuning.py expects them; `replay_any` feeds one row to a FallDetector the way ingest would.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from alerts.detection import Detection
from alerts.eval import falls_dataset, falls_weda
from alerts.falls.detector import FallDetector, WornAt

T = TypeVar("T")
DEFAULT_POSITION: dict[str, WornAt] = {"sisfall": "waist", "weda": "wrist"}
Row = tuple[Any, np.ndarray, float]  # recording, samples (SisFall (n, 3); WEDA (n, 4): t, x, y, z), impact ts


def layout(root: Path) -> str | None:
    """"weda" or "sisfall" from the files under root, None when neither."""
    if falls_weda.is_weda(root):
        return "weda"
    if falls_dataset.find_recordings(root):
        return "sisfall"
    return None


def progress(items: Sequence[T], label: str, width: int = 30) -> Iterator[T]:
    """Yield items while drawing a one-line progress bar on stderr."""
    total = max(1, len(items))
    for i, item in enumerate(items, 1):
        if i == 1 or i == total or i % 10 == 0:
            done = width * i // total
            sys.stderr.write(f"\r{label} [{'#' * done}{'.' * (width - done)}] {i}/{len(items)}")
            sys.stderr.flush()
        yield item
    sys.stderr.write("\n")


def load(root: Path, quiet: bool = False) -> tuple[str | None, list[Row]]:
    """(layout, every recording under root with its samples and true impact device time, NaN for daily activities)."""
    kind = layout(root)
    out: list[Row] = []
    if kind == "weda":
        recs = falls_weda.find_recordings(root)
        for rec in recs if quiet else progress(recs, "loading"):
            t, acc = falls_weda.load_acc(rec.path)
            impact = falls_weda.T0 + falls_weda.impact_time(rec, t, acc) if rec.is_fall else math.nan
            out.append((rec, np.column_stack([t, acc]), impact))
    elif kind == "sisfall":
        srecs = falls_dataset.find_recordings(root)
        for srec in srecs if quiet else progress(srecs, "loading"):
            acc = falls_dataset.load_acc(srec.path)
            impact = falls_dataset.T0 + falls_dataset.impact_index(acc) / falls_dataset.SOURCE_HZ
            out.append((srec, acc, impact if srec.is_fall else math.nan))
    return kind, out


def duration_s(data: np.ndarray) -> float:
    """Length of one recording (s)."""
    if data.shape[1] == 4:
        return float(data[-1, 0] - data[0, 0])
    return len(data) / falls_dataset.SOURCE_HZ


def replay_any(detector: FallDetector, data: np.ndarray, device_id: str) -> list[tuple[Detection, float]]:
    """Replay one recording of either layout; (detection, device time when emitted)."""
    if data.shape[1] == 4:
        return falls_weda.replay(detector, data[:, 0], data[:, 1:].astype(np.float32), device_id)
    return falls_dataset.replay(detector, data, device_id)


def fall_start_ts(rec: Any) -> float | None:
    """Device time at which a fall starts where the dataset marks it (WEDA-FALL), else None."""
    window = getattr(rec, "fall_window", None)
    return None if window is None else falls_weda.T0 + window[0]
