"""A durable, bounded FIFO of reading batches on local disk, for when the time-series store is down or slow.

Issue 7: ingest spools a batch it could not store, acks it (it is durable here), keeps going, and a drainer writes
the batches to the store oldest first once it answers, deleting them only after the store took them. One SQLite
file (WAL, synchronous=FULL: every append is on disk before the messages are acked), one row per batch, readings
as msgpack. The bound counts the batches' encoded bytes; above `alarm_fraction` of it the alarm is raised, and
when full `append` refuses, so the caller stops acking and the broker holds the rest (nothing is dropped).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from devices.models import Family, Reading

logger = logging.getLogger(__name__)
_Row = tuple[str, str, float, int, dict[str, float]]
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[_Row])


@dataclass(slots=True)
class SpoolStats:
    """What /api/stats shows of the spool (under ingest.spool)."""

    bytes: int = 0
    batches: int = 0
    max_bytes: int = 0
    alarm: bool = False
    spooled_batches: int = 0
    drained_batches: int = 0


def encode(readings: Sequence[Reading]) -> bytes:
    """The stored fields of a batch as msgpack (the accelerometer window is not kept, as in the stores)."""
    return _encoder.encode([(r.device_id, r.family.value, r.ts, r.seq, r.values) for r in readings])


def decode(body: bytes) -> list[Reading]:
    """Readings back from `encode`."""
    return [Reading(d, Family(f), ts, seq, values) for d, f, ts, seq, values in _decoder.decode(body)]


class Spool:
    """Batches of readings in a SQLite file, first in first out; thread-safe, blocking (call it from a thread)."""

    def __init__(self, path: Path, max_bytes: int, alarm_fraction: float = 0.8) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=FULL")
        self._con.execute("CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB)")
        size, count = self._con.execute("SELECT coalesce(sum(length(body)), 0), count(*) FROM batches").fetchone()
        self.stats = SpoolStats(int(size), int(count), max_bytes)
        self._alarm_bytes = int(max_bytes * alarm_fraction)
        self._update_alarm()

    @property
    def empty(self) -> bool:
        """No batch waits."""
        return self.stats.batches == 0

    def append(self, readings: Sequence[Reading]) -> bool:
        """Durably add a batch at the end; False (nothing written) when it would pass the bound."""
        body = encode(readings)
        with self._lock:
            if self.stats.batches and self.stats.bytes + len(body) > self.stats.max_bytes:
                return False  # an empty spool takes any one batch, so a huge batch cannot block forever
            self._con.execute("INSERT INTO batches (body) VALUES (?)", (body,))
            self.stats.bytes += len(body)
            self.stats.batches += 1
            self.stats.spooled_batches += 1
            self._update_alarm()
        return True

    def peek(self, max_readings: int) -> tuple[list[int], list[Reading]]:
        """The oldest batches, up to about `max_readings` readings (at least one batch): their ids and readings."""
        ids: list[int] = []
        readings: list[Reading] = []
        with self._lock:
            for batch_id, body in self._con.execute("SELECT id, body FROM batches ORDER BY id"):
                batch = decode(body)
                if ids and len(readings) + len(batch) > max_readings:
                    break
                ids.append(int(batch_id))
                readings += batch
        return ids, readings

    def remove(self, ids: Sequence[int]) -> None:
        """Delete batches the store has taken."""
        with self._lock:
            self._con.execute("BEGIN")
            for batch_id in ids:
                row = self._con.execute("DELETE FROM batches WHERE id = ? RETURNING length(body)", (batch_id,))
                for (size,) in row.fetchall():
                    self.stats.bytes -= int(size)
                    self.stats.batches -= 1
                    self.stats.drained_batches += 1
            self._con.execute("COMMIT")
            self._update_alarm()

    def device_seqs(self) -> dict[str, tuple[list[int], float]]:
        """Per device, the seqs waiting here and their newest ts (to seed dedup after a restart)."""
        out: dict[str, tuple[list[int], float]] = {}
        for r in self.peek(1 << 62)[1]:
            seqs, last = out.get(r.device_id, ([], 0.0))
            seqs.append(r.seq)
            out[r.device_id] = (seqs, max(last, r.ts))
        return out

    def _update_alarm(self) -> None:
        alarm = self.stats.bytes >= self._alarm_bytes
        if alarm and not self.stats.alarm:
            logger.error(
                "SPOOL ALARM: %s holds %d bytes in %d batches, %.0f%% of its %d-byte bound; the store "
                "is not taking writes, and at the bound ingest stops acking",
                self.path,
                self.stats.bytes,
                self.stats.batches,
                100 * self.stats.bytes / self.stats.max_bytes,
                self.stats.max_bytes,
            )
        elif self.stats.alarm and not alarm:
            logger.warning("spool alarm cleared: %d bytes in %d batches", self.stats.bytes, self.stats.batches)
        self.stats.alarm = alarm

    def close(self) -> None:
        """Close the file (what it holds stays for the next start)."""
        with self._lock:
            self._con.close()
