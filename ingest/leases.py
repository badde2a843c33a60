"""Shard leases in PostgreSQL (issue 20): which worker owns which virtual shard, taken over when a worker dies.

Two tables in the shared state database. `shard_workers` has one row per live worker: its name, the backend pid of
its lease connection and an expiry it pushes forward on every heartbeat. `shard_leases` has one row per owned
shard: the owner and the same kind of expiry. A worker is dead when its row expired (it hung, or lost the database
for `ttl_s`) or when its lease connection's backend is gone from `pg_stat_activity` (it was killed: the kernel
closed its socket, PostgreSQL ended the backend, so the leases free up on the next heartbeat of any other worker,
well within the TTL). Its leases are deleted, and the survivors claim free shards up to their fair share,
ceil(shards / live workers). A worker over its share (one came back) gives the extra shards back, and only after
handing them over cleanly (`Balance.give`), so a shard is never consumed by two workers at once.

Each heartbeat is one transaction under a transaction-level advisory lock, so the workers' views never interleave;
times are the database's clock (`clock_timestamp()`), so the workers' clocks may disagree. Only PostgreSQL: one
worker on SQLite has nobody to share with. The lease connection is its own (autocommit, TCP keepalives), not the
state database's, so a heartbeat never waits behind a long write.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

import psycopg

logger = logging.getLogger(__name__)
LOCK_KEY = 7_000_020  # pg_advisory_xact_lock: one heartbeat at a time across the workers
DDL = (
    """CREATE TABLE IF NOT EXISTS shard_workers (worker TEXT PRIMARY KEY, pid BIGINT NOT NULL,
        expires DOUBLE PRECISION NOT NULL, started DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS shard_leases (shard INTEGER PRIMARY KEY, owner TEXT NOT NULL,
        expires DOUBLE PRECISION NOT NULL, since DOUBLE PRECISION NOT NULL, ready BOOLEAN NOT NULL DEFAULT false)""",
)
NOW = "extract(epoch from clock_timestamp())"


@dataclass(frozen=True, slots=True)
class Balance:
    """One heartbeat's outcome for this worker."""

    held: frozenset[int]  # shards whose lease this worker holds now (renewed, or claimed just now)
    claimed: frozenset[int]  # of those, claimed by this heartbeat: to be taken over
    give: frozenset[int]  # shards over the fair share: to hand over cleanly, then `release`
    workers: int  # live workers, this one included
    fair: int  # ceil(shards / workers)


class LeaseBook:
    """This worker's view of the lease tables, through its own PostgreSQL connection."""

    def __init__(self, url: str, worker: str, shards: int, ttl_s: float) -> None:
        self.url = url
        self.worker = worker
        self.shards = shards
        self.ttl_s = ttl_s
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock = threading.Lock()  # one connection, used by the heartbeat thread and the handovers

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            # keepalives: a worker whose machine vanished (no FIN) is noticed by the server within about 5 s
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5, keepalives=1,
                                         keepalives_idle=2, keepalives_interval=1, keepalives_count=3)
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
                for ddl in DDL:
                    self._conn.execute(ddl)
            self._conn.execute("SET tcp_keepalives_idle = 2")
            self._conn.execute("SET tcp_keepalives_interval = 1")
            self._conn.execute("SET tcp_keepalives_count = 3")
        return self._conn

    def heartbeat(self, wanted: bool = True) -> Balance:
        """Renew this worker and its leases, drop the dead, claim up to the fair share (unless `wanted` is False:
        a worker stopping claims nothing) and say which shards are over it."""
        with self._lock:
            try:
                conn = self._connection()
                with conn.transaction():
                    return self._beat(conn, wanted)
            except psycopg.Error:
                self._close()  # reconnect on the next heartbeat
                raise

    def _beat(self, conn: psycopg.Connection[tuple[object, ...]], wanted: bool) -> Balance:
        ttl, me = self.ttl_s, self.worker
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        conn.execute(f"INSERT INTO shard_workers VALUES (%s, pg_backend_pid(), {NOW} + %s, {NOW}) "
                     "ON CONFLICT (worker) DO UPDATE SET pid = excluded.pid, expires = excluded.expires",
                     [me, ttl])
        dead = conn.execute(f"DELETE FROM shard_workers WHERE expires < {NOW} OR pid NOT IN "
                            "(SELECT pid FROM pg_stat_activity) RETURNING worker").fetchall()
        freed = conn.execute(f"DELETE FROM shard_leases WHERE expires < {NOW} OR owner NOT IN "
                             "(SELECT worker FROM shard_workers) RETURNING shard, owner").fetchall()
        if dead or freed:
            logger.warning("dead workers %s; shards freed: %s", sorted(str(w[0]) for w in dead),
                           sorted(int(str(f[0])) for f in freed))
        held = {int(str(r[0])) for r in conn.execute(
            f"UPDATE shard_leases SET expires = {NOW} + %s WHERE owner = %s RETURNING shard", [ttl, me])}
        row = conn.execute("SELECT count(*) FROM shard_workers").fetchone()
        workers = int(str(row[0])) if row else 1
        fair = math.ceil(self.shards / max(1, workers))
        claimed: set[int] = set()
        if wanted and len(held) < fair:
            claimed = {int(str(r[0])) for r in conn.execute(
                f"INSERT INTO shard_leases (shard, owner, expires, since) SELECT s, %s, {NOW} + %s, {NOW} "
                "FROM generate_series(0, %s - 1) AS s WHERE s NOT IN (SELECT shard FROM shard_leases) "
                "ORDER BY s LIMIT %s ON CONFLICT (shard) DO NOTHING RETURNING shard",
                [me, ttl, self.shards, fair - len(held)])}
        held |= claimed
        give = sorted(held)[fair:] if len(held) > fair else []  # the highest: a stable choice, no ping-pong
        return Balance(frozenset(held), frozenset(claimed), frozenset(give), workers, fair)

    def ready(self, shard: int) -> None:
        """Mark a shard taken over: its session is connected and subscribed (for operators and tests)."""
        with self._lock:
            self._connection().execute("UPDATE shard_leases SET ready = true WHERE shard = %s AND owner = %s",
                                       [shard, self.worker])

    def release(self, shard: int) -> None:
        """Give one shard back (after its session was handed over): free for the next heartbeat of any worker."""
        with self._lock:
            self._connection().execute("DELETE FROM shard_leases WHERE shard = %s AND owner = %s",
                                       [shard, self.worker])

    def leave(self) -> None:
        """A clean stop: free every lease and the worker row at once (the others need not wait for the TTL)."""
        with self._lock:
            conn = self._connection()
            with conn.transaction():
                conn.execute("DELETE FROM shard_leases WHERE owner = %s", [self.worker])
                conn.execute("DELETE FROM shard_workers WHERE worker = %s", [self.worker])

    def close(self) -> None:
        """Close the lease connection (its backend ends, which other workers take as this worker's death)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
