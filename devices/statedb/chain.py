"""Hash-chained append-only tables (issue 16): each row carries SHA-256(previous row's hash, its own content).

Triggers already refuse UPDATE and DELETE, but whoever holds the database file (or a PostgreSQL superuser) can drop
a trigger, or TRUNCATE. The chain makes such an edit visible: `verify()` recomputes every link in id order and names
the first row whose content, or whose link to the row before it, does not match.

A row's hash is `sha256(prev_hash + "\\n" + canonical)`, where `canonical` is the JSON array of the table name and
the chained columns' values as stored (`orjson`: floats in their shortest round-trip form). The first chained row
links to `GENESIS`. A unique index on `prev_hash` means two writers (two workers on PostgreSQL, or two processes on
one SQLite file) can never both extend the same row: the loser's INSERT fails, and it re-reads the head and retries.
Rows written before a table was chained (an upgraded hub) have no hash and are reported, allowed only before the
first chained row. Not detected by the chain alone: removing the newest rows (the head); `verify` prints the head's
hash so it can be noted elsewhere (a ticket, a printout) and compared later.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from devices.statedb.sqlite import StateDB

GENESIS = "0" * 64
RETRIES = 20


def migrate(db: StateDB, table: str) -> None:
    """Add the chain's columns and unique index to `table` (idempotent; the table must have an `id` key)."""
    db.add_column(table, "prev_hash", "TEXT")
    db.add_column(table, "row_hash", "TEXT")
    db.migrate([f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_chain ON {table} (prev_hash)"])


def link(prev_hash: str, table: str, values: Sequence[Any]) -> str:
    """The hash of a row with these chained `values`, following the row whose hash is `prev_hash`."""
    canonical = orjson.dumps([table, *values])
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


def _head(db: StateDB, table: str) -> str:
    rows = db.execute(f"SELECT row_hash FROM {table} WHERE row_hash IS NOT NULL ORDER BY id DESC LIMIT 1")
    return str(rows[0][0]) if rows else GENESIS


def _tip(db: StateDB, table: str) -> str:
    """The chain's end by its links (no row names it as its predecessor), whatever order the ids were given in."""
    rows = db.execute(f"SELECT a.row_hash FROM {table} a WHERE a.row_hash IS NOT NULL AND NOT EXISTS "
                      f"(SELECT 1 FROM {table} b WHERE b.prev_hash = a.row_hash) ORDER BY a.id DESC LIMIT 1")
    return str(rows[0][0]) if rows else GENESIS


def append(db: StateDB, table: str, columns: Sequence[str], values: Sequence[Any]) -> None:
    """Insert one row of `columns` = `values`, chained to the table's newest chained row."""
    cols = ", ".join([*columns, "prev_hash", "row_hash"])
    marks = ", ".join("?" for _ in range(len(columns) + 2))
    prev = _head(db, table)
    for attempt in range(RETRIES):
        try:
            db.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", [*values, prev, link(prev, table, values)])
            return
        except Exception:  # sqlite3 / psycopg IntegrityError: another writer extended the chain first
            if attempt == RETRIES - 1:
                raise
            time.sleep(random.uniform(0.0, 0.002 * (attempt + 1)))  # writers that collided do not collide again
            prev = _tip(db, table)


def append_many(db: StateDB, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert many rows in one transaction, each chained to the one before (for bulk writes with no other writer,
    such as seeding a demo's history; a concurrent writer makes the transaction fail on the unique link)."""
    cols = ", ".join([*columns, "prev_hash", "row_hash"])
    marks = ", ".join("?" for _ in range(len(columns) + 2))
    prev, linked = _head(db, table), []
    for values in rows:
        row_hash = link(prev, table, values)
        linked.append([*values, prev, row_hash])
        prev = row_hash
    db.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", linked)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of walking a chain: ok, or the id of the first broken row and why."""

    ok: bool
    rows: int
    unchained: int  # rows from before the chain began (allowed only first)
    head: str  # the newest row's hash
    broken_id: int | None = None
    reason: str = ""


def verify(db: StateDB, table: str, columns: Sequence[str], page: int = 5000) -> Verdict:
    """Walk `table` in id order and recompute every link; the first mismatch names its row."""
    prev, rows, unchained, last_id = GENESIS, 0, 0, None
    select = f"SELECT id, {', '.join(columns)}, prev_hash, row_hash FROM {table}"
    while True:
        after = "" if last_id is None else f"WHERE id > {last_id:d}"  # an int read back from the table
        batch = db.execute(f"{select} {after} ORDER BY id LIMIT ?", [page])
        if not batch:
            return Verdict(True, rows, unchained, prev)
        for row in batch:
            rows += 1
            last_id = int(row["id"])
            values = [row[c] for c in columns]
            if row["row_hash"] is None:
                if rows - 1 - unchained > 0:  # a chained row came before it
                    return Verdict(False, rows, unchained, prev, last_id, "row has no hash after the chain began")
                unchained += 1
                continue
            if row["prev_hash"] != prev:
                return Verdict(False, rows, unchained, prev, last_id, "link to the previous row does not match "
                               "(a row before it was removed or changed)")
            if link(prev, table, values) != row["row_hash"]:
                return Verdict(False, rows, unchained, prev, last_id, "row content does not match its hash")
            prev = row["row_hash"]
