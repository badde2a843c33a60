"""Ingest acks a batch only after the detector stage has handled it (issue 7: no alert lost on a kill -9).

A real DuckDB store and SQLite state; the broker is replaced by the list of acks the pipeline sends.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from devices.models import Reading
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.settings import IngestSettings
from ingest.inbox import Inbound, Inbox
from ingest.pipeline import Batch, Ingestor
from ingest.store.duckdb_store import DuckDBStore


def _ingestor(tmp_path: Path, acks: list[int], gate: asyncio.Queue[Batch] | None = None) -> Ingestor:
    db = StateDB(tmp_path / "state.sqlite")
    registry = Registry(db)
    registry.add_home(Home("H1", "test", 28.2, 112.9), replace=True)
    registry.add_resident(Resident("R1", "test", "H1"), replace=True)
    registry.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"), replace=True)
    inbox = Inbox(asyncio.get_running_loop(), 1000)
    return Ingestor(IngestSettings(batch_max=10), inbox, DuckDBStore(tmp_path / "t.duckdb"), db, registry, acks.extend,
                    gate=gate)


def _messages(seqs: range, mid0: int = 1) -> list[Inbound]:
    now = time.time()
    return [Inbound("eldercare/W1/telemetry", orjson.dumps({"ts": now - 100 + s, "seq": s, "heart_rate": 70}),
                    mid0 + i, 1, now) for i, s in enumerate(seqs)]


def _gated(tmp_path: Path, acks: list[int]) -> tuple[Ingestor, asyncio.Queue[Batch], asyncio.Task[None]]:
    """An ingestor whose acks wait for the returned queue's consumer, already running."""
    detect: asyncio.Queue[Batch] = asyncio.Queue()
    ingestor = _ingestor(tmp_path, acks, gate=detect)
    return ingestor, detect, asyncio.create_task(ingestor.run())


async def _stop(ingestor: Ingestor, runner: asyncio.Task[None]) -> None:
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    ingestor.close()


async def _next(queue: asyncio.Queue[Batch]) -> Batch:
    return await asyncio.wait_for(queue.get(), 10)


async def _until(check: object, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def test_acks_wait_for_the_gating_stage_and_keep_their_order(tmp_path: Path) -> None:
    async def main() -> None:
        acks: list[int] = []
        ingestor, detect, runner = _gated(tmp_path, acks)
        ingestor.inbox.put_many(_messages(range(1, 11)))
        first = await _next(detect)
        ingestor.inbox.put_many(_messages(range(11, 21), mid0=11))
        second = await _next(detect)
        await _until(lambda: ingestor.stats.stored == 20)
        assert ingestor.store.count() == 20  # stored...
        await asyncio.sleep(0.2)
        assert acks == []  # ...but not acked: the detectors have not seen them
        second.settle()
        await asyncio.sleep(0.2)
        assert acks == []  # PUBACKs go in arrival order: the second waits for the first
        first.settle()
        await _until(lambda: len(acks) == 20)
        assert acks == list(range(1, 21)) and ingestor.stats.acked == 20
        await _stop(ingestor, runner)

    asyncio.run(main())


def test_at_shutdown_only_handled_batches_are_acked(tmp_path: Path) -> None:
    async def main() -> None:
        acks: list[int] = []
        ingestor, detect, runner = _gated(tmp_path, acks)
        ingestor.inbox.put_many(_messages(range(1, 11)))
        (await _next(detect)).settle()
        await _until(lambda: len(acks) == 10)
        ingestor.inbox.put_many(_messages(range(11, 21), mid0=11))
        await _next(detect)  # never settled: the broker will redeliver it
        await _stop(ingestor, runner)
        assert acks == list(range(1, 11))

    asyncio.run(main())


def test_a_redelivery_of_what_a_killed_run_stored_goes_to_the_detectors_not_the_store(tmp_path: Path) -> None:
    async def first_run() -> None:
        ingestor, detect, runner = _gated(tmp_path, [])
        ingestor.inbox.put_many(_messages(range(1, 11)))
        await _next(detect)  # stored, then "killed" before the detectors handled it: never acked
        await _until(lambda: ingestor.stats.stored == 10)
        await _stop(ingestor, runner)
        ingestor.store.close()
        ingestor.db.close()

    async def second_run() -> None:
        acks: list[int] = []
        detect: asyncio.Queue[Batch] = asyncio.Queue()
        ingestor = _ingestor(tmp_path, acks, gate=detect)
        ingestor.seed_dedup()
        runner = asyncio.create_task(ingestor.run())  # after seeding: _gated would start it before
        ingestor.inbox.put_many(_messages(range(1, 13), mid0=100))  # the broker redelivers, then two new ones
        batches = [await _next(detect), await _next(detect)]  # batch_max is 10
        assert [r.seq for b in batches for r in b.replayed] == list(range(1, 11))
        assert [r.seq for b in batches for r in b.readings] == [11, 12]
        await _until(lambda: ingestor.stats.stored == 12)
        assert ingestor.store.count() == 12  # stored once
        for batch in batches:
            batch.settle()
        await _until(lambda: len(acks) == 12)
        assert ingestor.stats.replayed == 10
        await _stop(ingestor, runner)

    asyncio.run(first_run())
    asyncio.run(second_run())


class _SlowStore(DuckDBStore):
    """A store whose writes wait until the test lets them finish."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()

    def write(self, readings: Sequence[Reading]) -> None:
        assert self.release.wait(10), "the test never let the write finish"
        super().write(readings)


def test_the_detectors_get_a_batch_while_it_is_written_and_it_is_acked_only_once_stored(tmp_path: Path) -> None:
    """Issue 20: detection does not wait for the store write; the ack still waits for both."""

    async def main() -> None:
        acks: list[int] = []
        detect: asyncio.Queue[Batch] = asyncio.Queue()
        ingestor = _ingestor(tmp_path, acks, gate=detect)
        store = _SlowStore(tmp_path / "slow.duckdb")
        ingestor.store = store
        ingestor.drainer.store = store
        runner = asyncio.create_task(ingestor.run())
        ingestor.inbox.put_many(_messages(range(1, 11)))
        batch = await _next(detect)  # the write is still held
        assert [r.seq for r in batch.readings] == list(range(1, 11)) and store.count() == 0
        batch.settle()
        await asyncio.sleep(0.3)
        assert acks == []  # handled by the detectors, but not stored yet: no PUBACK
        store.release.set()
        await _until(lambda: len(acks) == 10)
        assert acks == list(range(1, 11)) and store.count() == 10
        await _stop(ingestor, runner)

    asyncio.run(main())
