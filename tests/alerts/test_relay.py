"""Alert frames over MQTT (issue 7): out to `hub/events/<type>`, other workers' frames in, own frames ignored."""

from __future__ import annotations

import orjson

from dashboard.relay import RelayBus


def test_alert_frames_go_out_and_other_workers_frames_come_in() -> None:
    sent: list[tuple[str, bytes]] = []
    a, b = RelayBus("hub-a", lambda topic, body: sent.append((topic, body))), RelayBus("hub-b", lambda t, p: None)
    watcher = b.subscribe()
    a.publish("detection", {"kind": "sos", "device_id": "W1"})
    a.publish("reading", {"device_id": "W1"})  # live readings stay on their worker
    assert [topic for topic, _ in sent] == ["hub/events/detection"]
    body = orjson.loads(sent[0][1])
    assert body == {"worker": "hub-a", "type": "detection", "data": {"kind": "sos", "device_id": "W1"}}
    b.receive(sent[0][1])
    frame = orjson.loads(watcher.queue.get_nowait())
    assert frame == {"type": "detection", "data": {"kind": "sos", "device_id": "W1", "worker": "hub-a"}}
    own = a.subscribe()
    a.receive(sent[0][1])  # its own frame back from the broker: already shown
    b.receive(b"not json")
    b.receive(orjson.dumps({"worker": "hub-c", "type": "reading", "data": {}}))
    assert own.queue.empty() and watcher.queue.empty() and b.relayed_in == 1


def test_a_failing_broker_never_stops_the_bus() -> None:
    def broken(_topic: str, _body: bytes) -> None:
        raise OSError("broker gone")

    bus = RelayBus("hub-a", broken)
    sub = bus.subscribe()
    bus.publish("incident", {"event": "opened"})
    assert orjson.loads(sub.queue.get_nowait())["type"] == "incident" and bus.relayed_out == 0
