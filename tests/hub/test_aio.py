"""ingest.aio.get_within: a stage loop built on it ends when cancelled, even when an item arrived that same instant."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from ingest.aio import get_within


async def _race_cancel_with_an_item(get: Callable[[asyncio.Queue[int]], Awaitable[int | None]]) -> list[int | None]:
    """Loop like a stage does; put an item and cancel the loop once the item's get has completed."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    seen: list[int | None] = []

    async def stage() -> None:
        while True:
            seen.append(await get(queue))

    task = asyncio.create_task(stage())
    await asyncio.sleep(0)  # the stage waits on queue.get()
    queue.put_nowait(1)
    await asyncio.sleep(0)  # the get has completed; its wake-up of the stage is still pending
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):  # a loop that swallowed the cancel would run on: TimeoutError, not this
            await task
    return seen


def test_a_cancel_that_races_an_arriving_item_ends_the_loop() -> None:
    asyncio.run(_race_cancel_with_an_item(lambda q: get_within(q, 5.0)))


def test_the_race_is_real_with_wait_for_on_this_python() -> None:
    """The reason for get_within: on 3.11 wait_for returns the item and the loop never sees the cancel."""
    import sys

    if sys.version_info >= (3, 12):
        pytest.skip("wait_for propagates the cancel since Python 3.12")
    with pytest.raises(TimeoutError):
        asyncio.run(_race_cancel_with_an_item(lambda q: asyncio.wait_for(q.get(), 5.0)))


def test_get_within_times_out_with_none_and_returns_items() -> None:
    async def scenario() -> tuple[int | None, int | None]:
        queue: asyncio.Queue[int] = asyncio.Queue()
        empty = await get_within(queue, 0.01)
        queue.put_nowait(7)
        return empty, await get_within(queue, 0.01)

    assert asyncio.run(scenario()) == (None, 7)
