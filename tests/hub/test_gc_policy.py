"""The collector's full passes skip what survived the last one (issue 20 item 6), and a complete pass still
collects a cycle among frozen objects."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.app import build_hub
from hub.gc_policy import GcPolicy
from hub.settings import MqttSettings, RuntimeSettings, Settings, StoreSettings


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def policy() -> Iterator[GcPolicy]:
    p = GcPolicy()
    try:
        yield p
    finally:
        p.uninstall()  # and unfreeze


def _full_pass_ms() -> float:
    t0 = time.perf_counter()
    gc.collect(2)
    return (time.perf_counter() - t0) * 1e3


def test_survivors_of_a_full_pass_are_frozen_and_later_passes_are_shorter(policy: GcPolicy) -> None:
    state = [[i] for i in range(300_000)]  # long-lived, like the detectors' per-device state
    before = _full_pass_ms()
    policy.install()
    gc.collect(2)  # a full pass: its survivors, `state` among them, are frozen
    assert policy.stats.full_passes == 1 and gc.get_freeze_count() >= len(state)
    after = min(_full_pass_ms() for _ in range(3))
    assert after < before / 3, (before, after)
    del state


def test_young_cycles_are_still_collected_and_a_complete_pass_collects_frozen_ones(policy: GcPolicy) -> None:
    policy.install()
    old_a, old_b = _Node(), _Node()
    old_a.other, old_b.other = old_b, old_a
    old = weakref.ref(old_a)
    gc.collect(2)  # the cycle is alive, so it survives and is frozen
    del old_a, old_b  # now garbage, but frozen: full passes do not see it
    gc.collect(2)
    assert old() is not None
    young_a, young_b = _Node(), _Node()
    young_a.other, young_b.other = young_b, young_a
    young = weakref.ref(young_a)
    del young_a, young_b
    gc.collect(2)
    assert young() is None  # made after the freeze: collected as usual
    pause = policy.complete_pass()
    assert old() is None and pause >= 0 and policy.stats.complete_passes == 1


def test_the_hub_freezes_by_default_and_can_be_told_not_to(tmp_path: Path) -> None:
    async def build(**runtime: bool) -> tuple[bool, set[str]]:
        settings = Settings(mqtt=MqttSettings(url="mqtt://127.0.0.1:1"), runtime=RuntimeSettings(**runtime),
                            store=StoreSettings(data_dir=tmp_path / str(len(runtime))))
        hub = build_hub(settings)
        hub.close()
        return hub.gc is not None, set(hub.stages)

    on, stages = asyncio.run(build())
    assert on and "gc" in stages
    off, stages = asyncio.run(build(gc_freeze=False))
    assert not off and "gc" not in stages
