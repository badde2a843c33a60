"""The monthly report (月报): one calendar month's figures as titled tables, ready for a workbook or a PDF.

`monthly_report(engine, month, townships, county)` computes the month with the statistics engine and lays its
figures out as `Section`s (a title, column headings, rows: summary, response times, townships, false alarms, alert
rate, weekday x hour; services, subsidy, coverage and fleet, disaster reports, evacuation, relief) in the reader's
language from the hub's catalogue (devices/i18n/*.report.json, *.insights2.json); `xlsx.py` and `pdf.py` of this
package write the same sections, so the workbook and the PDF always show the same numbers. Seconds stay seconds and
shares stay 0..1 in the data; only the PDF rounds.
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
from dispatch.insights.figures import INDICATORS

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


SHARE_COLUMNS = ("within_share", "share", "completed_share", "satisfied_share", "covered_share", "online_share",
                 "done_share", "received_share")


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
    items: tuple[tuple[str, Any], ...] = (
        ("incidents", ack.get("n", 0)), ("ack_median", ack.get("median_s")), ("ack_p90", ack.get("p90_s")),
        ("closed", fa.get("closed", 0)), ("false_share", fa.get("share")), ("alerts", rate.get("alerts", 0)),
        ("residents", rate.get("residents", 0)), ("per_resident_month", rate.get("per_resident_month")))
    orders = next((x for x in r.services if x["dim"] == "all"), {})
    paid = next((x for x in r.subsidy if x["dim"] == "all"), {})
    fleet = next((x for x in r.fleet if x["dim"] == "all"), {})
    items += (("orders", orders.get("orders", 0)), ("completed_share", orders.get("completed_share")),
              ("satisfaction", orders.get("satisfaction")), ("subsidy_cny", paid.get("subsidy_cny", 0.0)),
              ("covered", fleet.get("covered", 0)), ("online", fleet.get("online")),
              ("low_battery", fleet.get("low_battery")), ("silent_day", fleet.get("silent_day")))
    rows = [[t(f"monthly.item.{k}", lang), v] for k, v in items]
    shares = [(n, 1) for n, (k, _) in enumerate(items) if k in ("false_share", "completed_share")]
    return _section("summary", ("item", "value"), rows, lang, shares)


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


def _service_group(x: dict[str, Any], lang: str) -> list[Any]:
    """A services row's group, service and provider, in words."""
    provider = ""
    if x["provider"] is not None:
        provider = x["provider_name"] or x["provider"] or t("insights2.provider.none", lang)
    service = word("insights2.service.", x["service"], lang) if x["service"] is not None else ""
    if x["dim"] == "township":
        service = x["township_name"] or x["township_code"]
    return [t(f"monthly.dim.{x['dim']}", lang), service, provider]


def _services(r: Report, lang: str) -> Section:
    columns = ("orders", "completed", "completed_share", "completion_median_s", "completion_p90_s", "rated",
               "satisfaction", "satisfied_share")
    rows = [[*_service_group(x, lang), *(x[c] for c in columns)] for x in r.services]
    return _section("services", ("group", "service", "provider", *columns), rows, lang)


def _subsidy(r: Report, lang: str) -> Section:
    def key(x: dict[str, Any]) -> str:
        if x["dim"] == "category":
            return word("insights2.category.", x["key"], lang)
        return x["label"] or x["key"] or t("monthly.dim.all", lang)

    rows = [[t(f"monthly.dim.{x['dim']}", lang), key(x), x["services"], x["residents"], x["price_cny"],
             x["subsidy_cny"], x["copay_cny"]] for x in r.subsidy]  # fmt: skip
    return _section("subsidy", ("dim", "key", "services", "residents_served", "price_cny", "subsidy_cny",
                                "copay_cny"), rows, lang)  # fmt: skip


def _place(x: dict[str, Any], lang: str) -> str:
    return x["label"] or x["key"] or t("monthly.dim.all", lang)


def _fleet(r: Report, lang: str) -> Section:
    columns = ("covered", "covered_share", "devices", "online", "online_share", "low_battery", "silent_day")
    rows = [[_place(x, lang), x["residents"], *(x[c] for c in columns)] for x in r.fleet]
    return _section("fleet", ("township", "registered", *columns), rows, lang)


def _disaster_reports(r: Report, lang: str) -> Section:
    rows = [[x["event_id"], word("insights2.hazard.", x["hazard"] or "", lang), t(f"stage.{x['stage']}", lang),
             _place(x, lang), x["villages"], *(x[k] for k in INDICATORS)] for x in r.disaster_reports]  # fmt: skip
    section = _section("disaster_reports", ("event", "hazard", "report_stage", "township", "villages"), rows, lang)
    section.headers.extend(t(f"indicator.{k}", lang) for k in INDICATORS)
    return section


def _evacuation(r: Report, lang: str) -> Section:
    columns = ("tasks", "evacuate", "open", "contacted", "confirmed_safe", "relocated", "unreachable", "done_share")
    rows = [[x["warning_id"], _place(x, lang), *(x[c] for c in columns)] for x in r.evacuation]
    return _section("evacuation", ("warning", "township", *columns), rows, lang)


def _relief(r: Report, lang: str) -> Section:
    columns = ("planned", "received", "received_share", "villages", "villages_received")
    rows = [[x["plan_id"], word("insights2.item.", x["item"], lang), _place(x, lang), *(x[c] for c in columns)]
            for x in r.relief]  # fmt: skip
    return _section("relief", ("plan", "relief_item", "township", *columns), rows, lang)


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
                                                        _heatmap, _services, _subsidy, _fleet, _disaster_reports,
                                                        _evacuation, _relief)]  # fmt: skip
    known = any(x["online"] is not None for x in figures.fleet)
    fleet = (t("monthly.item.as_of", language, at=local_time(figures.fleet_as_of or 0.0, seconds=False)) if known
             else t("monthly.item.fleet_unknown", language))  # fmt: skip
    return MonthlyReport(month, t("monthly.title", language, county=county, month=month),
                         [scope, t("monthly.generated", language, at=at), fleet], figures, sections,
                         language)  # fmt: skip
