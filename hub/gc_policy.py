"""Keep the cyclic garbage collector's full passes off the hot path (issue 20 item 6: a fall's p99 latency).

A hub holding 10,000 wearers has some 800,000 objects the collector tracks: about half built at start (registry,
modules, pages), half the detectors' per-device state. CPython's full (generation 2) pass walks all of them: 290 ms
measured here, every 10-15 s at 10,000 accelerometer windows a second, and every message waiting meanwhile; that was
the fall latency's p99. Objects that survived a full pass are long-lived (a device's tracks, the registry), so the
policy moves them out of the collector's sight with `gc.freeze()`: once after start, and after every full pass,
whose survivors these are. Later full passes then walk only what was made since, and stay short.

What is frozen is still freed by reference counting when it is dropped; only a reference cycle among frozen objects
would wait, so a complete pass (unfreeze, collect, freeze again) runs every `full_every_s` (daily by default), its
pause logged. Off with HUB_RUNTIME__GC_FREEZE=false.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)
FULL_GENERATION = 2


@dataclass
class GcStats:
    """What the policy did, for /health."""

    frozen: int = 0  # objects in the permanent generation after the last freeze
    full_passes: int = 0  # generation-2 passes since start (each followed by a freeze)
    last_full_ms: float = 0.0
    complete_passes: int = 0  # unfreeze + collect + freeze
    last_complete_ms: float = 0.0


class GcPolicy:
    """Freeze the survivors of each full pass; a complete pass now and then."""

    def __init__(self, full_every_s: float = 24 * 3600.0) -> None:
        self.full_every_s = full_every_s
        self.stats = GcStats()
        self._installed = False
        self._pass_started = 0.0

    def settle(self) -> None:
        """After start: collect what start-up left behind and freeze the rest (the hub's long-lived core)."""
        t0 = time.perf_counter()
        gc.collect()
        gc.freeze()
        self.stats.frozen = gc.get_freeze_count()
        logger.info("gc: %d objects frozen after start (%.0f ms)", self.stats.frozen, (time.perf_counter() - t0) * 1e3)

    def install(self) -> None:
        """Freeze after every full pass from now on."""
        if not self._installed:
            gc.callbacks.append(self._on_gc)
            self._installed = True

    def uninstall(self) -> None:
        """Stop freezing after full passes and unfreeze: a process that goes on (a test) collects as usual again."""
        if self._installed:
            gc.callbacks.remove(self._on_gc)
            self._installed = False
        gc.unfreeze()

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != FULL_GENERATION:
            return
        if phase == "start":
            self._pass_started = time.perf_counter()
            return
        # a full pass has just ended: every younger generation was merged into it, so what is left is its survivors
        self.stats.full_passes += 1
        self.stats.last_full_ms = (time.perf_counter() - self._pass_started) * 1e3
        gc.freeze()
        self.stats.frozen = gc.get_freeze_count()
        logger.info("gc: full pass %.0f ms; %d objects frozen", self.stats.last_full_ms, self.stats.frozen)

    def complete_pass(self) -> float:
        """Unfreeze, collect everything, freeze again; returns the pause in milliseconds."""
        t0 = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        pause = (time.perf_counter() - t0) * 1e3
        self.stats.complete_passes += 1
        self.stats.last_complete_ms = pause
        self.stats.frozen = gc.get_freeze_count()
        logger.info("gc: complete pass over %d objects took %.0f ms", self.stats.frozen, pause)
        return pause

    async def run(self) -> None:
        """A hub stage: the complete pass every `full_every_s`."""
        while True:
            await asyncio.sleep(self.full_every_s)
            self.complete_pass()
