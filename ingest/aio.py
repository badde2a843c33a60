"""asyncio helpers the stages share.

`get_within` exists because Python 3.11's `asyncio.wait_for` can swallow a cancellation: when the task is
cancelled in the instant after the awaited `queue.get()` completed, 3.11 returns the item instead of raising
CancelledError (fixed in 3.12). A stage that loops on `wait_for` then never ends, and the hub's shutdown waits
for it forever - CI saw `hub demo` hang after SIGTERM. `asyncio.timeout` propagates the cancellation.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

T = TypeVar("T")


async def get_within(queue: asyncio.Queue[T], timeout_s: float) -> T | None:
    """The next item of `queue`, or None after `timeout_s`; a cancellation always propagates."""
    try:
        async with asyncio.timeout(timeout_s):
            return await queue.get()
    except TimeoutError:
        return None
