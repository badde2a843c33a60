"""Shard leases in PostgreSQL (issue 20): fair shares, a dead worker's shards freed at once, a hung one's after the
TTL, and shards given back only by their owner."""

from __future__ import annotations

import time

import psycopg

from ingest.leases import LeaseBook

SHARDS = 32


def _owners(url: str) -> dict[int, str]:
    with psycopg.connect(url) as conn:
        return {int(r[0]): str(r[1]) for r in conn.execute("SELECT shard, owner FROM shard_leases")}


def test_workers_share_fairly_and_take_over_a_dead_one(postgres: str) -> None:
    books = [LeaseBook(postgres, name, SHARDS, ttl_s=30.0) for name in ("a", "b", "c")]
    try:
        _share_and_take_over(postgres, *books)
    finally:
        for book in books:
            book.close()  # also when an assertion failed: no connection left for a later test's GC to find


def _share_and_take_over(postgres: str, a: LeaseBook, b: LeaseBook, c: LeaseBook) -> None:
    first = a.heartbeat()
    assert first.held == first.claimed == frozenset(range(SHARDS)) and first.workers == 1  # alone: everything
    joined = b.heartbeat()
    assert joined.workers == 2 and joined.fair == 16 and joined.claimed == frozenset()  # nothing free yet
    over = a.heartbeat()
    assert over.give == frozenset(range(16, 32))  # the highest 16 go back, once handed over
    for shard in over.give:
        b.release(shard)  # only the owner can give a shard back
    assert len(_owners(postgres)) == SHARDS
    for shard in over.give:
        a.release(shard)
    assert b.heartbeat().claimed == frozenset(range(16, 32))
    c.heartbeat()
    for book in (a, b):
        for shard in book.heartbeat().give:
            book.release(shard)
    c_share = c.heartbeat()
    assert c_share.fair == 11 and len(c_share.held) == 10  # 11 + 11 + 10
    owners = _owners(postgres)
    assert sorted(list(owners.values()).count(w) for w in "abc") == [10, 11, 11]

    t0 = time.monotonic()
    c.close()  # its backend ends, as when the worker is SIGKILLed: no TTL to wait for
    taken = a.heartbeat()
    while taken.workers != 2 and time.monotonic() - t0 < 2.0:  # the backend exits just after the socket closes
        time.sleep(0.05)
        taken = a.heartbeat()
    assert taken.workers == 2 and len(taken.claimed) == 5 and time.monotonic() - t0 < 2.0
    assert len(b.heartbeat().claimed) == 5
    owners = _owners(postgres)
    assert len(owners) == SHARDS and set(owners.values()) == {"a", "b"}


def test_a_hung_worker_loses_its_leases_after_the_ttl(postgres: str) -> None:
    hung, live = LeaseBook(postgres, "hung", 4, ttl_s=1.0), LeaseBook(postgres, "live", 4, ttl_s=1.0)
    assert len(hung.heartbeat().held) == 4
    assert live.heartbeat().claimed == frozenset()  # its connection lives: the leases hold until they expire
    time.sleep(1.2)
    assert live.heartbeat().claimed == frozenset(range(4))  # expired: taken, though its backend is still there
    back = hung.heartbeat()
    assert back.held == frozenset() and back.workers == 2  # lost: its keeper disconnects those sessions at once
    assert live.heartbeat().give == frozenset({2, 3})  # two workers again: half goes back, once handed over
    hung.close()
    live.close()
