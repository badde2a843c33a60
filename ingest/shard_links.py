"""The MQTT sessions of the virtual shards a worker owns (issue 20), all feeding the worker's one inbox.

Each virtual shard is one persistent MQTT session with a fixed client id, `<client_id>-shard-NN`, subscribed to the
topics of the devices with crc32(device_id) % shards == NN. The session belongs to the shard, not to a worker: the
broker queues the shard's messages while nobody holds it, and whoever takes the shard's lease connects with that
client id and gets the session, with whatever the previous owner had not acknowledged. Only one worker holds a
shard's lease at a time (ingest/leases.py), so two connections never fight over one client id.

Handing a shard over (`close`) pauses its link first: deliveries from then on are left unacknowledged (the broker
gives them to the next owner); the messages already in the pipeline are stored, detected and acknowledged; then the
link disconnects cleanly. So on a clean handover no reading reaches two workers. After a SIGKILL the next owner gets
the dead worker's unacknowledged messages again; dedup, seeded from the shared store before the shard's link
connects, sends the ones already stored to the detectors only (ingest/dedup.py `replayed`).

Delivery tags carry the link's slot (shard + 1; the worker's own link is slot 0), so `ack_many` routes each batch's
acknowledgements to the connection that delivered them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict

from devices.aliases import AliasBook
from devices.records import DeviceRecord
from devices.registry import Registry
from ingest.inbox import Inbox
from ingest.mqtt import SLOT_SHIFT, MqttLink
from ingest.settings import MqttSettings
from ingest.shards import RESPONDER_STATUS, ShardSubscriber, virtual_shard_of

logger = logging.getLogger(__name__)
DRAIN_TIMEOUT_S = 15.0  # a pipeline stuck longer (store down, spool full): hand over anyway, dedup takes the rest
DRAIN_POLL_S = 0.02


def shard_client_id(client_id: str, shard: int) -> str:
    """The fixed client id of a virtual shard's session (the same on every worker)."""
    return f"{client_id}-shard-{shard:02d}"


def broker_topics(prefix: str, shard: int) -> list[str]:
    """A shard's filters when the broker routes device topics to `<prefix>/<shard>/...` (shard_routing "broker").

    Shard 0 also takes what has no device id in its topic: responder apps' and rescue teams' answers (issue 14's
    teams/+/status), zigbee2mqtt and OwnTracks.
    """
    extra = [RESPONDER_STATUS, "teams/+/status", "zigbee2mqtt/#", "owntracks/+/+"] if shard == 0 else []
    return [f"{prefix}/{shard}/#", *extra]


class ShardLinks:
    """The worker's own link (slot 0: downlinks, no subscriptions) and one link per owned virtual shard."""

    def __init__(self, settings: MqttSettings, inbox: Inbox, registry: Registry, aliases: AliasBook,
                 main: MqttLink, prefix: str = "hub") -> None:
        """`prefix` names the shards' sessions (`<prefix>-shard-NN`): the same on every worker of one hub."""
        self.settings = settings
        self.inbox = inbox
        self.registry = registry
        self.aliases = aliases
        self.main = main
        self.prefix = prefix
        self.count = settings.virtual_shards
        self._links: dict[int, MqttLink] = {0: main}  # slot -> link
        self._subscribers: dict[int, ShardSubscriber | None] = {}  # shard -> its topic follower (none: broker routing)
        self._lock = threading.Lock()

    @property
    def owned(self) -> set[int]:
        """The shards whose link is open."""
        with self._lock:
            return set(self._subscribers)

    def devices(self, shard: int) -> set[str]:
        """The registered devices of one shard now."""
        return {d for d in self.registry.devices() if virtual_shard_of(d, self.count) == shard}

    def owns(self, device_id: str) -> bool:
        """True when the device's shard is open on this worker."""
        return virtual_shard_of(device_id, self.count) in self._subscribers

    def ack_many(self, tags: list[int]) -> None:
        """Acknowledge delivery tags, each on the link (slot) that delivered it; a closed link's are dropped."""
        by_slot: dict[int, list[int]] = defaultdict(list)
        for tag in tags:
            by_slot[tag >> SLOT_SHIFT].append(tag)
        for slot, mine in by_slot.items():
            link = self._links.get(slot)
            if link is not None:
                link.ack_many(mine)

    def open(self, shard: int, snapshot: dict[str, DeviceRecord]) -> MqttLink:
        """Connect the shard's session (blocking; raises BrokerUnreachable) and follow its devices' topics.

        `snapshot` is the registry's devices, read on the event loop (the registry's listeners run where it is read).
        """
        update: dict[str, object] = {"client_id": shard_client_id(self.prefix, shard)}
        if self.settings.protocol == "auto" and not self.main.speaks_v5:
            update["protocol"] = "3.1.1"  # the worker's own link found the broker refuses MQTT 5: no need to ask again
        settings = self.settings.model_copy(update=update)
        if self.settings.shard_routing == "broker":  # one filter; the broker routes each device to its shard
            mapped = broker_topics(self.prefix, shard)
            link = MqttLink(settings, self.inbox, topic_source=lambda: mapped, slot=shard + 1,
                            strip=f"{self.prefix}/{shard}/", first_node=self.main.node_index)
            follower = None
        else:
            follower = ShardSubscriber(shard, self.count, self.registry, self.aliases, of=virtual_shard_of)
            follower.on_refresh(snapshot)  # its topics, asked by the link on connect
            link = MqttLink(settings, self.inbox, topic_source=follower.topics, slot=shard + 1,
                            first_node=self.main.node_index)  # the node the worker's own link found alive
        with self._lock:
            self._links[shard + 1] = link  # before start: a delivery may be acked as soon as it arrives
        try:
            link.start()
        except Exception:
            with self._lock:
                del self._links[shard + 1]
            raise
        with self._lock:
            self._subscribers[shard] = follower.follow(link) if follower is not None else None
        logger.info("shard %d taken over: session %s", shard, settings.client_id)
        return link

    def pause(self, shard: int) -> None:
        """Stop handing the shard's deliveries to the pipeline (they stay unacknowledged, for the next owner)."""
        link = self._links.get(shard + 1)
        if link is not None:
            link.paused = True

    def drained(self, shard: int) -> bool:
        """True when nothing the shard's link handed to the pipeline waits for its acknowledgement."""
        link = self._links.get(shard + 1)
        return link is None or link.inflight <= 0

    def wait_drained(self, shard: int, timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
        """Block until `drained(shard)` (True) or `timeout_s` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while not self.drained(shard):
            if time.monotonic() > deadline:
                return False
            time.sleep(DRAIN_POLL_S)
        return True

    def close(self, shard: int) -> None:
        """Disconnect the shard's session cleanly (the broker keeps it) and stop following its devices."""
        with self._lock:
            follower = self._subscribers.pop(shard, None)
            link = self._links.pop(shard + 1, None)
        if follower is not None:
            follower.detach()
        if link is not None:
            link.stop()

    def close_all(self) -> None:
        """Disconnect every shard's session (a stopping or fenced worker)."""
        for shard in sorted(self.owned):
            self.close(shard)
