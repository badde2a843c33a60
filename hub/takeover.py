"""Workers that take over from each other (issue 20): the shard leases (ingest/leases.py) drive the shards' MQTT
sessions (ingest/shard_links.py), the dedup windows and the pending falls.

Every `HEARTBEAT_S` the keeper renews this worker's leases in PostgreSQL and acts on the answer:
- shards claimed (free: their owner died, or nobody had them): dedup is seeded from the shared store for their
  devices and their pending falls are adopted from the state database, then their sessions connect, inheriting
  what the broker queued for them and what the dead owner had not acknowledged;
- shards over the fair share (a worker came back): paused, drained (everything already in the pipeline stored,
  detected and acknowledged), disconnected, their pending falls saved and forgotten here, then the lease released;
- shards whose lease was lost (this worker stalled past the TTL and another took them): disconnected at once.
When the database cannot be reached for most of the TTL, the worker stops every shard (it fences itself: another
worker may hold them already) and claims again once the database answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import psycopg

from alerts.falls.flow import AlertFlow
from devices.registry import Registry
from ingest.leases import Balance, LeaseBook
from ingest.pipeline import Ingestor
from ingest.shard_links import ShardLinks
from ingest.shards import virtual_shard_of
from ingest.store.base import StoreError

T = TypeVar("T")

logger = logging.getLogger(__name__)
HEARTBEAT_S = 1.0
FENCE_FRACTION = 0.75  # no renewal for this part of the TTL: stop every shard before another worker may take it
LOOP_STALL_S = 30.0  # the event loop not ticking this long: a hung worker, whose leases are left to expire
LOOP_TICK_S = 0.5
LINK_THREADS = 16  # sessions connected or handed over at once (each blocks a thread for its CONNECT or drain)
SEED_ATTEMPTS = 3


class ShardKeeper:
    """Runs the lease heartbeat and hands shards over (a stage of the hub's TaskGroup)."""

    def __init__(self, book: LeaseBook, links: ShardLinks, registry: Registry, ingestor: Ingestor,
                 flow: AlertFlow) -> None:
        self.book = book
        self.links = links
        self.registry = registry
        self.ingestor = ingestor
        self.flow = flow
        self.balance: Balance | None = None
        self._busy: set[int] = set()  # shards being opened or handed over
        self._tasks: set[asyncio.Task[None]] = set()
        self._renewed = time.monotonic()
        # own threads: a heartbeat must never wait behind sessions connecting (a late one loses the leases)
        self._lease_thread = ThreadPoolExecutor(1, thread_name_prefix="shard-leases")
        self._link_threads = ThreadPoolExecutor(LINK_THREADS, thread_name_prefix="shard-links")

    async def _leases(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._lease_thread, partial(fn, *args))

    async def _links(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._link_threads, partial(fn, *args))

    async def run(self) -> None:
        """Heartbeat until cancelled; then hand every shard's session back and leave the lease tables.

        The heartbeat runs on its own thread, so a busy event loop does not make it late (a late one loses the
        leases); it stops renewing when the loop has not ticked for LOOP_STALL_S (a hung worker's leases expire).
        """
        loop = asyncio.get_running_loop()
        beats: asyncio.Queue[Balance | Exception] = asyncio.Queue()
        stop = threading.Event()
        self._alive = time.monotonic()

        def heartbeats() -> None:
            wait = 0.0  # the first at once
            while not stop.wait(wait):
                wait = HEARTBEAT_S
                if time.monotonic() - self._alive > LOOP_STALL_S:
                    continue  # the loop is stuck: let the leases expire, another worker takes the shards
                try:
                    result: Balance | Exception = self.book.heartbeat()
                except psycopg.Error as exc:
                    result = exc
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(beats.put_nowait, result)

        thread = threading.Thread(target=heartbeats, name="shard-heartbeat", daemon=True)
        thread.start()
        try:
            while True:
                self._alive = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await self.apply(await asyncio.wait_for(beats.get(), LOOP_TICK_S))
        finally:
            stop.set()
            for task in self._tasks:
                task.cancel()
            await asyncio.to_thread(thread.join, HEARTBEAT_S * 5)
            await self._leases(self._leave)
            self._link_threads.shutdown(wait=False, cancel_futures=True)
            self._lease_thread.shutdown(wait=False)

    def _leave(self) -> None:
        self.links.close_all()  # what the pipeline had not acknowledged goes to the shards' next owners
        with contextlib.suppress(psycopg.Error):
            self.book.leave()  # the others need not wait for the TTL
        self.book.close()

    async def apply(self, balance: Balance | Exception) -> None:
        """Act on one heartbeat's outcome."""
        if isinstance(balance, Exception):
            logger.warning("shard lease heartbeat failed: %s", balance)
            if time.monotonic() - self._renewed > FENCE_FRACTION * self.book.ttl_s and self.links.owned:
                logger.error("leases not renewed for %.1f s: stopping every shard", time.monotonic() - self._renewed)
                await self._links(self.links.close_all)
            return
        self._renewed = time.monotonic()
        self.balance = balance
        for shard in self.links.owned - balance.held - self._busy:  # taken by another worker: stop at once
            logger.error("lease of shard %d lost; disconnecting its session", shard)
            await self._links(self.links.close, shard)
        claimed = set(balance.claimed) | (set(balance.held) - self.links.owned - self._busy - set(balance.give))
        if claimed:
            self._spawn(self._take(claimed), claimed)
        for shard in set(balance.give) - self._busy:
            self._spawn(self._give(shard), {shard})
        self.registry.devices()  # the shards' followers subscribe new devices, drop removed ones

    def _spawn(self, work: object, shards: set[int]) -> None:
        assert asyncio.iscoroutine(work)
        self._busy |= shards
        task = asyncio.create_task(work, name=f"shards-{min(shards)}")
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._busy -= shards

        task.add_done_callback(done)

    async def _take(self, shards: set[int]) -> None:
        """Seed dedup and adopt pending falls for the shards' devices, then connect their sessions."""
        t0 = time.monotonic()
        snapshot = self.registry.devices()
        count = self.links.count
        devices = {d for d in snapshot if virtual_shard_of(d, count) in shards}
        seeded = await self._seed(devices)
        falls = self.flow.adopt(devices)
        t_seeded = time.monotonic()
        results = await asyncio.gather(*(self._links(self.links.open, s, snapshot) for s in sorted(shards)),
                                       return_exceptions=True)
        for shard, result in zip(sorted(shards), results, strict=True):
            if isinstance(result, BaseException):
                logger.error("shard %d: its session did not connect (%s); releasing it", shard, result)
                await self._release(shard, devices_of(devices, shard, count))
            else:
                with contextlib.suppress(psycopg.Error):
                    await self._leases(self.book.ready, shard)
        logger.warning("took over shards %s in %.2f s (dedup seeded in %.2f s, sessions in %.2f s): %d devices "
                       "(%d seeded), %d pending falls", sorted(shards), time.monotonic() - t0, t_seeded - t0,
                       time.monotonic() - t_seeded, len(devices), seeded, falls)

    async def _seed(self, devices: set[str]) -> int:
        """Seed dedup for the devices from the shared store (a few tries); unseeded, a redelivered reading the last
        owner stored is written again (InfluxDB keeps one point per device, time and seq) and detected again."""
        for attempt in range(1, SEED_ATTEMPTS + 1):
            try:
                return await self.ingestor.adopt(devices)
            except StoreError as exc:
                logger.warning("cannot seed dedup for a takeover (try %d of %d): %s", attempt, SEED_ATTEMPTS, exc)
        return 0

    async def _give(self, shard: int) -> None:
        """Hand one shard over cleanly: pause, let the pipeline finish with it, disconnect, release the lease."""
        t0 = time.monotonic()
        self.links.pause(shard)
        drained = await self._links(self.links.wait_drained, shard)
        if not drained:
            logger.warning("shard %d: pipeline not drained in time; the next owner gets the rest again", shard)
        await self._links(self.links.close, shard)
        devices = devices_of(set(self.registry.devices()), shard, self.links.count)
        await self._release(shard, devices)
        logger.warning("gave shard %d back in %.2f s", shard, time.monotonic() - t0)

    async def _release(self, shard: int, devices: set[str]) -> None:
        self.flow.release(devices)
        self.ingestor.dedup.forget(devices)
        with contextlib.suppress(psycopg.Error):  # not released: it expires after the TTL
            await self._leases(self.book.release, shard)


def devices_of(devices: set[str], shard: int, count: int) -> set[str]:
    """The devices of one shard among `devices`."""
    return {d for d in devices if virtual_shard_of(d, count) == shard}
