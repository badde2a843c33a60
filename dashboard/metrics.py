"""GET /metrics in the Prometheus text format (issue 9), read from the running hub's objects at each scrape.

Unauthenticated, like most exporters (a Prometheus scraper holds no staff session): it carries counts only, no
names, ids or readings. Keep the port on the operations network (or behind the reverse proxy's allow-list).
Objects that a hub may lack (the call centre's incidents, queue gauges) are read defensively and then omitted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from dashboard.context import HubContext
from dashboard.deps import Ctx

logger = logging.getLogger(__name__)
router = APIRouter(tags=["ops"])


def _labelled(family: CounterMetricFamily | GaugeMetricFamily, counts: dict[str, Any]) -> Any:
    for label, value in sorted(counts.items()):
        family.add_metric([str(label)], float(value))
    return family


def _rows(db: Any, sql: str) -> dict[str, float]:
    """`label, count` rows of a state-DB query; empty when the table is absent (a hub without that part)."""
    try:
        return {str(row[0]): float(row[1]) for row in db.execute(sql)}
    except Exception as exc:  # sqlite3.OperationalError: no such table
        logger.debug("metrics query skipped (%s): %s", exc, sql)
        return {}


class HubCollector(Collector):
    """Turns the hub's counters and state into metric families at scrape time."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Any]:
        """Every family, freshly read."""
        yield from self._ingest()
        yield from self._queues()
        yield from self._alerts()
        yield from self._sms()
        yield GaugeMetricFamily(
            "hub_mqtt_connected", "1 while the hub is connected to the broker", value=float(self.ctx.mqtt_connected())
        )
        yield GaugeMetricFamily(
            "hub_websocket_consoles",
            "Connected live-feed websocket clients (consoles, maps)",
            value=float(self.ctx.bus.listeners),
        )

    def _ingest(self) -> Iterator[Any]:
        s = self.ctx.stats
        for name, value, doc in (
            ("received", s.received, "MQTT messages taken by ingest"),
            ("stored", s.stored, "Readings durably stored"),
            ("duplicates", s.duplicates, "Redelivered messages dropped by (device, seq)"),
            ("batches", s.batches, "Ingest batches committed"),
            ("store_retries", s.store_retries, "Store writes that failed and were spooled"),
        ):
            yield CounterMetricFamily(f"hub_ingest_{name}", doc, value=float(value))
        yield _labelled(
            CounterMetricFamily("hub_ingest_rejected", "Messages rejected, by reason", labels=["reason"]),
            dict(s.rejected),
        )
        ignored = getattr(s, "ignored", {})
        yield _labelled(
            CounterMetricFamily(
                "hub_ingest_ignored",
                "Non-data messages ignored (zigbee2mqtt bridge, other OwnTracks types), by reason",
                labels=["reason"],
            ),
            dict(ignored),
        )
        memory = getattr(self.ctx.store, "memory_bytes", None)  # the embedded store only
        if memory is not None:
            yield GaugeMetricFamily(
                "hub_store_memory_bytes", "Memory held by the embedded store's buffer manager (DuckDB)", value=memory()
            )
        yield GaugeMetricFamily(
            "hub_store_last_write_seconds",
            "Duration of the last batch commit (store + journal)",
            value=s.last_write_ms / 1000.0,
        )

    def _queues(self) -> Iterator[Any]:
        depths = {name: size() for name, size in getattr(self.ctx, "queues", {}).items()}
        spool = getattr(self.ctx.stats, "spool", None)
        if spool is not None:
            depths["spool_batches"] = spool.batches
        yield _labelled(GaugeMetricFamily("hub_queue_depth", "Items waiting in each queue", labels=["queue"]), depths)

    def _alerts(self) -> Iterator[Any]:
        detections = _rows(self.ctx.detections.db, "SELECT kind, count(*) FROM detections GROUP BY kind")
        yield _labelled(
            CounterMetricFamily("hub_detections", "Detections raised, by kind", labels=["kind"]), detections
        )
        incidents = getattr(self.ctx, "incidents", None)
        if incidents is None:
            return
        db = incidents.store.db
        states = _rows(db, "SELECT state, count(*) FROM incidents GROUP BY state")
        yield _labelled(GaugeMetricFamily("hub_incidents", "Incidents, by state", labels=["state"]), states)
        escalated = _rows(db, "SELECT 'all', count(*) FROM audit_log WHERE action = 'escalated'")
        yield CounterMetricFamily(
            "hub_escalations", "Incident escalations carried out", value=escalated.get("all", 0.0)
        )


    def _sms(self) -> Iterator[Any]:
        """Issue 15: the SMS gateway's state (an alarm when 0 while texts wait) and the outbox by status."""
        sms = getattr(self.ctx, "sms", None)
        if sms is None:
            return
        yield GaugeMetricFamily("hub_sms_gateway_up", "1 while the SMS gateway takes texts (0: down or none)",
                                value=float(sms.gateway is not None and sms.stats.gateway_up))
        statuses = _rows(sms.outbox.db, "SELECT status, count(*) FROM sms_outbox GROUP BY status")
        yield _labelled(GaugeMetricFamily("hub_sms_messages", "Texts in the outbox, by status", labels=["status"]),
                        statuses)
        yield CounterMetricFamily("hub_sms_retries", "Sends the gateway did not take (retried later)",
                                  value=float(sms.stats.retries))


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, ctx: Ctx) -> Response:
    """The Prometheus exposition of this hub."""
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = CollectorRegistry(auto_describe=False)
        registry.register(HubCollector(ctx))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
