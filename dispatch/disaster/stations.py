"""Per-station thresholds (issue 14, item 3): each river gauge its own warning and guarantee levels (警戒水位 /
保证水位), each rain gauge its own 1 h / 3 h / 24 h rainfall ladders, each landslide sensor its own displacement
ladder. Kept in the state database (`station_thresholds`), imported from CSV (`hub registry import-stations`) and
edited by admins on the review page; the gauge rules judge a station by its own values, and by the defaults of its
kind (`dispatch/disaster/areas.py`) only where none are recorded.

CSV columns (a header line first; empty cell = not set):
  station_id, warning_level_m, guarantee_level_m, rain_1h_mm, rain_3h_mm, rain_24h_mm, displacement_mm
A rain or displacement cell is four ascending thresholds blue/yellow/orange/red separated by "/", e.g. 20/30/50/70.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from alerts.disaster.gauges import GaugeThresholds, Ladder, river_ladder
from devices.statedb.sqlite import StateDB

LADDER_FIELDS = ("rain_1h_mm", "rain_3h_mm", "rain_24h_mm", "displacement_mm")
COLUMNS = ("station_id", "warning_level_m", "guarantee_level_m", *LADDER_FIELDS)
HYSTERESIS = {"rain_1h_mm": 5.0, "rain_3h_mm": 5.0, "rain_24h_mm": 10.0, "displacement_mm": 0.0}
DDL = (
    """CREATE TABLE IF NOT EXISTS station_thresholds (station_id TEXT PRIMARY KEY, warning_level_m REAL,
        guarantee_level_m REAL, rain_1h_mm TEXT NOT NULL DEFAULT '', rain_3h_mm TEXT NOT NULL DEFAULT '',
        rain_24h_mm TEXT NOT NULL DEFAULT '', displacement_mm TEXT NOT NULL DEFAULT '',
        updated_by TEXT NOT NULL, updated_at REAL NOT NULL)""",
)
Steps = tuple[float, float, float, float]


class StationError(ValueError):
    """Bad thresholds; `line` is the CSV line (0 when not from a file)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True, slots=True)
class StationThresholds:
    """One station's own thresholds (None: the kind's default)."""

    station_id: str
    warning_level_m: float | None = None
    guarantee_level_m: float | None = None
    rain_1h_mm: Steps | None = None
    rain_3h_mm: Steps | None = None
    rain_24h_mm: Steps | None = None
    displacement_mm: Steps | None = None
    updated_by: str = ""
    updated_at: float = 0.0

    def __post_init__(self) -> None:
        if not self.station_id or len(self.station_id) > 64:
            raise StationError("station_id is empty or longer than 64 characters")
        w, g = self.warning_level_m, self.guarantee_level_m
        if (w is None) != (g is None):
            raise StationError("warning_level_m and guarantee_level_m go together")
        if w is not None and g is not None:
            if not (math.isfinite(w) and math.isfinite(g)):
                raise StationError("water levels must be numbers")
            if g <= w:
                raise StationError(f"guarantee level {g} m must be above the warning level {w} m")
        for name in LADDER_FIELDS:
            steps = getattr(self, name)
            if steps is not None and (len(steps) != 4 or any(not math.isfinite(x) or x <= 0 for x in steps)
                                      or list(steps) != sorted(set(steps))):  # fmt: skip
                raise StationError(f"{name} needs four ascending positive thresholds blue/yellow/orange/red")

    def apply(self, base: GaugeThresholds) -> GaugeThresholds:
        """The kind's thresholds with this station's own values in place (metrics the kind does not judge stay
        off)."""
        changes: dict[str, Any] = {}
        if self.warning_level_m is not None and self.guarantee_level_m is not None and base.river_level_m:
            changes["river_level_m"] = river_ladder(self.warning_level_m, self.guarantee_level_m)
        for name in LADDER_FIELDS:
            steps = getattr(self, name)
            if steps is not None and getattr(base, name) is not None:
                blue, yellow, orange, red = steps
                changes[name] = Ladder(blue, yellow, orange, red, hysteresis=HYSTERESIS[name])
        return replace(base, **changes)

    def as_json(self) -> dict[str, Any]:
        """For the admin page."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}


def parse_steps(text: str, name: str) -> Steps | None:
    """ "20/30/50/70" -> (20.0, 30.0, 50.0, 70.0); "" -> None."""
    text = text.strip()
    if not text:
        return None
    parts = [p.strip() for p in text.replace("／", "/").split("/")]
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise StationError(f"{name} {text!r} is not four numbers like 20/30/50/70") from exc
    if len(values) != 4:
        raise StationError(f"{name} {text!r} needs four thresholds blue/yellow/orange/red, like 20/30/50/70")
    return values[0], values[1], values[2], values[3]


def steps_text(steps: Steps | None) -> str:
    """The CSV / database form of a ladder."""
    return "" if steps is None else "/".join(f"{x:g}" for x in steps)


def _number(text: str, name: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise StationError(f"{name} {text!r} is not a number") from exc


def of_row(row: dict[str, str], actor: str = "", ts: float = 0.0) -> StationThresholds:
    """One CSV row (or form) as thresholds; StationError on bad values."""
    r1, r3, r24, disp = (parse_steps(row.get(n) or "", n) for n in LADDER_FIELDS)
    return StationThresholds(
        (row.get("station_id") or "").strip(), _number(row.get("warning_level_m") or "", "warning_level_m"),
        _number(row.get("guarantee_level_m") or "", "guarantee_level_m"), r1, r3, r24, disp, actor, ts,
    )  # fmt: skip


def parse_csv(text: str, known: set[str] | None = None) -> tuple[list[StationThresholds], list[StationError]]:
    """Every good line and one error per bad line (numbered as in the file, the header being line 1); a station
    not in `known` (the registry's terminals), when given, is an error too."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return [], [StationError(f"the header lacks columns {missing} (expected {', '.join(COLUMNS)})", 1)]
    good: list[StationThresholds] = []
    errors: list[StationError] = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        try:
            st = of_row(row)
            if known is not None and st.station_id not in known:
                raise StationError(f"station {st.station_id!r} is not a registered terminal")
            if st.station_id in seen:
                raise StationError(f"station {st.station_id!r} appears twice")
        except StationError as exc:
            errors.append(StationError(str(exc), line))
            continue
        seen.add(st.station_id)
        good.append(st)
    return good, errors


class StationStore:
    """The station_thresholds table."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def save(self, stations: Iterable[StationThresholds]) -> int:
        """Insert or replace stations (one transaction); how many."""
        rows = [(s.station_id, s.warning_level_m, s.guarantee_level_m, *(steps_text(getattr(s, n)) for n in
                 LADDER_FIELDS), s.updated_by, s.updated_at) for s in stations]  # fmt: skip
        self.db.executemany(
            "INSERT OR REPLACE INTO station_thresholds (station_id, warning_level_m, guarantee_level_m, rain_1h_mm,"
            " rain_3h_mm, rain_24h_mm, displacement_mm, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return len(rows)

    def all(self) -> dict[str, StationThresholds]:
        """Every station's thresholds by id."""
        out = {}
        for r in self.db.execute("SELECT * FROM station_thresholds ORDER BY station_id"):
            r1, r3, r24, disp = (parse_steps(r[n], n) for n in LADDER_FIELDS)
            out[r["station_id"]] = StationThresholds(
                r["station_id"], r["warning_level_m"], r["guarantee_level_m"], r1, r3, r24, disp, r["updated_by"],
                float(r["updated_at"]),
            )  # fmt: skip
        return out

    def version(self) -> tuple[int, float]:
        """(rows, newest change): what a running centre compares to see an import made by the CLI."""
        rows = self.db.execute("SELECT COUNT(*) AS n, MAX(updated_at) AS t FROM station_thresholds")
        return (int(rows[0]["n"] or 0), float(rows[0]["t"] or 0.0)) if rows else (0, 0.0)
