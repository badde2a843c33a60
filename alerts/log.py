"""Detections as kept in the state database and announced on the live bus."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from hub.bus import Bus
from hub.models import Detection
from hub.state import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS detections (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,
        detector TEXT NOT NULL, kind TEXT NOT NULL, subject_id TEXT NOT NULL, device_id TEXT NOT NULL,
        severity TEXT NOT NULL, confidence REAL NOT NULL, features TEXT NOT NULL, message TEXT NOT NULL)""",
)


class DetectionLog:
    """Stores detections and publishes them as `detection` frames."""

    def __init__(self, db: StateDB, bus: Bus) -> None:
        self.db = db
        self.bus = bus
        db.migrate(DDL)

    def __call__(self, detections: list[Detection]) -> None:
        """Sink for the detector stage."""
        self.db.executemany(
            "INSERT INTO detections (ts, detector, kind, subject_id, device_id, severity, confidence, features,"
            " message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(d.ts, d.detector, d.kind, d.subject_id, d.device_id, d.severity.value, d.confidence,
              orjson.dumps(d.features).decode(), d.message) for d in detections])
        for d in detections:
            self.bus.publish("detection", asdict(d))

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest detections first."""
        rows = self.db.execute("SELECT * FROM detections ORDER BY id DESC LIMIT ?", [limit])
        return [{**dict(r), "features": orjson.loads(r["features"])} for r in rows]
