"""Detections as kept in the state database and announced on the live bus."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import orjson

from alerts.detection import Detection
from alerts.falls.evidence import EvidenceClip
from alerts.frames import LiveFrames
from devices.place_sql import EVERYWHERE, PlaceFilter
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS detections (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,
        detector TEXT NOT NULL, kind TEXT NOT NULL, subject_id TEXT NOT NULL, device_id TEXT NOT NULL,
        severity TEXT NOT NULL, confidence REAL NOT NULL, features TEXT NOT NULL, message TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS detections_by_kind ON detections (kind, ts)",
    """CREATE TABLE IF NOT EXISTS evidence (device_id TEXT NOT NULL, impact_ts REAL NOT NULL, start_ts REAL NOT NULL,
        n INTEGER NOT NULL, samples BLOB NOT NULL, PRIMARY KEY (device_id, impact_ts))""",
)
IDENTITY = "detector = ? AND kind = ? AND subject_id = ? AND device_id = ? AND ts = ? AND alert_key = ?"


class DetectionLog:
    """Stores detections and publishes them as `detection` frames."""

    def __init__(self, db: StateDB, bus: LiveFrames) -> None:
        self.db = db
        self.bus = bus
        db.migrate(DDL)
        db.add_column("detections", "alert_key", "TEXT NOT NULL DEFAULT ''")  # issue 7: identity of an alert
        db.migrate(["CREATE INDEX IF NOT EXISTS detections_identity ON detections"
                    " (device_id, ts, detector, kind, subject_id, alert_key)"])
        self.repeated = 0  # detections already kept (detected again after a redelivery), not kept twice

    def __call__(self, detections: list[Detection]) -> None:
        """Sink for the detector stage: keeps and announces each detection once, by its identity."""
        fresh = {d.identity: d for d in detections if not self.known(d)}
        self.repeated += len(detections) - len(fresh)
        if not fresh:
            return
        self.db.executemany(
            "INSERT INTO detections (ts, detector, kind, subject_id, device_id, severity, confidence, features,"
            " message, alert_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(d.ts, d.detector, d.kind, d.subject_id, d.device_id, d.severity.value, d.confidence,
              orjson.dumps(d.features).decode(), d.message, d.key) for d in fresh.values()])
        for d in fresh.values():
            self.bus.publish("detection", asdict(d))

    def known(self, d: Detection) -> bool:
        """True when a detection with this identity is kept already."""
        return bool(self.db.execute(f"SELECT 1 FROM detections WHERE {IDENTITY} LIMIT 1", d.identity))

    def last_falls(self, since_ts: float) -> dict[str, float]:
        """Impact time of each wearable's newest fall alert since `since_ts` (device time)."""
        rows = self.db.execute("SELECT device_id, MAX(ts) AS ts FROM detections WHERE kind = 'fall' AND ts >= ?"
                               " GROUP BY device_id", [since_ts])
        return {r["device_id"]: r["ts"] for r in rows}

    def store_clips(self, clips: list[EvidenceClip]) -> None:
        """Keep accelerometer evidence clips (float32 t,x,y,z rows) beside their alerts."""
        self.db.executemany(
            "INSERT OR REPLACE INTO evidence (device_id, impact_ts, start_ts, n, samples) VALUES (?, ?, ?, ?, ?)",
            [(c.device_id, c.impact_ts, c.start_ts, len(c.samples), c.samples.tobytes()) for c in clips])
        for c in clips:
            self.bus.publish("evidence", {"device_id": c.device_id, "impact_ts": c.impact_ts, "n": len(c.samples)})

    def clip(self, device_id: str, impact_ts: float) -> EvidenceClip | None:
        """The evidence clip of one fall, if stored."""
        rows = self.db.execute("SELECT * FROM evidence WHERE device_id = ? AND abs(impact_ts - ?) < 0.001",
                               [device_id, impact_ts])
        if not rows:
            return None
        samples = np.frombuffer(rows[0]["samples"], dtype=np.float32).reshape(-1, 4)
        return EvidenceClip(device_id, rows[0]["impact_ts"], rows[0]["start_ts"], samples)

    def recent(self, limit: int = 100, places: PlaceFilter | None = None) -> list[dict[str, Any]]:
        """Newest detections first; with `places`, those of their devices only."""
        cond, params = places.devices("device_id") if places is not None else EVERYWHERE
        rows = self.db.execute(f"SELECT * FROM detections WHERE {cond} ORDER BY id DESC LIMIT ?", [*params, limit])
        return [{**dict(r), "features": orjson.loads(r["features"])} for r in rows]
