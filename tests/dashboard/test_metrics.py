"""/metrics: real messages through ingest, a detection and an incident, parsed with Prometheus' own text parser."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from ecosystem_payloads import LEAK, location, register_ecosystem
from hub_api import hub_api
from prometheus_client.parser import text_string_to_metric_families

from alerts.detection import Detection, Severity
from devices.aliases import AliasBook
from hub.app import Hub
from ingest.inbox import Inbound


def _ingest(hub: Hub, messages: list[tuple[str, bytes]]) -> None:
    items = [Inbound(topic, payload, i, 0, time.time()) for i, (topic, payload) in enumerate(messages)]

    async def run() -> None:
        await hub.ingestor.commit(hub.ingestor.prepare(items))

    asyncio.run(run())


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_exposes_ingest_queues_detections_incidents_and_consoles(tmp_path: Path) -> None:
    with hub_api(tmp_path, login=False) as (hub, client):
        register_ecosystem(hub.registry, AliasBook(hub.db))
        now = int(time.time())
        _ingest(
            hub,
            [
                ("zigbee2mqtt/home-e/kitchen/leak", LEAK),
                ("owntracks/grandma/pixel", location(now)),
                ("owntracks/grandma/pixel", location(now)),
                ("zigbee2mqtt/home-e/bridge/state", b"online"),
                ("zigbee2mqtt/home-e/nobody", b"{}"),
                ("eldercare/x/telemetry", b"{}"),
                ("weather/x/y", b"{}"),
            ],
        )
        det = Detection("home_safety", "water_leak", "H-E", "Z-LEAK", now, Severity.CRITICAL)
        hub.ctx.detections([det])
        assert hub.ctx.incidents is not None
        hub.ctx.incidents.on_detections([det])
        hub.ctx.bus.subscribe()
        response = client.get("/metrics")  # no session needed
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        got = _samples(response.text)
    assert got[("hub_ingest_received_total", ())] == 7
    assert got[("hub_ingest_stored_total", ())] == 2
    assert got[("hub_ingest_duplicates_total", ())] == 1
    assert got[("hub_ingest_rejected_total", (("reason", "unknown_device"),))] == 2
    assert got[("hub_ingest_rejected_total", (("reason", "bad_topic"),))] == 1
    assert got[("hub_ingest_ignored_total", (("reason", "zigbee2mqtt_bridge"),))] == 1
    assert got[("hub_store_last_write_seconds", ())] > 0
    assert got[("hub_store_memory_bytes", ())] > 0  # DuckDB holds the rows it just took
    assert {labels for name, labels in got if name == "hub_queue_depth"} == {
        (("queue", q),) for q in ("inbox", "live", "detectors", "spool_batches")
    }
    assert got[("hub_queue_depth", (("queue", "live"),))] == 1  # the committed batch waits for the live feed
    assert got[("hub_detections_total", (("kind", "water_leak"),))] == 1
    assert got[("hub_incidents", (("state", "open"),))] == 1
    assert got[("hub_escalations_total", ())] == 0
    assert got[("hub_websocket_consoles", ())] == 1
    assert got[("hub_mqtt_connected", ())] == 0
