"""The hub's own downlinks (`eldercare/<id>/set`) never come back to it as input (real Mosquitto)."""

from __future__ import annotations

import asyncio

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.broker import Mosquitto
from ingest.inbox import Inbound, Inbox
from ingest.mqtt import MqttLink, is_downlink
from ingest.settings import MqttSettings

pytestmark = pytest.mark.integration


def test_is_downlink() -> None:
    assert is_downlink("eldercare/W0001/set")
    assert not is_downlink("eldercare/W0001/event")
    assert not is_downlink("eldercare/W0001/set/extra")
    assert not is_downlink("disaster/T1/set")


async def _collect(port: int, shared_group: str) -> list[Inbound]:
    settings = MqttSettings(url=f"mqtt://127.0.0.1:{port}", client_id=f"hub-echo-{shared_group or 'plain'}",
                            shared_group=shared_group)
    inbox = Inbox(asyncio.get_running_loop(), 100)
    link = MqttLink(settings, inbox)
    await asyncio.to_thread(link.start)
    await asyncio.sleep(0.3)  # SUBACK
    other = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"other-worker-{shared_group or 'plain'}")
    other.connect("127.0.0.1", port)
    other.loop_start()
    try:
        link.publish("eldercare/W0001/set", b'{"command":"help_coming"}')  # the hub's own downlink
        other.publish("eldercare/W0002/set", b'{"command":"help_coming"}', qos=1).wait_for_publish(5)  # a peer's
        other.publish("eldercare/W0003/bogus", b"{}", qos=1).wait_for_publish(5)  # still dead-lettered later
        got: list[Inbound] = []
        async with asyncio.timeout(5):
            while not got:
                got += await inbox.take(10)
        await asyncio.sleep(0.5)  # anything echoed would have arrived by now
        got += list(inbox._items)
        return got
    finally:
        other.loop_stop()
        other.disconnect()
        link.stop()


@pytest.mark.parametrize("shared_group", ["", "hubs"])
def test_downlinks_are_not_taken_back_as_input(mosquitto: Mosquitto, shared_group: str) -> None:
    got = asyncio.run(_collect(mosquitto.port, shared_group))
    assert [m.topic for m in got] == ["eldercare/W0003/bogus"]
