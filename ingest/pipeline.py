"""The ingest stage: raw MQTT messages -> decoded, validated, deduplicated, durably stored, acked, handed on.

Order per batch: decode + dedup on the loop thread; dead letters + events to SQLite (the state writer), then the
batch to the gating stage (the detectors); meanwhile its telemetry goes to the time-series store (its own thread,
batches one after another), while the next batch is decoded (issue 20: a fall waits for no store write); the other
stages get it once it is stored. The batch is acked once it is stored and, where a stage gates the ack (the
detector stage, `gate`), once that stage has handled it, in arrival order (MQTT requires PUBACKs in order). So a hub
killed between storing a batch and detecting on it (or the other way round) has not acked it: the broker redelivers
it, and it goes to the detectors again (the sinks know the alerts they hold); dedup knows what the earlier run
stored (`Deduplicator.replayed`), which does not go to the store again (issue 7: no alert lost). A batch the store
refuses (down, or slower than its timeout) goes to the durable on-disk spool and counts as stored from there; while
the spool holds anything, new batches queue behind it and a drainer writes them to the store in order (issue 7).
Only when the spool is full (or its disk fails) is nothing acked, so the broker keeps the messages and the inbox's
backpressure holds the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from devices.adapters import Ignored
from devices.aliases import AliasBook
from devices.decode import Decoder
from devices.models import Availability, DeviceEvent, DisasterReport, Reading, Rejection, ResponderStatus, TeamStatus
from devices.records import DeviceRecord
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from ingest.dedup import Deduplicator
from ingest.inbox import Inbound, Inbox
from ingest.journal import Journal
from ingest.ratelimit import UNREGISTERED, FloodGuard
from ingest.settings import IngestSettings
from ingest.spool import Spool, SpoolStats
from ingest.spool_drain import SpoolDrainer
from ingest.store.base import StoreError, TimeSeriesStore

logger = logging.getLogger(__name__)
DEDUP_LOOKBACK_S = 2 * 24 * 3600.0
# batches whose store write may still run while the next ones are decoded and detected on: DuckDB stalls 0.2-0.3 s
# every 20-30 s (a checkpoint) at 10,000 msg/s; with 2 the loop waited for it and a fall's p99 was 0.24-0.31 s in
# 3 of 5 runs, with 8 it was 0.05-0.19 s in 4 of 4 (bench.alert_latency, issue 20)
STORES_IN_FLIGHT = 8
Route = Callable[["Batch", Any], None]


@dataclass(slots=True)
class Batch:
    """One batch of messages, sorted by what they decoded to."""

    items: list[Inbound]
    readings: list[Reading] = field(default_factory=list)
    messages: list[DeviceEvent | DisasterReport] = field(default_factory=list)
    availability: list[Availability] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    statuses: list[ResponderStatus] = field(default_factory=list)  # responder apps (issue 5)
    team_statuses: list[TeamStatus] = field(default_factory=list)  # rescue teams (issue 14)
    # stored by an earlier run, redelivered because it was never acked: for the detectors, not the store
    replayed: list[Reading] = field(default_factory=list)
    replayed_messages: list[DeviceEvent | DisasterReport] = field(default_factory=list)
    handled: asyncio.Future[None] | None = None  # set when the ack waits for a gating stage

    def settle(self) -> None:
        """A gating stage is done with this batch: it may be acked now."""
        if self.handled is not None and not self.handled.done():
            self.handled.set_result(None)


@dataclass(slots=True)
class IngestStats:
    """Counters exposed on /health and /api/stats."""

    received: int = 0
    stored: int = 0
    acked: int = 0  # messages acknowledged to the broker (stored, and handled by a gating stage)
    replayed: int = 0  # redeliveries of what an earlier run stored but never acked, sent to the detectors again
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    ignored: dict[str, int] = field(default_factory=dict)  # zigbee2mqtt bridge topics, other OwnTracks types
    store_retries: int = 0
    batches: int = 0
    last_write_ms: float = 0.0
    spool: SpoolStats = field(default_factory=SpoolStats)


class Ingestor:
    """Runs the ingest loop; `outputs` receive every committed batch (awaited: backpressure)."""

    def __init__(self, settings: IngestSettings, inbox: Inbox, store: TimeSeriesStore, db: StateDB,
                 registry: Registry, ack: Callable[[list[int]], None], *,
                 outputs: Sequence[asyncio.Queue[Batch]] = (), gate: asyncio.Queue[Batch] | None = None,
                 keepers: Sequence[Callable[[Batch], None]] = ()) -> None:
        """`outputs` receive every committed batch; `gate` too, and a batch is acked only after its consumer called
        `batch.settle()` (the detector stage, issue 7); `keepers` run on the state writer with the journal, before
        the ack (responder statuses, issue 5; teams' statuses, issue 14)."""
        self.settings = settings
        self.inbox = inbox
        self.store = store
        self.db = db
        self._devices: dict[str, DeviceRecord] = {}  # the registry snapshot of the last batch
        # issue 16: dead letters capped per the flood guard's key, unregistered ids as one
        self.journal = Journal(db, settings.dead_letters_per_source_hour, settings.dead_letter_days,
                               source_of=self._source_of)
        self.registry = registry
        self.ack = ack
        self.decoder = Decoder(settings.max_payload_bytes, settings.max_clock_skew_s, AliasBook(db))
        self.dedup = Deduplicator(settings.dedup_window)
        self.flood = FloodGuard(settings.device_rate_per_s, settings.device_burst)
        self.outputs: list[asyncio.Queue[Batch]] = list(outputs)
        self._gate = gate
        self._unacked: deque[Batch] = deque()  # committed batches waiting for their gate, in commit order
        self._committed = asyncio.Event()
        self.keepers: list[Callable[[Batch], None]] = list(keepers)
        self.stats = IngestStats()
        self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        spool = Spool(db.path.parent / "spool.sqlite", settings.spool_max_bytes)
        self.drainer = SpoolDrainer(spool, store, self._store_thread, settings.batch_max)
        self.stats.spool = spool.stats
        self.routes = self._routes()

    def seed_dedup(self) -> None:
        """After a restart, remember what is already stored so redeliveries are recognised."""
        stored = self._stored_seqs()
        for device_id, (seqs, last_ts) in [*stored.items(), *self.drainer.spool.device_seqs().items()]:
            self.dedup.preload(device_id, seqs, last_ts)
        for device_id, seqs in self.journal.recent_seqs().items():
            self.dedup.preload(device_id, seqs, 0.0)

    def _stored_seqs(self) -> dict[str, tuple[list[int], float]]:
        try:
            return self.store.recent_seqs(time.time() - DEDUP_LOOKBACK_S)
        except StoreError as exc:  # InfluxDB down at start: ingest spools; a redelivered point overwrites itself
            logger.warning("cannot seed dedup from the store (%s); starting with the spool and journal only", exc)
            return {}

    def stored_seqs(self, devices: set[str]) -> list[tuple[str, list[int], float]]:
        """What the shared store and journal hold of these devices (blocking: run it off the loop), to seed dedup
        with `preload` when their shard comes to this worker (issue 20): what the previous owner stored but never
        acknowledged comes again, and goes to the detectors but not to the store. Raises StoreError when the store
        cannot say: the shard must not be taken before it can."""
        stored = self.store.recent_seqs(time.time() - DEDUP_LOOKBACK_S, devices)
        out = [(d, seqs, ts) for d, (seqs, ts) in stored.items()]
        out += [(d, seqs, 0.0) for d, seqs in self.journal.recent_seqs().items() if d in devices]
        return out

    async def adopt(self, devices: set[str]) -> int:
        """Seed dedup for devices whose shard came to this worker (the store read on the store's own thread)."""
        found = await asyncio.get_running_loop().run_in_executor(self._store_thread, self.stored_seqs, devices)
        for device_id, seqs, last_ts in found:
            self.dedup.preload(device_id, seqs, last_ts)
        return len(found)

    async def run(self) -> None:
        """Take, prepare and commit batches forever.

        A batch is journaled and handed to the gating stage here, in order; its store write and ack bookkeeping run
        as a task chained to the previous batch's (writes one after another, in order), so the next batch is
        decoded, journaled and detected on while this one is written (issue 20). At most `STORES_IN_FLIGHT`
        batches wait for the store: then the loop waits too, and the inbox's backpressure holds the rest."""
        stores: deque[asyncio.Task[None]] = deque()
        drainer = asyncio.create_task(self.drainer.run(), name="spool-drainer")
        acker = asyncio.create_task(self._ack_when_handled(), name="ingest-acker")
        try:
            while True:
                items = await self.inbox.take(self.settings.batch_max)
                if len(items) < self.settings.batch_max:
                    await asyncio.sleep(0)  # let a burst accumulate a little without adding latency
                batch = self.prepare(items)
                await self.hand_on(batch)
                stores.append(asyncio.create_task(self.store_batch(batch, stores[-1] if stores else None),
                                                  name="ingest-store"))
                while stores and (stores[0].done() or len(stores) > STORES_IN_FLIGHT):
                    await stores.popleft()  # raises what a store task raised
        finally:
            drainer.cancel()
            acker.cancel()
            await asyncio.wait([drainer, acker])  # let a drain step in flight finish (its store write and removal)
            if stores:
                await asyncio.shield(asyncio.gather(*stores, return_exceptions=True))
            self._ack_settled()

    async def _ack_when_handled(self) -> None:
        """Ack gated batches in commit order, each once its gating stage has handled it."""
        while True:
            while not self._unacked:
                self._committed.clear()
                await self._committed.wait()
            handled = self._unacked[0].handled
            if handled is not None:
                await asyncio.shield(handled)  # shielded: a cancelled acker must not cancel the batch's future
            self._ack(self._unacked.popleft())

    def _ack_settled(self) -> None:
        """At shutdown: ack the handled batches at the head of the queue; the rest the broker redelivers."""
        while self._unacked and (self._unacked[0].handled is None or self._unacked[0].handled.done()):
            self._ack(self._unacked.popleft())

    def _ack(self, batch: Batch) -> None:
        mids = [item.mid for item in batch.items if item.qos == 1]
        self.ack(mids)
        self.stats.acked += len(batch.items)

    def _routes(self) -> dict[type, Route]:
        """Where each record the decoder makes goes in a batch: one entry per record type (a new type adds one)."""
        return {
            Reading: self._take_reading,
            DeviceEvent: self._take_message,
            DisasterReport: self._take_message,
            Rejection: lambda batch, rec: batch.rejections.append(rec),
            Availability: lambda batch, rec: batch.availability.append(rec),
            # no seq: a redelivery is recognised by the offer's state
            ResponderStatus: lambda batch, rec: batch.statuses.append(rec),
            # keyed on (team, assignment, status): a redelivery is recognised by the team's recorded status
            TeamStatus: lambda batch, rec: batch.team_statuses.append(rec),
            Ignored: self._take_ignored,  # acked with the batch, never dead-lettered (issue 9)
        }

    def _take_reading(self, batch: Batch, rec: Reading) -> None:
        if self.dedup.accept(rec.device_id, rec.seq, rec.ts):
            batch.readings.append(rec)
        elif self.dedup.replayed(rec.device_id, rec.seq):
            batch.replayed.append(rec)

    def _take_message(self, batch: Batch, rec: DeviceEvent | DisasterReport) -> None:
        if self.dedup.accept(rec.device_id, rec.seq, rec.ts):
            batch.messages.append(rec)
        elif self.dedup.replayed(rec.device_id, rec.seq):
            batch.replayed_messages.append(rec)

    def _take_ignored(self, _batch: Batch, rec: Ignored) -> None:
        self.stats.ignored[rec.reason] = self.stats.ignored.get(rec.reason, 0) + 1

    def prepare(self, items: list[Inbound]) -> Batch:
        """Decode, validate and deduplicate a batch (pure CPU, on the loop thread)."""
        batch = Batch(items)
        devices = self.registry.devices()
        now = time.time()
        allow = self.flood.allow
        route = self.routes
        self._devices = devices
        for item in items:
            parts = item.topic.split("/", 2)
            source = parts[1] if len(parts) == 3 else item.topic
            if source not in devices:  # issue 16: an ecosystem alias's device, else the one shared bucket
                source = self._source_of(item.topic)
            if not allow(source, now):
                self._flooded(batch, item, source, now)
                continue
            rec = self.decoder.decode(item.topic, item.payload, devices, now)
            route[type(rec)](batch, rec)
        return batch

    def _source_of(self, topic: str) -> str:
        """The flood guard's (and dead letters') key of a topic: its registered device (through an alias for an
        ecosystem topic), else UNREGISTERED, one key shared by every id not in the registry (issue 16)."""
        parts = topic.split("/", 2)
        source = parts[1] if len(parts) == 3 else topic
        if source in self._devices:
            return source
        source = self.decoder.adapters.device_of(topic) or UNREGISTERED
        return source if source in self._devices else UNREGISTERED

    def _flooded(self, batch: Batch, item: Inbound, source: str, now: float) -> None:
        """A message over its device's budget: dropped (acked with the batch), counted, sampled to dead letters.

        Every drop is counted once: here, or (for the sample itself) as the batch's rejection.
        """
        dropped = self.flood.sample_due(source, now)
        if not dropped:
            self.stats.rejected["rate_limited"] += 1
            return
        who = "unregistered ids" if source == UNREGISTERED else repr(source[:64])
        detail = f"{who} over {self.settings.device_rate_per_s:g} msg/s: {dropped} dropped since last sample"
        batch.rejections.append(Rejection(item.topic, "rate_limited", detail, item.payload[:4096], now))

    async def commit(self, batch: Batch) -> None:
        """Journal, hand to the gating stage, store durably (retrying), ack in order, hand on (one batch alone)."""
        await self.hand_on(batch)
        await self.store_batch(batch, None)

    async def hand_on(self, batch: Batch) -> None:
        """Dead letters, events and reports to the state database, then the batch to the gating stage (the
        detectors), before its readings are stored: a fall's latency is not one store write longer. A batch of
        telemetry alone has nothing to journal and does not wait for the state writer."""
        if batch.rejections or batch.messages or batch.statuses or batch.team_statuses:
            await self.db.run(lambda: self._journal(batch))
        if self._gate is not None:
            batch.handled = asyncio.get_running_loop().create_future()
            await self._gate.put(batch)

    async def store_batch(self, batch: Batch, previous: asyncio.Task[None] | None) -> None:
        """After the previous batch's: write the readings, then ack (now, or once the gating stage has handled the
        batch; a crash before leaves it unacked and the broker redelivers it), then the other stages."""
        if previous is not None:
            await asyncio.wait([previous])  # in order; its failure is raised by whoever awaits it
        t0 = time.perf_counter()
        await self._write_readings(batch.readings)
        if self._gate is not None:
            self._unacked.append(batch)
            self._committed.set()
        else:
            self._ack(batch)
        self._count(batch, time.perf_counter() - t0)
        for queue in self.outputs:
            await queue.put(batch)

    def _journal(self, batch: Batch) -> None:
        self.journal.write(batch.rejections, batch.messages)
        for keep in self.keepers:
            keep(batch)

    async def _write_readings(self, readings: list[Reading]) -> None:
        if not readings:
            return
        if self.drainer.spool.empty:  # otherwise the batch queues behind the spooled ones: order is kept
            try:
                await asyncio.get_running_loop().run_in_executor(self._store_thread, self.store.write, readings)
                return
            except StoreError as exc:
                self.stats.store_retries += 1
                logger.warning("store write failed (%s); spooling to disk until the store answers again", exc)
        await self.drainer.put(readings)

    def _count(self, batch: Batch, seconds: float) -> None:
        stats = self.stats
        stats.received += len(batch.items)
        stats.stored += len(batch.readings)
        stats.duplicates = self.dedup.duplicates
        stats.replayed += len(batch.replayed) + len(batch.replayed_messages)
        stats.batches += 1
        stats.last_write_ms = seconds * 1000
        for rej in batch.rejections:
            stats.rejected[rej.reason] += 1
            logger.info("rejected %s on %r: %s", rej.reason, rej.topic[:120], rej.detail[:200])

    def close(self) -> None:
        """Stop the store thread after pending writes, then close the spool."""
        self._store_thread.shutdown(wait=True)
        self.drainer.close()
