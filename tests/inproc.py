"""The hub built in-process by its composition root (no broker connection), with staff accounts for ASGI clients."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from argon2 import PasswordHasher

from hub.app import Hub, build_hub
from hub.settings import MqttSettings, Settings, StoreSettings


@contextmanager
def built_hub(data_dir: Path, users: Iterable[tuple[str, str, str]] = ()) -> Iterator[Hub]:
    """A hub over `data_dir` with these (user, password, role) accounts (a fast hasher: tests only); closed after."""
    settings = Settings(mqtt=MqttSettings(url="mqtt://127.0.0.1:1"), store=StoreSettings(data_dir=data_dir))

    async def build() -> Hub:
        return build_hub(settings)

    hub = asyncio.run(build())
    try:
        assert hub.ctx.auth is not None
        hub.ctx.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
        for user, password, role in users:
            hub.ctx.auth.add_user(user, password, role=role)
        yield hub
    finally:
        hub.close()
