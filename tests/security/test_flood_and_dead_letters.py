"""Issue 16: rotating device ids can neither grow the flood guard's memory nor escape its cap (unregistered ids share
one bucket), nor fill the disk with dead letters (capped per source, unregistered ids as one; pruned by age)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson

from devices.aliases import Alias, AliasBook
from devices.credentials import Credentials
from devices.models import Rejection
from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.settings import IngestSettings
from ingest.inbox import Inbound, Inbox
from ingest.journal import Journal
from ingest.pipeline import Ingestor
from ingest.ratelimit import UNREGISTERED
from ingest.store.duckdb_store import DuckDBStore

BURST = 50


def _ingestor(tmp_path: Path) -> Ingestor:
    db = StateDB(tmp_path / "state.sqlite")
    registry = Registry(db)
    registry.add_home(Home("H1", "test", 28.2, 112.9), replace=True)
    registry.add_resident(Resident("R1", "test", "H1"), replace=True)
    registry.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"), replace=True)
    registry.add_device(DeviceRecord("Z-SMOKE", "home_sensor", "smoke", home_id="H1", room="kitchen"), replace=True)
    Credentials(db).issue("bridge-1", kind="bridge")
    AliasBook(db).add(Alias("zigbee2mqtt", "kitchen smoke", "Z-SMOKE", "bridge-1"))
    inbox = Inbox(asyncio.get_running_loop(), 100_000)
    settings = IngestSettings(device_rate_per_s=1.0, device_burst=BURST, dead_letters_per_source_hour=20)
    return Ingestor(settings, inbox, DuckDBStore(tmp_path / "t.duckdb"), db, registry, lambda mids: None)


def _msg(topic: str, seq: int, body: dict[str, object] | None = None) -> Inbound:
    now = time.time()
    payload = orjson.dumps(body if body is not None else {"ts": now, "seq": seq, "heart_rate": 70})
    return Inbound(topic, payload, seq + 1, 1, now)


def test_random_ids_share_one_bucket_and_one_dead_letter_cap(tmp_path: Path) -> None:
    async def go() -> None:
        ingestor = _ingestor(tmp_path)
        try:
            flood = [_msg(f"eldercare/RND{i}/telemetry", i) for i in range(5000)]  # a new id every message
            batch = ingestor.prepare(flood)
            assert len(ingestor.flood._buckets) == 1 and UNREGISTERED in ingestor.flood._buckets  # memory bounded
            unknown = [r for r in batch.rejections if r.reason == "unknown_device"]
            assert len(unknown) <= BURST  # one burst for all of them, not one per id
            assert ingestor.stats.rejected["rate_limited"] >= 5000 - BURST - 1
            # the registered wearable and the aliased zigbee sensor keep their own budgets
            good = ingestor.prepare([_msg("eldercare/W1/telemetry", i) for i in range(10)]
                                    + [_msg("zigbee2mqtt/bridge-1/kitchen smoke", 100 + i, {"smoke": False})
                                       for i in range(10)])
            assert len(good.readings) == 20 and not good.rejections
            assert set(ingestor.flood._buckets) == {UNREGISTERED, "W1", "Z-SMOKE"}
            await ingestor.db.run(lambda: ingestor.journal.write(batch.rejections, []))
            stored = ingestor.db.execute("SELECT count(*) FROM dead_letters")[0][0]
            assert stored == 20 and ingestor.journal.capped == len(batch.rejections) - 20  # one cap for all ids
        finally:
            ingestor.close()

    asyncio.run(go())


def test_dead_letters_are_capped_per_source_and_pruned_by_age(tmp_path: Path) -> None:
    clock = [1_800_000_000.0]
    db = StateDB(tmp_path / "state.sqlite")
    journal = Journal(db, per_source_hour=5, keep_days=2, clock=lambda: clock[0])

    def rejections(device: str, n: int) -> list[Rejection]:
        return [Rejection(f"eldercare/{device}/telemetry", "bad_payload", "x", b"x" * 100, clock[0]) for _ in range(n)]

    journal.write(rejections("W1", 12) + rejections("W2", 3), [])
    counts = {r[0]: r[1] for r in db.execute("SELECT topic, count(*) FROM dead_letters GROUP BY topic")}
    assert counts == {"eldercare/W1/telemetry": 5, "eldercare/W2/telemetry": 3} and journal.capped == 7
    clock[0] += 3600  # the next hour: a fresh allowance
    journal.write(rejections("W1", 12), [])
    assert db.execute("SELECT count(*) FROM dead_letters")[0][0] == 13
    clock[0] += 3 * 86_400  # past keep_days: the next write prunes what is older
    journal.write(rejections("W1", 1), [])
    assert db.execute("SELECT count(*) FROM dead_letters")[0][0] == 1
    db.close()
