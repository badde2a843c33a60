"""Topic shards (issue 7): a stable device -> worker map, and subscriptions that follow the registry."""

from __future__ import annotations

import zlib
from pathlib import Path

from devices.aliases import Alias, AliasBook
from devices.credentials import Credentials
from devices.records import DeviceRecord
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from ingest.shards import ShardSubscriber, shard_of
from simulators.community import build_community


class RecordingLink:
    """Stands in for the broker connection: remembers what is subscribed."""

    def __init__(self) -> None:
        self.topics: set[str] = set()

    def subscribe(self, topics: list[str]) -> None:
        assert not self.topics & set(topics), "subscribed twice"
        self.topics |= set(topics)

    def unsubscribe(self, topics: list[str]) -> None:
        assert set(topics) <= self.topics, "unsubscribed what was not subscribed"
        self.topics -= set(topics)


def test_shard_of_is_stable_and_spreads() -> None:
    ids = [f"W{i:05d}" for i in range(2000)]
    assert [shard_of(d, 4) for d in ids[:5]] == [zlib.crc32(d.encode()) % 4 for d in ids[:5]]  # not salted hash()
    counts = [sum(1 for d in ids if shard_of(d, 3) == i) for i in range(3)]
    assert min(counts) > 600


def test_workers_split_the_devices_and_follow_the_registry(tmp_path: Path) -> None:
    registry = Registry(StateDB(tmp_path / "state.sqlite"))
    community = build_community(residents=10, terminals=4, villages=2, seed=2)
    community.register(registry)
    links = [RecordingLink(), RecordingLink()]
    shards = [ShardSubscriber(i, 2, registry, AliasBook(registry.db)).attach(links[i]) for i in range(2)]
    owned = [shard.devices for shard in shards]
    assert owned[0].isdisjoint(owned[1]) and owned[0] | owned[1] == {d.device_id for d in community.devices}
    terminal = next(d for d in community.devices if d.family == "terminal")
    mine = shard_of(terminal.device_id, 2)
    assert f"disaster/{terminal.device_id}/+" in links[mine].topics
    assert links[0].topics == set(shards[0].topics())
    assert "responders/+/status" in links[0].topics and "responders/+/status" not in links[1].topics
    assert "teams/+/status" in links[0].topics and "teams/+/status" not in links[1].topics  # issue 14: one worker

    resident = community.residents[0]
    new = next(f"W-NEW-{i}" for i in range(100) if shard_of(f"W-NEW-{i}", 2) == 1)
    registry.add_device(DeviceRecord(new, "wearable", "wearable", resident_id=resident.resident_id, worn_at="wrist"))
    registry.devices()  # what the shard's run() loop does every second
    assert f"eldercare/{new}/+" in links[1].topics and f"eldercare/{new}/+" not in links[0].topics
    sensor = next(d for d in community.devices if d.family == "home_sensor" and shard_of(d.device_id, 2) == 1)
    Credentials(registry.db).issue("bridge-1", kind="bridge")
    AliasBook(registry.db).add(Alias("zigbee2mqtt", "kitchen leak", sensor.device_id, "bridge-1"))
    registry.set_active(new, False)
    registry.devices()
    assert f"eldercare/{new}/+" not in links[1].topics
    assert "zigbee2mqtt/bridge-1/kitchen leak/#" in links[1].topics
