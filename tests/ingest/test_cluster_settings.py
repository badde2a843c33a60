"""Issue 20: several broker URLs (a cluster's nodes) in the settings and on the command line, and the hub's fall back
from MQTT 5 to 3.1.1 against a real NATS node (which refuses MQTT 5)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from pydantic import ValidationError

from hub.broker import free_port
from hub.cli_commands import add_run, settings_from
from hub.natscluster import NatsCluster, NatsUser, mqtt_subjects
from ingest.inbox import Inbox
from ingest.mqtt import MqttLink, anonymous_accepted
from ingest.settings import MqttSettings


def test_several_urls_name_the_nodes_and_stay_redacted() -> None:
    settings = MqttSettings(url=" mqtt://hub:pw@10.0.0.1:1883, mqtt://hub:pw@10.0.0.2 ,,mqtt://hub:pw@10.0.0.3:1884")
    assert settings.nodes == [("10.0.0.1", 1883), ("10.0.0.2", 1883), ("10.0.0.3", 1884)]
    assert (settings.host, settings.port, settings.username, settings.password) == ("10.0.0.1", 1883, "hub", "pw")
    assert "pw" not in settings.safe_url and settings.safe_url.count("mqtt://") == 3
    with pytest.raises(ValidationError, match="all mqtt:// or all mqtts://"):
        MqttSettings(url="mqtt://a:1883,mqtts://b:8883")
    with pytest.raises(ValidationError, match="expected mqtt://host:port"):
        MqttSettings(url="mqtt://a:1883,b:1883")
    with pytest.raises(ValidationError, match="got nothing"):
        MqttSettings(url=" , ")


def test_mqtt_url_may_be_repeated_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HUB_MQTT__URL", "HUB_MQTT__CLIENT_ID"):
        monkeypatch.delenv(key, raising=False)
    parser = argparse.ArgumentParser()
    add_run(parser.add_subparsers())
    args = parser.parse_args(["run", "--mqtt-url", "mqtt://a:1", "--mqtt-url", "mqtt://b:2,mqtt://c:3"])
    assert settings_from(args).mqtt.nodes == [("a", 1), ("b", 2), ("c", 3)]


def test_mqtt_filters_map_to_nats_subjects() -> None:
    assert mqtt_subjects("eldercare/+/telemetry") == ["eldercare.*.telemetry"]
    assert mqtt_subjects("zigbee2mqtt/#") == ["zigbee2mqtt.>", "zigbee2mqtt"]


def test_hub_falls_back_to_mqtt_311_on_a_nats_node(tmp_path: Path) -> None:
    """A real nats-server refuses MQTT 5; the link reconnects in 3.1.1 with a persistent session, and the anonymous
    probe (issue 16) falls back too: a node with users refuses anonymous clients, one without accepts them."""
    nats = NatsCluster(tmp_path / "nats", size=1, users=[NatsUser("hub", "secret")]).start()
    try:
        node = nats.nodes[0]
        dead = f"mqtt://hub:secret@127.0.0.1:{free_port()}"  # a node that is down: the link tries the next
        settings = MqttSettings(url=f"{dead},mqtt://hub:secret@127.0.0.1:{node.mqtt_port}", client_id="fallback")
        assert anonymous_accepted(MqttSettings(url=node.url)) is False
        loop = asyncio.new_event_loop()
        link = MqttLink(settings, Inbox(loop, 100))
        try:
            link.start()
            assert link.connected.is_set()
            assert link.protocol == mqtt.MQTTv311
            assert link.node_url.endswith(f":{node.mqtt_port}")
        finally:
            link.stop()
            loop.close()
        with pytest.raises(ValueError):
            MqttSettings(url=node.url, protocol="4")  # type: ignore[arg-type]  # a wrong value, on purpose
    finally:
        nats.stop()
    open_nats = NatsCluster(tmp_path / "open", size=1).start()
    try:
        assert anonymous_accepted(MqttSettings(url=open_nats.nodes[0].url)) is True
    finally:
        open_nats.stop()
