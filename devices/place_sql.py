"""Scope by place in SQL: conditions that keep a query's rows to some villages' homes, residents and devices.

A staff account limited to some townships (dashboard/place_scope.py) must get full pages: a list of the newest 50
calls is the newest 50 of its townships, not the county's newest 50 filtered down. So the stores that list rows
(calls, caring calls, texts, incidents, detections, the audit log) take a `PlaceFilter` and add its condition to
their WHERE before ORDER BY ... LIMIT. The conditions are plain SQL over the registry's tables (villages, homes,
residents, devices) in the same state database, with `?` placeholders: SQLite and PostgreSQL alike.

The rules are those of `PlaceScope`: an incident (or a device) belongs to its home's village, else to its resident's
home's village; a device with neither belongs to its own village; a row with none of them is nobody's.
"""

from __future__ import annotations

from dataclasses import dataclass

Clause = tuple[str, list[str]]  # an SQL condition and its parameters, in order


@dataclass(frozen=True, slots=True)
class PlaceFilter:
    """The villages an account may see, as SQL conditions on a query's columns."""

    villages: tuple[str, ...]

    def _marks(self) -> str:
        return ", ".join("?" for _ in self.villages) or "NULL"  # IN (NULL) holds for no row

    def homes(self, column: str) -> Clause:
        """`column` (a home id) is one of the villages' homes."""
        return f"{column} IN (SELECT home_id FROM homes WHERE village_id IN ({self._marks()}))", list(self.villages)

    def residents(self, column: str) -> Clause:
        """`column` (a resident id) lives in one of the villages."""
        sql = (f"{column} IN (SELECT r.resident_id FROM residents r JOIN homes h ON h.home_id = r.home_id "
               f"WHERE h.village_id IN ({self._marks()}))")  # fmt: skip
        return sql, list(self.villages)

    def place(self, home: str, resident: str) -> Clause:
        """A row's home (`home` column) lies in the villages, or it has no home and its resident lives there."""
        homes, hp = self.homes(home)
        residents, rp = self.residents(resident)
        sql = f"((COALESCE({home}, ?) <> ? AND {homes}) OR (COALESCE({home}, ?) = ? AND {residents}))"
        return sql, ["", "", *hp, "", "", *rp]  # '' as parameters: the PostgreSQL dialect's rewriting skips literals

    def incidents(self, column: str) -> Clause:
        """`column` (an incident id) is an incident of the villages (by its home, else its resident)."""
        place, params = self.place("i.home_id", "i.resident_id")
        return f"{column} IN (SELECT i.id FROM incidents i WHERE {place})", params

    def devices(self, column: str) -> Clause:
        """`column` (a device id) is a device of the villages: by its home or resident, else its own village."""
        place, params = self.place("d.home_id", "d.resident_id")
        own = f"d.village_id IN ({self._marks()})"
        sql = (f"{column} IN (SELECT d.device_id FROM devices d WHERE {place} OR (COALESCE(d.home_id, ?) = ? "
               f"AND COALESCE(d.resident_id, ?) = ? AND {own}))")  # fmt: skip
        return sql, [*params, "", "", "", "", *self.villages]


EVERYWHERE: Clause = ("1 = 1", [])  # no place filter (an account that sees the whole county)
