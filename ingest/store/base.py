"""The time-series store interface: write a batch, read a range, aggregate per interval, latest value per device.

Two implementations behind it: DuckDB (embedded default, no server) and InfluxDB (production, v1 HTTP API).
Readings are stored one row per message: the device, its family, device time, seq, and one nullable column per
metric of the MQTT contract (names in METRICS). Raw accelerometer windows are not stored here (DESIGN.md: kept
only around alerts, as evidence); a telemetry message carrying one stores its peak |a| as `acc_peak_g`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from devices.models import Reading
from devices.schemas import STORED_METRICS

METRICS = STORED_METRICS  # owned by the contract's schemas (devices/schemas.py)


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading as read back from the store."""

    device_id: str
    family: str
    ts: float
    seq: int
    values: dict[str, float]


class StoreError(RuntimeError):
    """The store could not take or give data (down, slow, refused); the caller retries or spools."""


class TimeSeriesStore(Protocol):
    """What ingest and the dashboard need from a telemetry store."""

    def write(self, readings: Sequence[Reading]) -> None:
        """Durably store a batch (returns only once it is stored; raises StoreError otherwise)."""
        ...

    def latest(self, device_ids: Sequence[str] | None = None) -> list[StoredReading]:
        """The newest reading of each device (of all devices when None)."""
        ...

    def range(self, device_id: str, start: float, end: float, limit: int = 10_000) -> list[StoredReading]:
        """A device's readings with start <= ts < end, oldest first."""
        ...

    def device_status(self, since: float, until: float) -> pa.Table:
        """Per device heard from in [since, until]: `device_id`, `last_seen` (its newest ts) and `battery` (its newest
        battery reading there, in %, or null): one row a device, computed in the store (issue 19's fleet figures; the
        look-back `since` bounds the scan)."""
        ...

    def aggregate(
        self, device_id: str, metric: str, start: float, end: float, every_s: int
    ) -> list[tuple[float, float]]:
        """Mean of one metric per interval: [(interval start ts, mean)]."""
        ...

    def recent_seqs(self, since_ts: float,
                    devices: Collection[str] | None = None) -> dict[str, tuple[list[int], float]]:
        """Per device, the sequence numbers stored since `since_ts` and its newest ts (to seed dedup on restart);
        only of `devices` when given (a shard taken over, issue 20)."""
        ...

    def count(self) -> int:
        """Number of stored readings."""
        ...

    def delete_before(self, ts: float) -> int:
        """Delete the readings older than `ts` (the retention setting, issue 8); how many went (-1: unknown)."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...
