"""psycopg connections that look like the hub's SQLite ones: rows by name or position, booleans as integers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.postgres import types as pg_types


class Row:
    """A result row read by position or by column name, like sqlite3.Row (so `dict(row)` works)."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str | slice) -> Any:
        return self._values[self._index[key]] if isinstance(key, str) else self._values[key]

    def keys(self) -> list[str]:
        """Column names, in order."""
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return tuple(self._values) == (tuple(other) if isinstance(other, Row | tuple) else other)

    __hash__ = None  # type: ignore[assignment]  # equal to tuples, so unhashable; typeshed makes __hash__ a method

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def row_factory(cursor: psycopg.Cursor[Any]) -> Callable[[Sequence[Any]], Row]:
    """psycopg row factory making `Row`s."""
    index = {col.name: i for i, col in enumerate(cursor.description or ())}
    return lambda values: Row(index, values)


class _BoolAsInt(Dumper):
    """SQLite has no booleans: the modules' True/False go into INTEGER (here BIGINT) columns as 1/0."""

    oid = pg_types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


def connect(url: str) -> psycopg.Connection[Any]:
    """An autocommit connection that stores booleans as 1/0."""
    conn = psycopg.connect(url, autocommit=True)
    conn.adapters.register_dumper(bool, _BoolAsInt)
    return conn
