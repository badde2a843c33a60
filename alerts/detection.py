"""What detectors emit: a `Detection` with its `Severity` (the alert stage's output record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How urgent a detection is for the call centre or the command room."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Detection:
    """What a detector emits: a fall, a vital-sign breach, inactivity, smoke, a gauge crossing...

    `subject_id` is the resident, home, device or area the detection is about; `features` carries the evidence
    numbers (peak |a|, duration of the breach, level reached...), `confidence` is 0..1. Its identity is
    (detector, kind, subject_id, device_id, ts, key): detecting the same input again (a redelivery after a crash)
    gives the same identity, which the sinks keep once. `key` tells apart detections that share the rest, such as
    two vital signs breaching in one reading.
    """

    detector: str
    kind: str
    subject_id: str
    device_id: str
    ts: float
    severity: Severity
    confidence: float = 1.0
    features: dict[str, float] = field(default_factory=dict)
    message: str = ""
    key: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str, float, str]:
        """What makes two detections the same alert."""
        return (self.detector, self.kind, self.subject_id, self.device_id, self.ts, self.key)
