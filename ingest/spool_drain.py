"""The async side of the spool: append batches from the ingest loop, drain them into the store in order.

Spool I/O runs on its own thread, store writes on the ingest's one store thread, so at most one store write is
in flight (DESIGN.md: bound the concurrency of store writes) and a hanging store never delays a spool append.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from devices.models import Reading
from ingest.spool import Spool
from ingest.store.base import StoreError, TimeSeriesStore

logger = logging.getLogger(__name__)
DRAIN_RETRY_MIN_S = 0.2
DRAIN_RETRY_MAX_S = 2.0
FULL_RETRY_S = 0.5
T = TypeVar("T")


class SpoolDrainer:
    """Appends to the spool (waiting while it is full) and writes its batches to the store once it answers."""

    def __init__(self, spool: Spool, store: TimeSeriesStore, store_thread: Executor, drain_max: int) -> None:
        self.spool = spool
        self.store = store
        self.store_thread = store_thread
        self.drain_max = drain_max
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._wake = asyncio.Event()

    async def _on_thread(self, executor: Executor, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    async def put(self, readings: Sequence[Reading]) -> None:
        """Durably spool a batch; while the spool is full (or its disk fails) wait, so nothing gets acked."""
        waited = False
        while True:
            try:
                if await self._on_thread(self._thread, self.spool.append, readings):
                    self._wake.set()
                    return
                if not waited:
                    logger.error(
                        "spool full (%d bytes): holding acks until the store takes writes again", self.spool.stats.bytes
                    )
            except sqlite3.Error as exc:
                logger.error("spool append failed (%s): holding acks and retrying", exc)
            waited = True
            await asyncio.sleep(FULL_RETRY_S)

    async def run(self) -> None:
        """Drain forever: oldest batches first, deleted only after the store took them."""
        delay = DRAIN_RETRY_MIN_S
        while True:
            if self.spool.empty:
                self._wake.clear()
                await self._wake.wait()
                continue
            step = asyncio.ensure_future(self._drain_oldest())
            try:
                stored = await asyncio.shield(step)
            except asyncio.CancelledError:
                await asyncio.wait([step])  # a batch the store took is also removed, or a restart would rewrite it
                raise
            if not stored:
                await asyncio.sleep(delay)
                delay = min(delay * 2, DRAIN_RETRY_MAX_S)
                continue
            delay = DRAIN_RETRY_MIN_S
            if self.spool.empty:
                logger.warning("spool drained: the store is taking writes again")

    async def _drain_oldest(self) -> bool:
        """Write the oldest batches to the store and remove them from the spool; False if the store refused."""
        ids, readings = await self._on_thread(self._thread, self.spool.peek, self.drain_max)
        try:
            await self._on_thread(self.store_thread, self.store.write, readings)
        except StoreError as exc:
            logger.warning("spool drain: store still refuses (%s); %d batches wait", exc, self.spool.stats.batches)
            return False
        await self._on_thread(self._thread, self.spool.remove, ids)
        return True

    def close(self) -> None:
        """Finish spool I/O and close the file (what it holds is drained after the next start)."""
        self._thread.shutdown(wait=True)
        self.spool.close()
