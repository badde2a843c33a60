"""The monthly report (月报): one calendar month's figures as titled tables, ready for a workbook or a PDF.

`monthly_report(engine, month, townships, county)` computes the month with the statistics engine and lays its
figures out as `Section`s (a title, column headings, rows) in the reader's language from the hub's catalogue
(devices/i18n/*.report.json); `xlsx.py` and `pdf.py` of this package write the same sections, so the workbook and
the PDF always show the same numbers. Seconds stay seconds and shares stay 0..1 in the data; only the PDF rounds.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from devices.i18n import kind_title, local_time, t, word
from dispatch.insights.engine import Insights, Period, PeriodError, Report

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_period(month: str) -> Period:
    """`YYYY-MM` as the period of its local days; PeriodError("month") for anything else."""
    found = MONTH.match(month.strip())
    if not found or not 1 <= int(found[2]) <= 12:
        raise PeriodError("month", f"a month as YYYY-MM, not {month!r}")
    year, number = int(found[1]), int(found[2])
    return Period(dt.date(year, number, 1), dt.date(year, number, calendar.monthrange(year, number)[1]))


@dataclass(frozen=True, slots=True)
class Section:
    """One table of the report: its title, a short sheet name, column headings and rows."""

    key: str  # section.<key> and sheet.<key> in the catalogue
    title: str
    sheet: str
    headers: list[str]
    rows: list[list[Any]]
    shares: frozenset[tuple[int, int]] = frozenset()  # (row, column) of the cells that are shares (0..1)

    def is_share(self, row: int, column: int) -> bool:
        """Whether a cell holds a share, shown as a percentage."""
        return (row, column) in self.shares


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """A month's report: its title lines and sections, and the engine's figures they were laid out from."""

    month: str
    title: str
    subtitle: list[str]
    figures: Report
    sections: list[Section] = field(default_factory=list)
    language: str = "zh-CN"

    def section(self, key: str) -> Section:
        """The section of that key."""
        return next(s for s in self.sections if s.key == key)


SHARE_COLUMNS = ("within_share", "share")


def _section(key: str, columns: Sequence[str], rows: list[list[Any]], lang: str,
             shares: Sequence[tuple[int, int]] = ()) -> Section:  # fmt: skip
    cells = {(r, c) for r in range(len(rows)) for c, name in enumerate(columns) if name in SHARE_COLUMNS}
    return Section(key, t(f"monthly.section.{key}", lang), t(f"monthly.sheet.{key}", lang),
                   [t(f"monthly.col.{c}", lang) for c in columns], rows, frozenset(cells | set(shares)))  # fmt: skip


def _group(row: dict[str, Any], lang: str) -> str:
    """A response row's group: all, or a severity's name."""
    if row["dim"] == "all":
        return t("monthly.dim.all", lang)
    return t(f"monthly.severity.{row['key']}", lang)


def _stage(stage: str, lang: str) -> str:
    return t(f"monthly.stage.{stage}", lang)


def _summary(r: Report, lang: str) -> Section:
    ack = next((x for x in r.response if x["dim"] == "all" and x["stage"] == "ack"), {})
    fa = next((x for x in r.false_alarms if x["dim"] == "all"), {})
    rate = next((x for x in r.alert_rate if x["dim"] == "all"), {})
    items = (("incidents", ack.get("n", 0)), ("ack_median", ack.get("median_s")), ("ack_p90", ack.get("p90_s")),
             ("closed", fa.get("closed", 0)), ("false_share", fa.get("share")), ("alerts", rate.get("alerts", 0)),
             ("residents", rate.get("residents", 0)), ("per_resident_month", rate.get("per_resident_month")))
    rows = [[t(f"monthly.item.{k}", lang), v] for k, v in items]
    return _section("summary", ("item", "value"), rows, lang, [(4, 1)])  # the false-alarm share


def _response(r: Report, lang: str) -> Section:
    rows = [[_stage(x["stage"], lang), _group(x, lang), x["n"], x["median_s"], x["p90_s"], x["target_s"],
             x["within_share"]] for x in r.response if x["dim"] in ("all", "severity")]  # fmt: skip
    return _section("response", ("stage", "group", "n", "median_s", "p90_s", "target_s", "within_share"), rows, lang)


def _townships(r: Report, lang: str) -> Section:
    rows = [[x["label"] or x["key"], _stage(x["stage"], lang), x["n"], x["median_s"], x["p90_s"], x["within_share"]]
            for x in r.response if x["dim"] == "township"]  # fmt: skip
    return _section("township", ("township", "stage", "n", "median_s", "p90_s", "within_share"), rows, lang)


WORDS = {"detector": "monthly.detector.", "device_kind": "monthly.device.", "worn_at": "monthly.worn."}


def _category(dim: str, key: str, lang: str) -> str:
    """A false-alarm row's category in words: a detector's, an incident kind's, a device's or a wear position's."""
    if dim == "kind":
        return kind_title(key, language=lang)
    if dim == "worn_at" and not key:
        return t("monthly.worn.none", lang)
    return word(WORDS[dim], key, lang) if dim in WORDS else key


def _false_alarms(r: Report, lang: str) -> Section:
    rows = [[t(f"monthly.dim.{x['dim']}", lang), _category(x["dim"], x["key"], lang), x["closed"], x["false_alarms"],
             x["share"]] for x in r.false_alarms]  # fmt: skip
    return _section("false_alarms", ("dim", "key", "closed", "false_alarms", "share"), rows, lang)


def _alert_rate(r: Report, lang: str) -> Section:
    rows = [[x["label"] or x["key"] or t("monthly.dim.all", lang), x["alerts"], x["residents"],
             x["per_resident_month"]] for x in r.alert_rate]  # fmt: skip
    return _section("alert_rate", ("township", "alerts", "residents", "per_resident_month"), rows, lang)


def _heatmap(r: Report, lang: str) -> Section:
    grid = {(c["weekday"], c["hour"]): c["alerts"] for c in r.heatmap}
    rows = [[t(f"monthly.weekday.{d}", lang), *(grid.get((d, h), 0) for h in range(24))] for d in range(1, 8)]
    section = _section("heatmap", ("weekday",), rows, lang)
    section.headers.extend(f"{h:02d}" for h in range(24))
    return section


def monthly_report(
    engine: Insights, month: str, townships: Sequence[str] = (), county: str = "", language: str = "zh-CN",
    now: float | None = None,
) -> MonthlyReport:
    """The report of `month` (YYYY-MM) over `townships` (keys; empty: the county)."""
    figures = engine.compute(month_period(month), townships)
    names = [p["name"] for p in figures.places] if townships else []
    scope = t("monthly.scope.some", language, townships="、".join(names)) if names else t("monthly.scope.all", language)
    at = local_time(dt.datetime.now(dt.UTC).timestamp() if now is None else now, seconds=False)
    sections = [build(figures, language) for build in (_summary, _response, _townships, _false_alarms, _alert_rate,
                                                        _heatmap)]  # fmt: skip
    return MonthlyReport(month, t("monthly.title", language, county=county, month=month),
                         [scope, t("monthly.generated", language, at=at)], figures, sections, language)  # fmt: skip
