"""Retention of raw telemetry (issue 8): readings and fall evidence clips older than HUB_STORE__RETENTION_DAYS go.

A stage of the hub when the setting is above 0 (0 keeps everything). It sweeps at start and then hourly; with
several workers each sweeps, which is harmless (a delete by time is idempotent). Dead letters past the period go
too (issue 16; the journal also deletes them after HUB_INGEST__DEAD_LETTER_DAYS). Incidents, detections and the
audit and access logs are records of what happened and are kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from devices.statedb.sqlite import StateDB
from ingest.journal import Journal
from ingest.store.base import StoreError, TimeSeriesStore

logger = logging.getLogger(__name__)
DAY_S = 86_400.0
SWEEP_EVERY_S = 3600.0


@dataclass(frozen=True, slots=True)
class Swept:
    """What one sweep deleted (readings -1: the store does not count)."""

    cutoff: float
    readings: int
    clips: int
    dead_letters: int = 0


class Retention:
    """Deletes raw telemetry past the retention period."""

    def __init__(self, store: TimeSeriesStore, db: StateDB, days: float, clock: Callable[[], float] = time.time,
                 every_s: float = SWEEP_EVERY_S) -> None:  # fmt: skip
        if days <= 0:
            raise ValueError("retention days must be above 0 (0 means keep forever: no Retention stage)")
        self.store, self.db, self.days, self.clock, self.every_s = store, db, days, clock, every_s

    def sweep(self) -> Swept:
        """Delete readings and evidence clips older than the retention period."""
        cutoff = self.clock() - self.days * DAY_S
        readings = self.store.delete_before(cutoff)
        clips = int(self.db.execute("SELECT count(*) AS n FROM evidence WHERE impact_ts < ?", [cutoff])[0]["n"])
        if clips:
            self.db.execute("DELETE FROM evidence WHERE impact_ts < ?", [cutoff])
        letters = Journal(self.db).prune(cutoff)
        logger.info("retention: deleted %s readings, %d evidence clips and %d dead letters before %.0f", readings,
                    clips, letters, cutoff)
        return Swept(cutoff, readings, clips, letters)

    async def run(self) -> None:
        """Sweep now and every `every_s`; a store that is down is retried at the next sweep."""
        while True:
            try:
                await asyncio.to_thread(self.sweep)
            except StoreError as exc:
                logger.warning("retention sweep failed (%s); retrying in %.0f s", exc, self.every_s)
            await asyncio.sleep(self.every_s)
