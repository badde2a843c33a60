"""The learned rhythm of each home, kept in the state database (SQLite or PostgreSQL), so a restart of the hub keeps
what the routine detector learned (issue 21): the silences it learned, one row each (appended, old ones pruned), and
one row per home with the rest (wake-up times, bathroom visits, counts per sensor, the current silence's context).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from alerts.care.rhythm import Silence
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS home_rhythm (home_id TEXT PRIMARY KEY, state TEXT NOT NULL,
        saved_ts REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS rhythm_silences (home_id TEXT NOT NULL, end_ts REAL NOT NULL,
        sensor TEXT NOT NULL, tod REAL NOT NULL, length REAL NOT NULL, zone TEXT NOT NULL,
        PRIMARY KEY (home_id, end_ts, sensor))""",
)
KEEP_S = 400 * 86_400.0  # learned silences older than this (by the home's clock) are pruned


class RhythmStore:
    """Reads and writes home_rhythm and rhythm_silences (the routine detector's `RhythmKeeper`)."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def load(self, home_id: str) -> tuple[dict[str, Any], list[Silence]] | None:
        """A home's saved state and its learned silences, oldest first; None if it was never saved."""
        rows = self.db.execute("SELECT state FROM home_rhythm WHERE home_id = ?", (home_id,))
        if not rows:
            return None
        silences = [Silence(r["end_ts"], r["tod"], r["length"], r["sensor"], r["zone"]) for r in self.db.execute(
            "SELECT * FROM rhythm_silences WHERE home_id = ? ORDER BY end_ts", (home_id,))]
        return orjson.loads(rows[0]["state"]), silences

    def save(self, home_id: str, state: dict[str, Any], fresh: list[Silence]) -> None:
        """Write one home's state and append the silences it learned since the last save."""
        if fresh:
            self.db.executemany("INSERT OR IGNORE INTO rhythm_silences VALUES (?, ?, ?, ?, ?, ?)",
                                [(home_id, x.end_ts, x.sensor, x.tod, x.length, x.zone) for x in fresh])
            self.db.execute("DELETE FROM rhythm_silences WHERE home_id = ? AND end_ts < ?",
                            (home_id, fresh[-1].end_ts - KEEP_S))
        self.db.execute("INSERT OR REPLACE INTO home_rhythm VALUES (?, ?, ?)",
                        (home_id, orjson.dumps(state).decode(), time.time()))
