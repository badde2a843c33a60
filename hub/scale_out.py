"""Wiring of a hub worker that is one of several (issue 7): topic shards, alert events over MQTT, one timer leader.

A worker is scaled out when HUB_MQTT__SHARDS=auto (issue 20: shards leased in PostgreSQL, taken over when a worker
dies: hub/takeover.py), HUB_MQTT__SHARD ("i/N", fixed) or HUB_MQTT__SHARED_GROUP is set. Then its live bus relays
alert frames through the broker, and with PostgreSQL state the call-centre timers (escalation, offer timeouts),
which act on the shared incident tables, run on one worker at a time: the holder of an advisory lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from alerts.falls.flow import AlertFlow
from dashboard.bus import Bus
from dashboard.relay import RelayBus
from devices.aliases import AliasBook
from devices.registry import Registry
from devices.statedb.postgres import PgStateDB
from devices.statedb.sqlite import StateDB
from hub.settings import Settings
from hub.takeover import ShardKeeper
from ingest.events import EventsLink
from ingest.leases import LeaseBook
from ingest.mqtt import MqttLink
from ingest.pipeline import Ingestor
from ingest.shard_links import ShardLinks
from ingest.shards import ShardSubscriber, shard_of

logger = logging.getLogger(__name__)
LEADER_STAGES = ("escalation", "offers", "sms")  # timers and the SMS outbox (issue 15): one worker runs them
LEADER_POLL_S = 2.0
Stage = Callable[[], Coroutine[Any, Any, None]]  # a stage's run(): one task of the hub's TaskGroup


def scaled_out(settings: Settings) -> bool:
    """True when this hub is one worker among several."""
    return bool(settings.mqtt.shard or settings.mqtt.shared_group or settings.mqtt.shards == "auto")


def leased(settings: Settings, db: StateDB) -> bool:
    """True when this worker's shards are leased (issue 20); refuses 'auto' without PostgreSQL state."""
    if settings.mqtt.shards != "auto":
        return False
    if not isinstance(db, PgStateDB):
        raise ValueError("HUB_MQTT__SHARDS=auto keeps the shard leases in PostgreSQL: set HUB_STORE__STATE_URL")
    return True


def owns(shards: ShardSubscriber | None, links: ShardLinks | None) -> Callable[[str], bool] | None:
    """Which devices this worker answers for: its fixed shard's, its leased shards', or (None) every device."""
    if links is not None:
        return links.owns
    if shards is not None:
        index, count = shards.index, shards.count
        return lambda device_id: shard_of(device_id, count) == index
    return None


def shard_links(settings: Settings, link: MqttLink, registry: Registry, db: StateDB) -> ShardLinks:
    """The worker's shard sessions (issue 20), beside its own link (downlinks)."""
    return ShardLinks(settings.mqtt, link.inbox, registry, AliasBook(db), link, prefix=settings.mqtt.shard_prefix)


def keeper(settings: Settings, db: PgStateDB, links: ShardLinks, registry: Registry, ingestor: Ingestor,
           flow: AlertFlow) -> Stage:
    """The lease heartbeat and handovers of a leased worker (issue 20), as a stage."""
    book = LeaseBook(db.url, settings.mqtt.client_id, settings.mqtt.virtual_shards, settings.mqtt.lease_ttl_s)
    return ShardKeeper(book, links, registry, ingestor, flow).run


def live_bus(settings: Settings, link: MqttLink) -> Bus:
    """The live bus: a plain one, or one that relays alert frames through the broker."""
    if not scaled_out(settings):
        return Bus()
    return RelayBus(settings.mqtt.client_id, lambda topic, body: link.publish(topic, body, qos=1))


def leader_only(db: PgStateDB, name: str, stage: Stage) -> Stage:
    """Run `stage` only while this worker holds the advisory lock `name` (taken over when the holder dies)."""

    async def run() -> None:
        while not await db.run(lambda: db.try_lead(name)):
            await asyncio.sleep(LEADER_POLL_S)
        logger.info("this worker leads %s", name)
        await stage()

    return run


def shard_subscriber(settings: Settings, registry: Registry, db: StateDB) -> ShardSubscriber | None:
    """This worker's topic shard (issue 7), built before the MQTT link that asks its topics; None for one hub."""
    shard = settings.mqtt.shard_of
    return ShardSubscriber(shard[0], shard[1], registry, AliasBook(db)) if shard is not None else None


def attach(
    settings: Settings, link: MqttLink, shards: ShardSubscriber | None, db: StateDB, bus: Bus, stages: dict[str, Stage]
) -> None:
    """Add the scale-out parts to a built hub (nothing for a single hub)."""
    if shards is not None:
        stages["shards"] = shards.attach(link).run
    if isinstance(bus, RelayBus):
        stages["events"] = EventsLink(settings.mqtt, bus.receive).run
    if isinstance(db, PgStateDB) and scaled_out(settings):
        for name in LEADER_STAGES:
            if name in stages:
                stages[name] = leader_only(db, name, stages[name])
