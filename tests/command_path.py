"""The command centre driven along the detector stage's path, for its tests (issue 6, and restarts in issue 7)."""

from __future__ import annotations

from alerts.detection import Detection
from devices.models import Family, Reading
from devices.records import Village
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.feed import CommandFeed

T0 = 1_783_000_000.0
STEP_S = 7200.0  # readings 2 h apart: too sparse for a rise rate, so the level alone decides
V01 = Village("V01", "Village 01", "Yuelu Township", "Yuelu County", 28.10, 112.90)
V02 = Village("V02", "Village 02", "Lugu Township", "Yuelu County", 28.20, 112.90)


def feed(cc: CommandCentre, fd: CommandFeed, device: str, ts: float, **values: float) -> list[Detection]:
    """One reading along the stage's path: detectors in order, then the sink."""
    r = Reading(device, Family.TERMINAL, ts, int(ts), values)
    found = cc.warnings.observe(r) + fd.observe(r)
    cc.on_detections(found)
    return found


def advance(cc: CommandCentre, fd: CommandFeed, now: float) -> list[Detection]:
    """Time passing in the stage: the warning detector, then the feed, then the sink."""
    found = cc.warnings.advance(now) + fd.advance(now)
    cc.on_detections(found)
    return found
