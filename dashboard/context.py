"""What the HTTP layer may use of a running hub: registry, stores, journal, counters, the live bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from alerts.incidents.policy import PolicyStore
from alerts.incidents.service import IncidentService
from alerts.log import DetectionLog
from alerts.sms.sender import SmsSender
from dashboard.auth import StaffAuth
from dashboard.bus import Bus
from devices.identities import DeviceIdentities
from devices.registry import Registry
from dispatch.desk import DispatchDesk
from dispatch.disaster.field_ops import FieldOps
from dispatch.insights.engine import Insights
from ingest.journal import Journal
from ingest.pipeline import IngestStats
from ingest.store.base import TimeSeriesStore


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
    incidents: IncidentService | None = None  # issue 5: the call-centre loop (incidents, dispatch, staff)
    desk: DispatchDesk | None = None
    auth: StaffAuth | None = None
    field_ops: FieldOps | None = None  # issue 6: the command room (warnings, CAP, reports, evacuation, teams)
    queues: dict[str, Callable[[], int]] = field(default_factory=dict)  # issue 9: name -> depth, for /metrics
    identities: DeviceIdentities | None = None  # issue 16: device credentials issued and revoked by admins
    insights: Insights | None = None  # the bureau's statistics with the configured targets (else the defaults)
    warnings: list[str] = field(default_factory=list)  # issue 16: codes, e.g. "anonymous_broker" (catalogue: warning.*)
    policies: PolicyStore | None = None  # issue 15: escalation policies (defaults overlaid with the admins' edits)
    sms: SmsSender | None = None  # issue 15: the SMS outbox and its sender

    def stats_dict(self) -> dict[str, Any]:
        """Ingest counters as plain JSON."""
        out = asdict(self.stats)
        out["rejected"] = dict(self.stats.rejected)
        return out
