"""Per-recording scoring of fall alerts and the summary figures (sensitivity, specificity, false alarms/h).

A fall recording counts as detected only with exactly one alert whose impact time is no earlier than
`EARLY_TOLERANCE_S` before the true impact (the sample of largest |a|); a daily-activity recording must raise
none. Latency is the device time at which the alert was emitted (end of the window that completed it) minus
the impact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

EARLY_TOLERANCE_S = 0.5


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one recording was scored."""

    code: str
    subject: str
    group: str
    is_fall: bool
    duration_s: float
    n_alerts: int
    correct: bool
    latency_s: float | None  # falls detected correctly only


def score_recording(
    code: str,
    subject: str,
    group: str,
    duration_s: float,
    impact_ts: float | None,
    alerts: list[tuple[float, float]],
    fall_start_ts: float | None = None,
) -> Outcome:
    """Score one recording from its alerts as (impact ts claimed, emitted at); impact_ts is None for ADL.

    Where the dataset marks when the fall starts (`fall_start_ts`), an alert claiming an impact from then on
    (less the tolerance) is the fall's, even if before the largest |a|.
    """
    if impact_ts is None:
        return Outcome(code, subject, group, False, duration_s, len(alerts), not alerts, None)
    earliest = impact_ts if fall_start_ts is None else min(impact_ts, fall_start_ts)
    ok = len(alerts) == 1 and alerts[0][0] >= earliest - EARLY_TOLERANCE_S
    latency = alerts[0][1] - impact_ts if ok else None
    return Outcome(code, subject, group, True, duration_s, len(alerts), ok, latency)


def _rate(outcomes: list[Outcome]) -> float:
    """Share of correct outcomes (NaN when empty)."""
    return sum(o.correct for o in outcomes) / len(outcomes) if outcomes else float("nan")


def summarise(outcomes: Iterable[Outcome]) -> dict[str, float]:
    """Sensitivity, specificity, false alarms per hour of ADL, latency median and p95 (s), recording count."""
    outs = list(outcomes)
    falls = [o for o in outs if o.is_fall]
    adls = [o for o in outs if not o.is_fall]
    adl_hours = sum(o.duration_s for o in adls) / 3600.0
    lat = np.array([o.latency_s for o in falls if o.latency_s is not None])
    return {
        "sensitivity": _rate(falls),
        "specificity": _rate(adls),
        "false_alarms_per_hour": sum(o.n_alerts for o in adls) / adl_hours if adl_hours else float("nan"),
        "latency_median_s": float(np.median(lat)) if len(lat) else float("nan"),
        "latency_p95_s": float(np.percentile(lat, 95)) if len(lat) else float("nan"),
        "recordings": len(outs),
        "falls": len(falls),
        "adl_recordings": len(adls),
        "adl_hours": adl_hours,
    }


def breakdown(outcomes: Iterable[Outcome], key: str) -> dict[str, tuple[int, int]]:
    """(correct, total) per value of an Outcome attribute such as "code" or "group"."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        row = table[str(getattr(o, key))]
        row[0] += o.correct
        row[1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(table.items())}
