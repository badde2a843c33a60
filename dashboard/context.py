"""What the HTTP layer may use of a running hub: registry, stores, journal, counters, the live bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from alerts.log import DetectionLog
from devices.registry import Registry
from hub.bus import Bus
from hub.store.base import TimeSeriesStore
from ingest.journal import Journal
from ingest.pipeline import IngestStats


@dataclass(frozen=True)
class HubContext:
    """Objects built by the composition root, handed to `create_app`."""

    registry: Registry
    store: TimeSeriesStore
    journal: Journal
    bus: Bus
    stats: IngestStats
    mqtt_connected: Callable[[], bool]
    detections: DetectionLog

    def stats_dict(self) -> dict[str, Any]:
        """Ingest counters as plain JSON."""
        out = asdict(self.stats)
        out["rejected"] = dict(self.stats.rejected)
        return out
