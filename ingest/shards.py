"""Topic shards (issue 7): worker i of N subscribes only to the topics of its own devices.

A device belongs to worker crc32(device_id) % N, so all of its messages reach one worker and its detector state
(fall windows, vitals baselines, inactivity timers) stays whole. Mosquitto's shared subscriptions hand messages out
round-robin, which would split a device between workers; brokers with hash-based shared subscriptions (EMQX's
`shared_subscription_strategy = hash_topic`) can do the same routing with HUB_MQTT__SHARED_GROUP instead.
The registry's refresh listeners keep the subscriptions in step: new devices subscribed, removed ones dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import zlib
from collections.abc import Callable
from typing import Protocol

from devices.aliases import Alias, AliasBook
from devices.models import Family
from devices.records import DeviceRecord
from devices.registry import Registry

logger = logging.getLogger(__name__)
RESPONDER_STATUS = "responders/+/status"
TEAM_STATUS = "teams/+/status"  # issue 14: rescue teams' progress on their assignments
REFRESH_S = 1.0  # how often the registry is asked whether another process changed it


class Subscriber(Protocol):
    """The MQTT side (ingest.mqtt.MqttLink)."""

    def subscribe(self, topics: list[str]) -> None:
        """Subscribe at QoS 1."""

    def unsubscribe(self, topics: list[str]) -> None:
        """Unsubscribe."""


def shard_of(device_id: str, count: int) -> int:
    """The worker that owns a device: a stable hash (never Python's salted hash())."""
    return zlib.crc32(device_id.encode()) % count


def virtual_shard_of(device_id: str, count: int) -> int:
    """The virtual shard of a device (issue 20): FNV-1a (32 bit) of its id, mod `count`.

    The same function as NATS's subject-mapping `partition(count, 1)` on the id token, so a NATS cluster can route a
    device's topics to its shard's one filter (`shard_routing = "broker"`) and the hub agrees on whose device it is.
    """
    h = 0x811C9DC5
    for byte in device_id.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h % count


def device_topics(device: DeviceRecord) -> list[str]:
    """The MQTT contract's topics of one device (telemetry, event, availability, ...)."""
    base = "disaster" if device.family == Family.TERMINAL.value else "eldercare"
    return [f"{base}/{device.device_id}/+"]


def alias_topic(alias: Alias) -> str:
    """The topic an aliased zigbee2mqtt sensor or OwnTracks phone publishes on (issue 9)."""
    if alias.source == "zigbee2mqtt":
        return f"zigbee2mqtt/{alias.key}/#"  # '#' also matches the parent: the state topic itself
    return f"owntracks/{alias.external_id}"


class ShardSubscriber:
    """Keeps a worker's subscriptions equal to the topics of the devices of its shard."""

    def __init__(self, index: int, count: int, registry: Registry, aliases: AliasBook,
                 of: Callable[[str, int], int] = shard_of) -> None:
        """Built before the MQTT link (which asks `topics()` on each connect); `attach(link)` starts following.
        `of` maps a device to its shard (crc32 for the fixed shards, `virtual_shard_of` for leased ones)."""
        self.of = of
        self.index = index
        self.count = count
        self.link: Subscriber | None = None
        self.registry = registry
        self.aliases = aliases
        self._lock = threading.Lock()
        self._topics: set[str] = set()
        self.devices: set[str] = set()  # the device ids this worker owns now

    def attach(self, link: Subscriber) -> ShardSubscriber:
        """Follow the registry from now on through `link`, starting with its current devices."""
        self.link = link
        self.registry.on_refresh.append(self.on_refresh)
        self.on_refresh(self.registry.devices())
        return self

    def follow(self, link: Subscriber) -> ShardSubscriber:
        """Follow the registry through `link`, which already subscribed `topics()` (a shard's session, issue 20)."""
        self.link = link
        self.registry.on_refresh.append(self.on_refresh)
        return self

    def detach(self) -> None:
        """Stop following the registry (a shard handed over to another worker)."""
        if self.on_refresh in self.registry.on_refresh:
            self.registry.on_refresh.remove(self.on_refresh)
        self.link = None

    def on_refresh(self, snapshot: dict[str, DeviceRecord]) -> None:
        """Registry listener: subscribe what is new in this shard, unsubscribe what left it."""
        mine = {d for d in snapshot if self.of(d, self.count) == self.index}
        wanted = {t for d in mine for t in device_topics(snapshot[d])}
        wanted |= {alias_topic(a) for a in self.aliases.entries() if a.device_id in mine}
        if self.index == 0:  # responder apps' and teams' answers: no per-device detector state, one worker takes all
            wanted |= {RESPONDER_STATUS, TEAM_STATUS}
        with self._lock:
            added, removed = sorted(wanted - self._topics), sorted(self._topics - wanted)
            self._topics, self.devices = wanted, mine
        if added and self.link is not None:
            self.link.subscribe(added)
        if removed and self.link is not None:
            self.link.unsubscribe(removed)
        if added or removed:
            logger.info(
                "shard %d/%d: %d devices, +%d/-%d topics", self.index, self.count, len(mine), len(added), len(removed)
            )

    def topics(self) -> list[str]:
        """Every topic of this shard (subscribed again on each connect)."""
        with self._lock:
            return sorted(self._topics)

    async def run(self) -> None:
        """Ask the registry about changes every REFRESH_S: a new device sends nothing here until subscribed."""
        while True:
            self.registry.devices()
            await asyncio.sleep(REFRESH_S)
