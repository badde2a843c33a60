"""The alert-events link between workers on a broker cluster (issue 20): several URLs, MQTT 3.1.1 fallback."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.broker import free_port
from hub.natscluster import NatsCluster
from ingest.events import EventsLink
from ingest.settings import MqttSettings

pytestmark = pytest.mark.integration


def test_events_link_skips_a_dead_node_and_falls_back_to_mqtt_311(tmp_path: Path) -> None:
    nats = NatsCluster(tmp_path / "nats", size=1).start()
    try:
        dead = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
        settings = MqttSettings(url=f"{dead},{nats.nodes[0].url}", client_id="hub-w9")
        got: list[bytes] = []

        async def scenario() -> EventsLink:
            link = EventsLink(settings, got.append)
            task = asyncio.create_task(link.run())
            deadline = time.monotonic() + 20
            while link.connected_to is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # its SUBSCRIBE answered
            sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sender", protocol=mqtt.MQTTv311)
            sender.connect("127.0.0.1", nats.nodes[0].mqtt_port)
            sender.loop_start()
            sender.publish("hub/events/hub-w1", b'{"frame": 1}', qos=1).wait_for_publish(10)
            while not got and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            sender.loop_stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return link

        link = asyncio.run(scenario())
        assert link.protocol == mqtt.MQTTv311  # NATS refused MQTT 5
        assert got == [b'{"frame": 1}']
    finally:
        nats.stop(kill=True)
