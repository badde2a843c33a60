"""The hub's state database (registry, dead letters, alerts, audit): SQLite in WAL mode, one writer.

Every write goes through one lock-guarded connection, so writes are serialised as SQLite wants; the async pipeline
calls `run()` which executes the function on a single dedicated thread and hands back a future
(datasette's `Database.execute_write_fn` pattern).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class StateDB:
    """A SQLite file with WAL, foreign keys and a single writer thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._lock = threading.RLock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state-writer")

    def migrate(self, ddl: Iterable[str]) -> None:
        """Create tables and indexes (idempotent statements)."""
        with self._lock:
            for statement in ddl:
                self._conn.execute(statement)

    def add_column(self, table: str, column: str, decl: str) -> None:
        """Add a column to a table made by an earlier version, unless it is there already."""
        with self._lock:
            have = {row["name"] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    def execute(self, sql: str, params: Iterable[object] = ()) -> list[sqlite3.Row]:
        """Run one statement and return its rows."""
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Run one statement for many rows inside one transaction."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(sql, rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the writer thread without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn)

    def close(self) -> None:
        """Finish pending writes and close the file."""
        self._writer.shutdown(wait=True)
        with self._lock:
            self._conn.close()
