"""The state database on PostgreSQL, for hub workers that share alert state (issue 7 scale-out).

Same API as `devices.statedb.sqlite.StateDB` (execute, executemany, migrate, run, close, path): the modules keep
writing the SQLite dialect and `devices.statedb.pg_dialect` translates it. `PRAGMA data_version` (which the registry
reads to notice other processes' commits) is answered from a counter: every table made by `migrate()` gets a statement
trigger that NOTIFYs on commit, and a listener connection counts the notifications sent by other backends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from devices.statedb import pg_dialect
from devices.statedb.pg_conn import Row, connect, row_factory
from devices.statedb.pg_dialect import TableInfo
from devices.statedb.sqlite import StateDB

T = TypeVar("T")
logger = logging.getLogger(__name__)
CHANNEL = "hub_state"
MIGRATE_LOCK = 7_000_007  # advisory lock: two workers starting together migrate one after the other
LISTEN_POLL_S = 0.5
NOTIFY_FN = (
    "CREATE OR REPLACE FUNCTION hub_state_changed() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
)
TABLE_INFO = """SELECT array_agg(a.attname::text ORDER BY a.attnum),
    array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attnum = ANY(i.indkey))
    FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
    WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped"""


class PgStateDB(StateDB):
    """PostgreSQL behind the StateDB API: one connection, serialised by a lock, plus a LISTEN connection."""

    def __init__(self, url: str, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.path = data_dir / "state.postgresql"  # not a file: callers use path.parent (the data folder)
        self._lock = threading.RLock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state-writer")
        self._pg = connect(url)
        self._own_pid = self._pg.info.backend_pid
        self._version = 0
        self._closed = threading.Event()
        self._listen = connect(url)
        self._listen.execute(f"LISTEN {CHANNEL}")
        self._listener = threading.Thread(target=self._listen_loop, name="state-listen", daemon=True)
        self._listener.start()
        self._info = lru_cache(maxsize=256)(self._table_info)

    def migrate(self, ddl: Iterable[str]) -> None:
        """Create tables, indexes and triggers (translated), each table announcing its commits."""
        with self._lock, self._pg.transaction():
            self._pg.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATE_LOCK])
            self._pg.execute(NOTIFY_FN)
            for sqlite_statement in ddl:
                for sql in pg_dialect.ddl(sqlite_statement):
                    self._pg.execute(sql)
                table = pg_dialect.created_table(sqlite_statement)
                if table:
                    self._pg.execute(
                        f"CREATE OR REPLACE TRIGGER hub_state_changed AFTER INSERT OR UPDATE OR DELETE"
                        f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION hub_state_changed()"
                    )
        self._info.cache_clear()

    def add_column(self, table: str, column: str, decl: str) -> None:
        """Add a column to a table made by an earlier version, unless it is there already. Its type is translated
        as CREATE TABLE's are (SQLite's REAL is a double: PostgreSQL's REAL, float4, would round a Unix time to
        128 s)."""
        with self._lock:
            self._pg.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {pg_dialect.ddl(decl)[0]}")
        self._info.cache_clear()

    def execute(self, sql: str, params: Iterable[object] = ()) -> list[Any]:
        """Run one statement (its own transaction) and return its rows."""
        if sql.strip().upper() == "PRAGMA DATA_VERSION":
            return [Row({"data_version": 0}, (self._version,))]
        with self._lock:
            self._reconnect_if_closed()
            cur = self._pg.execute(pg_dialect.statement(sql, self._info), tuple(params))
            if cur.description is None:
                return []
            cur.row_factory = row_factory
            return cur.fetchall()

    def executemany(self, sql: str, rows: Iterable[Iterable[object]]) -> None:
        """Run one statement for many rows inside one transaction."""
        batch = [tuple(r) for r in rows]
        if not batch:
            return
        with self._lock:
            self._reconnect_if_closed()
            with self._pg.transaction(), self._pg.cursor() as cur:
                cur.executemany(pg_dialect.statement(sql, self._info), batch)

    def try_lead(self, name: str) -> bool:
        """Take the session advisory lock `name` if free: held until this connection ends (the worker dies)."""
        return bool(self.execute("SELECT pg_try_advisory_lock(hashtext(?))", [name])[0][0])

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the writer thread without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn)

    def close(self) -> None:
        """Finish pending writes, stop listening and close both connections."""
        self._writer.shutdown(wait=True)
        self._closed.set()
        self._listener.join(timeout=LISTEN_POLL_S * 4)
        with self._lock:
            self._pg.close()
        self._listen.close()

    def _table_info(self, table: str) -> TableInfo:
        with self._lock:
            row = self._pg.execute(TABLE_INFO, [table]).fetchone()
        if row is None or row[0] is None:
            raise psycopg.ProgrammingError(f"no table {table!r} in the state database")
        return TableInfo(tuple(row[0]), tuple(row[1] or ()))

    def _reconnect_if_closed(self) -> None:
        if self._pg.closed:  # the server restarted: a new session (the failed call already raised)
            logger.warning("state database connection lost; reconnecting to PostgreSQL")
            self._pg = connect(self.url)
            self._own_pid = self._pg.info.backend_pid
            self._version += 1  # commits may have been missed meanwhile

    def _listen_loop(self) -> None:
        while not self._closed.is_set():
            try:
                for note in self._listen.notifies(timeout=LISTEN_POLL_S):
                    if note.pid != self._own_pid:
                        self._version += 1  # only this thread writes it; readers just compare
            except psycopg.Error as exc:
                if self._closed.is_set():
                    return
                logger.warning("state change listener lost its connection (%s); retrying", exc)
                self._version += 1
                time.sleep(1.0)
                self._relisten()

    def _relisten(self) -> None:
        try:
            self._listen = connect(self.url)
            self._listen.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            logger.warning("cannot listen for state changes yet: %s", exc)


def open_state(data_dir: Path, state_url: str = "") -> StateDB:
    """The configured state database: PostgreSQL when `state_url` is set, else SQLite in the data folder."""
    if state_url:
        return PgStateDB(state_url, data_dir)
    return StateDB(data_dir / "state.sqlite")
