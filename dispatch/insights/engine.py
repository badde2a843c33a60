"""The bureau's statistics over a period and (optionally) some townships: response times against targets, false
alarms, alerts per resident-month and the weekday x hour volume of alerts; services (orders per service and
provider, completion, satisfaction, subsidy per resident category); coverage and fleet (residents covered, devices
online, low battery, silent for a day, as of the period's end); disasters (reported indicators by stage, evacuation
progress, relief delivered).

`Insights(db).compute(period, townships)` pulls the period's rows from the state database (source.py) and computes
every figure in one in-memory DuckDB (figures.py); the township list is the place scope a staff account or a filter
asks for (codes or names; empty: the whole county).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from alerts.care.device_health import DEFAULT_TIMEOUTS_S, DeviceHealthSettings
from devices.statedb.sqlite import StateDB
from dispatch.insights import figures, source
from ingest.store.base import TimeSeriesStore

STAGES = ("ack", "dispatch", "on_scene", "resolved")
# Seconds from the alert to each stage, per severity: the county's service commitments (configurable)
DEFAULT_TARGETS: dict[str, dict[str, float]] = {
    "ack": {"critical": 60, "warning": 300, "info": 900},
    "dispatch": {"critical": 300, "warning": 900},
    "on_scene": {"critical": 1800, "warning": 3600},
    "resolved": {"critical": 7200, "warning": 14400},
}


class PeriodError(ValueError):
    """A period that cannot be computed (start after end, too long); `code` names the message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Period:
    """Local calendar days (Asia/Shanghai), both ends included."""

    first: dt.date
    last: dt.date

    MAX_DAYS = 400  # a year and a month's slack: the longest period the page asks for
    EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)  # the hub's records cannot lie outside

    def __post_init__(self) -> None:
        if not (self.first >= self.EARLIEST and self.last <= self.LATEST):
            raise PeriodError("period_range", f"days from {self.EARLIEST} to {self.LATEST}")
        if self.last < self.first:
            raise PeriodError("period_order", f"the period ends ({self.last}) before it starts ({self.first})")
        if self.days > self.MAX_DAYS:
            raise PeriodError("period_long", f"a period of at most {self.MAX_DAYS} days")

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.last - self.first).days + 1

    def window(self) -> source.Window:
        """The period as UTC epoch seconds [local midnight of `first`, local midnight after `last`)."""
        tz = dt.timezone(dt.timedelta(seconds=figures.LOCAL_OFFSET_S))
        start = dt.datetime.combine(self.first, dt.time(), tz).timestamp()
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tz).timestamp()
        return source.Window(start, end)


@dataclass(frozen=True, slots=True)
class Report:
    """Every figure of one period, as rows ready for JSON (seconds as floats, shares as 0..1)."""

    first: str
    last: str
    townships: list[str]
    targets: dict[str, dict[str, float]]
    places: list[dict[str, Any]] = field(default_factory=list)  # the townships in scope: code, name
    response: list[dict[str, Any]] = field(default_factory=list)
    false_alarms: list[dict[str, Any]] = field(default_factory=list)
    alert_rate: list[dict[str, Any]] = field(default_factory=list)
    heatmap: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    subsidy: list[dict[str, Any]] = field(default_factory=list)
    fleet: list[dict[str, Any]] = field(default_factory=list)
    fleet_as_of: float | None = None  # the moment the fleet figures describe (UTC epoch seconds)
    disaster_reports: list[dict[str, Any]] = field(default_factory=list)
    evacuation: list[dict[str, Any]] = field(default_factory=list)
    relief: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return asdict(self)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _targets_table(targets: Mapping[str, Mapping[str, float]]) -> pa.Table:
    rows = [(stage, sev, float(s)) for stage, per in targets.items() for sev, s in per.items()]
    return pa.table({"stage": [r[0] for r in rows], "severity": [r[1] for r in rows],
                     "target_s": pa.array([r[2] for r in rows], pa.float64())})  # fmt: skip


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """The views and the joined tables every figure starts from (the pulled tables, targets and scope registered)."""
    prepare_incidents(con)
    prepare_orders(con)


def prepare_incidents(con: duckdb.DuckDBPyConnection) -> None:
    """The place views, and the incidents with their place, device and first detector, and their stage times."""
    con.execute(figures.PLACES)
    con.execute(figures.SCOPED_RESIDENTS)
    con.execute(figures.VILLAGE_PLACES)
    for name, sql in (("facts", figures.FACTS), ("stage_times", figures.STAGE_TIMES)):
        con.register(name, con.sql(sql).to_arrow_table())


def prepare_orders(con: duckdb.DuckDBPyConnection) -> None:
    """The service orders with their place, completion, provider and rating (after `prepare_incidents`)."""
    con.register("order_facts", con.sql(figures.ORDER_FACTS).to_arrow_table())


def timeouts_table() -> pa.Table:
    """Each device class's heartbeat timeout: a device heard from within it is online."""
    return pa.table({"kind": pa.array([str(k) for k in DEFAULT_TIMEOUTS_S], pa.string()),
                     "timeout_s": pa.array([float(v) for v in DEFAULT_TIMEOUTS_S.values()], pa.float64())})


def fleet_params(as_of: float, telemetry: bool) -> dict[str, object]:
    """The fleet figure's parameters: the moment, whether a telemetry store was read, and the device-health limits."""
    health = DeviceHealthSettings()
    return {"as_of": as_of, "telemetry": telemetry, "default_timeout_s": health.default_timeout_s,
            "low_battery_pct": health.low_battery_pct}


class Insights:
    """The statistics engine over one state database."""

    def __init__(self, db: StateDB, targets: Mapping[str, Mapping[str, float]] | None = None,
                 store: TimeSeriesStore | None = None, clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.db = db
        self.targets = {k: dict(v) for k, v in (targets or DEFAULT_TARGETS).items()}
        self.store = store  # the telemetry store of the fleet figures (None: those are unknown)
        self.clock = clock

    def as_of(self, period: Period) -> float:
        """The moment the fleet figures describe: the period's end, or now when the period has not ended."""
        return min(period.window().end, self.clock())

    def compute(self, period: Period, townships: Sequence[str] = ()) -> Report:
        """Every figure for incidents opened in `period`, limited to `townships` (codes or names) when given."""
        as_of = self.as_of(period)
        tables = source.fetch(self.db, period.window(), self.store, as_of)
        return self.compute_tables(tables, period, townships, as_of)

    def compute_tables(self, tables: dict[str, pa.Table], period: Period, townships: Sequence[str] = (),
                       as_of: float | None = None) -> Report:  # fmt: skip
        """Every figure over tables already pulled (the bench times this part apart from the database read)."""
        window = period.window()
        moment = self.as_of(period) if as_of is None else as_of
        with duckdb.connect() as con:
            source.load(con, tables)
            con.register("targets", _targets_table(self.targets))
            con.register("scope", pa.table({"township": pa.array(list(townships), pa.string())}))
            con.register("timeouts", timeouts_table())
            prepare(con)
            return Report(
                first=period.first.isoformat(),
                last=period.last.isoformat(),
                townships=list(townships),
                targets=self.targets,
                places=_rows(con, figures.TOWNSHIPS),
                response=_rows(con, figures.RESPONSE),
                false_alarms=_rows(con, figures.FALSE_ALARMS),
                alert_rate=_rows(con, figures.ALERT_RATE, {"days": float(period.days)}),
                heatmap=_rows(con, figures.HEATMAP),
                services=_rows(con, figures.SERVICES),
                subsidy=_rows(con, figures.SUBSIDY, {"start": window.start, "end": window.end}),
                fleet=_rows(con, figures.FLEET, fleet_params(moment, self.store is not None)),
                fleet_as_of=moment,
                disaster_reports=_rows(con, figures.DISASTER_REPORTS),
                evacuation=_rows(con, figures.EVACUATION),
                relief=_rows(con, figures.RELIEF),
            )
