"""Village disaster reports (issue 6): validation, versions, stage order, deadlines, roll-up and export.

Natural-disaster statistical survey system (2020): an initial report (初报) within 2 h of the event,
a follow-up (续报, a "zero report" when nothing changed) by 09:00 China Standard Time every day while the
event lasts, and a verified report (核报) within 2 days of stabilisation. Roll-up per township and county
from a village -> (township, county) map, exported as CSV or Excel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import msgspec
import openpyxl

from alerts.detection import Detection, Severity
from alerts.detector import Detector
from devices.i18n import local_time, t
from devices.models import DeviceEvent, Reading
from devices.schemas import ReportIndicators, TerminalReport
from ingest.store.cells import spreadsheet_safe

CST = timezone(timedelta(hours=8), "CST")
INITIAL_DUE_S = 2 * 3600.0
VERIFIED_DUE_S = 2 * 86400.0
DAY_S = 86400.0
DAILY_DUE_HOUR_CST = 9
STAGES = ("initial", "follow_up", "verified")
# Hazards a commander declares an event for (the page's choices; `command.hazard.<key>` in the catalogues): 暴雨,
# 洪涝, 山体滑坡, 泥石流, 崩塌, 房屋倒塌, 风雹, 低温冰冻, 干旱, 地震
HAZARDS = ("rainstorm", "flood", "landslide", "debris_flow", "rockfall", "collapse", "hail", "freezing", "drought",
           "earthquake")  # fmt: skip
INDICATORS: tuple[str, ...] = ReportIndicators.__struct_fields__
# Current-state counts that may fall as people are found, freed or supplied; every other indicator is
# cumulative and may only fall in an explicit correction.
NON_CUMULATIVE = frozenset({"missing", "trapped", "short_of_drinking_water"})


class ReportError(ValueError):
    """A report that breaks a rule; `reason` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str, event_id: str = "", village_id: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.event_id, self.village_id = reason, detail, event_id, village_id


@dataclass(frozen=True, slots=True)
class VillageReport:
    """One accepted version of a village's report for one event."""

    event_id: str
    village_id: str
    stage: str
    hazard: str
    ts: float
    version: int
    indicators: ReportIndicators
    zero: bool = False
    corrected: bool = False
    officer: str | None = None
    note: str | None = None
    device_ts: float | None = None  # issue 14: a terminal's own clock, kept for the record; `ts` is the hub's


@dataclass(slots=True)
class DisasterEvent:
    """An event and the villages expected to report on it."""

    event_id: str
    hazard: str
    started_at: float
    villages: list[str]
    stabilised_at: float | None = None
    checked_until: float = 0.0  # deadlines up to here have been checked
    declared: bool = True  # issue 14: False for an event only a village's initial report names, until a commander
    declared_by: str = ""  # declares it (the map's current event is the newest declared one)
    stabilised_by: str = ""
    name: str = ""  # issue 14: the name a commander gave it (e.g. 2026年7月岳麓区暴雨)
    closed_at: float | None = None  # closed by a commander: no new initial reports, no deadlines after this
    closed_by: str = ""
    close_note: str = ""


class ReportSink(Protocol):
    """Where the book writes each change as it happens (issue 14: the state database, so kill -9 loses none)."""

    def save_event(self, event: DisasterEvent) -> None:
        """An event declared, named by a report, widened to another village, stabilised or checked."""

    def save_report(self, report: VillageReport) -> None:
        """One accepted version of a village's report."""

    def claim_overdue(self, event_id: str, village_id: str, stage: str, due: float) -> bool:
        """True for the one caller that raises this overdue report (issue 14: two workers sharing the database
        both check the deadlines; the first claim wins, every later one is False)."""


def parse_indicators(data: Mapping[str, Any]) -> ReportIndicators:
    """Indicators from web-form input (strings allowed); negative or unknown fields raise ReportError."""
    try:
        return msgspec.convert(dict(data), ReportIndicators, strict=False)
    except msgspec.ValidationError as exc:
        raise ReportError("invalid_indicators", str(exc)) from exc


def daily_deadlines(after: float, until: float) -> Iterator[float]:
    """09:00 CST instants t with after < t <= until."""
    local = datetime.fromtimestamp(after, CST)
    t = local.replace(hour=DAILY_DUE_HOUR_CST, minute=0, second=0, microsecond=0).timestamp()
    t = t + DAY_S if t <= after else t
    while t <= until:
        yield t
        t += DAY_S


def _decreases(prev: ReportIndicators, new: ReportIndicators) -> list[str]:
    """Cumulative indicators that went down."""
    return [k for k in INDICATORS if k not in NON_CUMULATIVE and getattr(new, k) < getattr(prev, k)]


@dataclass
class ReportBook(Detector):
    """Versioned reports per (event, village) and their deadlines; a Detector for overdue reports."""

    name: str = "disaster_reports"
    events: dict[str, DisasterEvent] = field(default_factory=dict)
    _history: dict[tuple[str, str], list[VillageReport]] = field(default_factory=dict)
    sink: ReportSink | None = None  # issue 14: every change saved (dispatch/disaster/report_store.py)

    def open_event(self, event_id: str, hazard: str, started_at: float, villages: list[str],
                   declared_by: str = "", declared: bool = True, name: str = "") -> DisasterEvent:
        """Declare an event and the villages it affects (their deadlines start now). An event only a village's
        initial report named is adopted: declared from now on, its start and reports kept."""
        known = self.events.get(event_id)
        if known is not None and (known.declared or not declared):
            raise ReportError("duplicate_event", f"event {event_id} already open", event_id)
        if known is not None:
            known.declared, known.declared_by, known.name = True, declared_by, name or known.name
            known.villages += [v for v in villages if v not in known.villages]
            event = known
        else:
            event = DisasterEvent(event_id, hazard, started_at, list(villages), checked_until=started_at,
                                  declared=declared, declared_by=declared_by, name=name)  # fmt: skip
            self.events[event_id] = event
        self._save_event(event)
        return event

    def stabilise(self, event_id: str, ts: float, actor: str = "") -> DisasterEvent:
        """Mark the event stable: daily follow-ups end, the verified report (核报) is due within 2 days."""
        event = self._event(event_id)
        if not event.declared:
            raise ReportError("not_declared", f"event {event_id} was not declared by a commander", event_id)
        if event.stabilised_at is not None:
            raise ReportError("already_stable", f"event {event_id} was marked stable already", event_id)
        event.stabilised_at, event.stabilised_by = ts, actor
        self._save_event(event)
        return event

    def close(self, event_id: str, ts: float, actor: str = "", note: str = "") -> DisasterEvent:
        """A commander closes the event: it takes no new initial report and no deadline after `ts` is tracked."""
        event = self._event(event_id)
        if not event.declared:
            raise ReportError("not_declared", f"event {event_id} was not declared by a commander", event_id)
        if event.closed_at is not None:
            raise ReportError("already_closed", f"event {event_id} was closed already", event_id)
        event.closed_at, event.closed_by, event.close_note = ts, actor, note
        self._save_event(event)
        return event

    def current(self) -> DisasterEvent | None:
        """The newest event a commander declared and has not closed (the one the map shows)."""
        declared = [e for e in self.events.values() if e.declared and e.closed_at is None]
        return max(declared, key=lambda e: e.started_at) if declared else None

    def restore(self, events: list[DisasterEvent], reports: list[VillageReport]) -> None:
        """Take up what the sink saved (reports oldest version first)."""
        self.events.update({e.event_id: e for e in events})
        for r in sorted(reports, key=lambda r: (r.event_id, r.village_id, r.version)):
            self._history.setdefault((r.event_id, r.village_id), []).append(r)

    def take_event(self, event: DisasterEvent) -> None:
        """An event as another worker recorded it (issue 14: two workers, one picture): declared, stabilised and
        widened as there; this worker's own deadline checks stay its own."""
        mine = self.events.get(event.event_id)
        if mine is None:
            self.events[event.event_id] = event
            return
        mine.declared, mine.declared_by = mine.declared or event.declared, mine.declared_by or event.declared_by
        if mine.stabilised_at is None:
            mine.stabilised_at, mine.stabilised_by = event.stabilised_at, event.stabilised_by
        mine.villages += [v for v in event.villages if v not in mine.villages]
        mine.name = mine.name or event.name
        if mine.closed_at is None:
            mine.closed_at, mine.closed_by, mine.close_note = event.closed_at, event.closed_by, event.close_note

    def take_report(self, report: VillageReport) -> bool:
        """A version another worker accepted, if it is the next of its village (False: known or out of turn)."""
        history = self._history.setdefault((report.event_id, report.village_id), [])
        if report.version != len(history) + 1:
            return False
        history.append(report)
        return True

    def _save_event(self, event: DisasterEvent) -> None:
        if self.sink is not None:
            self.sink.save_event(event)

    def submit(
        self,
        event_id: str,
        village_id: str,
        stage: str,
        indicators: ReportIndicators | None,
        ts: float,
        **extra: Any,
    ) -> VillageReport:
        """Validate and store a new version; extra: zero, corrected, officer, note, hazard, device_ts."""
        if stage not in STAGES:
            raise ReportError("bad_stage", f"stage must be one of {STAGES}", event_id, village_id)
        if event_id not in self.events and stage == "initial":  # kept, but not current until a commander declares it
            self._check_new(event_id, village_id, indicators, extra)
            self.open_event(event_id, extra.get("hazard") or "flood", ts, [village_id], declared=False)
        event = self._event(event_id)
        if stage == "initial" and event.closed_at is not None and not extra.get("corrected"):
            raise ReportError("event_closed", f"event {event_id} was closed: no new initial reports", event_id)
        history = self._history.setdefault((event_id, village_id), [])
        prev = history[-1] if history else None
        if indicators is None:
            if not extra.get("zero"):
                raise ReportError("no_indicators", "only a zero report may omit indicators", event_id)
            indicators = prev.indicators if prev else ReportIndicators()
        self._check(event, village_id, stage, indicators, ts, prev, extra)
        keys = ("zero", "corrected", "officer", "note", "device_ts")
        report = VillageReport(
            event_id, village_id, stage, event.hazard, ts, len(history) + 1, indicators,
            **{k: extra[k] for k in keys if k in extra},
        )  # fmt: skip
        if self.sink is not None:  # saved before it counts: a report accepted is a report kept
            self.sink.save_report(report)
        history.append(report)
        if village_id not in event.villages:
            event.villages.append(village_id)
            self._save_event(event)
        return report

    def _check_new(self, event_id: str, village_id: str, indicators: ReportIndicators | None,
                   extra: Mapping[str, Any]) -> None:
        """A report naming a new event must be valid before the event is recorded (no event from a bad report)."""
        if indicators is None:
            raise ReportError("no_indicators", "only a zero report may omit indicators", event_id, village_id)
        if extra.get("zero") or extra.get("corrected"):
            raise ReportError("stage_order", "the first report of an event is a plain initial report", event_id)
        if any(getattr(indicators, k) < 0 for k in INDICATORS):
            raise ReportError("negative_count", "indicators must be >= 0", event_id, village_id)

    def submit_terminal(self, report: TerminalReport, village_id: str) -> VillageReport:
        """Accept a report from a village terminal (MQTT `disaster/<terminal>/report`)."""
        extra = {"officer": report.officer, "note": report.note, "hazard": report.hazard}
        return self.submit(report.event_id, village_id, report.stage, report.indicators, report.ts, **extra)

    def submit_form(self, form: Mapping[str, Any], ts: float) -> VillageReport:
        """Accept a web-form dict: event_id, village_id, stage, indicators{...}, zero, corrected, note."""
        try:
            event_id, village_id, stage = str(form["event_id"]), str(form["village_id"]), str(form["stage"])
        except KeyError as exc:
            raise ReportError("missing_field", f"form lacks {exc}") from exc
        raw = form.get("indicators")
        indicators = None if raw is None else parse_indicators(raw)
        keys = ("zero", "corrected", "officer", "note", "hazard")
        extra = {k: form[k] for k in keys if k in form}
        return self.submit(event_id, village_id, stage, indicators, ts, **extra)

    def history(self, event_id: str, village_id: str) -> list[VillageReport]:
        """All versions, oldest first."""
        return list(self._history.get((event_id, village_id), []))

    def latest(self, event_id: str) -> dict[str, VillageReport]:
        """Newest version per village of one event."""
        return {v: h[-1] for (e, v), h in self._history.items() if e == event_id and h}

    def draft_follow_up(self, event_id: str, village_id: str, relocated: int) -> ReportIndicators:
        """Indicators for the next follow-up form: the latest version with the evacuation's relocated count."""
        history = self._history.get((event_id, village_id))
        base = history[-1].indicators if history else ReportIndicators()
        return msgspec.structs.replace(base, emergency_relocated=max(base.emergency_relocated, relocated))

    def observe(self, reading: Reading) -> list[Detection]:
        """Reports do not come as readings."""
        return []

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """Reports do not come as device events."""
        return []

    def advance(self, now: float) -> list[Detection]:
        """Overdue detections for deadlines in (last check, now], each raised once."""
        out: list[Detection] = []
        for event in self.events.values():
            if now <= event.checked_until:
                continue
            passed = False
            for stage, due in self._deadlines(event, event.checked_until, now):
                passed = True
                out += [self._overdue(event, v, stage, due) for v in event.villages
                        if self._late(event, v, stage, due) and self._claim(event.event_id, v, stage, due)]
            event.checked_until = now
            if passed:  # saved only when a deadline went by: a restart raises no overdue report twice
                self._save_event(event)
        return out

    def _claim(self, event_id: str, village: str, stage: str, due: float) -> bool:
        """Whether this book raises the overdue report (without a sink: always; with one: its first claimer)."""
        return self.sink is None or self.sink.claim_overdue(event_id, village, stage, due)

    def late_now(self, event_id: str, now: float) -> dict[str, str]:
        """Village -> the stage it owes past its deadline at `now` (issue 14: shown late in red): no initial report
        2 h after the start, no report since the window of the last 09:00 follow-up deadline, or no verified report
        2 days after the event was marked stable."""
        event = self._event(event_id)
        out: dict[str, str] = {}
        if event.closed_at is not None:
            return out  # a closed event's deadlines are no longer tracked
        initial_due = event.started_at + INITIAL_DUE_S
        end = now if event.stabilised_at is None else min(now, event.stabilised_at)
        daily = list(daily_deadlines(initial_due, end)) if end > initial_due else []
        for v in event.villages:
            reports = self._history.get((event.event_id, v), [])
            verified = any(r.stage == "verified" for r in reports)
            if not reports:
                if now > initial_due:
                    out[v] = "initial"
            elif event.stabilised_at is not None and now > event.stabilised_at + VERIFIED_DUE_S and not verified:
                out[v] = "verified"
            elif daily and not verified and not any(r.ts > daily[-1] - DAY_S for r in reports):
                out[v] = "follow_up"
        return out

    def _event(self, event_id: str) -> DisasterEvent:
        if event_id not in self.events:
            raise ReportError("unknown_event", f"no open event {event_id}", event_id)
        return self.events[event_id]

    def _check(
        self,
        event: DisasterEvent,
        village: str,
        stage: str,
        ind: ReportIndicators,
        ts: float,
        prev: VillageReport | None,
        extra: Mapping[str, Any],
    ) -> None:
        """Raise ReportError unless the report may follow `prev`."""
        e, corrected = event.event_id, bool(extra.get("corrected"))
        if any(getattr(ind, k) < 0 for k in INDICATORS):
            raise ReportError("negative_count", "indicators must be >= 0", e, village)
        if prev is None and stage != "initial":
            raise ReportError("stage_order", f"first report must be initial, got {stage}", e, village)
        if prev is not None and stage == "initial" and not corrected:
            raise ReportError("stage_order", "initial report already given", e, village)
        if prev is not None and prev.stage == "verified" and not (stage == "verified" and corrected):
            raise ReportError("stage_order", "after the verified report only corrections are accepted", e, village)
        if stage == "verified" and event.stabilised_at is None:
            raise ReportError("not_stabilised", "verified report before the event is stabilised", e, village)
        if prev is not None and ts < prev.ts:
            raise ReportError("out_of_order", f"older than version {prev.version}", e, village)
        if extra.get("zero") and (stage != "follow_up" or (prev and ind != prev.indicators)):
            raise ReportError("bad_zero_report", "a zero report is a follow-up with nothing new", e, village)
        if corrected and not extra.get("note"):
            raise ReportError("correction_without_note", "a correction must say why", e, village)
        down = _decreases(prev.indicators, ind) if prev else []
        if down and not corrected:
            raise ReportError("cumulative_decrease", f"{down} decreased; mark as a correction", e, village)

    def _deadlines(self, event: DisasterEvent, lo: float, hi: float) -> Iterator[tuple[str, float]]:
        """(stage, due) in (lo, hi]; none after the event was closed."""
        hi = hi if event.closed_at is None else min(hi, event.closed_at)
        initial_due = event.started_at + INITIAL_DUE_S
        if lo < initial_due <= hi:
            yield "initial", initial_due
        end = hi if event.stabilised_at is None else min(hi, event.stabilised_at)
        for due in daily_deadlines(max(lo, initial_due), end):
            yield "follow_up", due
        if event.stabilised_at is not None and lo < event.stabilised_at + VERIFIED_DUE_S <= hi:
            yield "verified", event.stabilised_at + VERIFIED_DUE_S

    def _late(self, event: DisasterEvent, village: str, stage: str, due: float) -> bool:
        """Whether the village missed the deadline (judged by the reports' own timestamps)."""
        reports = self._history.get((event.event_id, village), [])
        if stage == "initial":
            return not any(r.ts <= due for r in reports)
        if stage == "verified":
            return not any(r.stage == "verified" and r.ts <= due for r in reports)
        if any(r.stage == "verified" and r.ts <= due for r in reports):
            return False  # already verified: no more daily follow-ups
        return not any(due - DAY_S < r.ts <= due for r in reports)

    def _overdue(self, event: DisasterEvent, village: str, stage: str, due: float) -> Detection:
        """The overdue alert; device_id carries the event id (Detection has no field for it)."""
        when = local_time(due, seconds=False)  # issue 18: China Standard Time, 24-hour, for the people reading it
        text = t("report.overdue", village=village, stage=t(f"stage.{stage}"), event=event.event_id, due=when)
        features = {"due_ts": due, "stage": float(STAGES.index(stage))}
        return Detection(
            self.name, "report_overdue", village, event.event_id, due, Severity.WARNING, 1.0, features, text
        )


@dataclass(frozen=True, slots=True)
class RollupRow:
    """One line of the roll-up: a county or township total, or one village's latest report."""

    level: str  # "county", "township" or "village"
    county: str
    township: str
    village: str
    reports: int  # villages that reported
    stage: str  # the village's latest stage ("" for totals)
    values: dict[str, float]


def rollup(book: ReportBook, event_id: str, places: Mapping[str, tuple[str, str]]) -> list[RollupRow]:
    """Latest report per village summed per township and county; places: village -> (township, county)."""
    rows: list[RollupRow] = []
    totals: dict[tuple[str, str], dict[str, float]] = {}
    counts: dict[tuple[str, str], int] = {}
    for village, rep in sorted(book.latest(event_id).items()):
        township, county = places.get(village, ("(unmapped)", "(unmapped)"))
        values = {k: float(getattr(rep.indicators, k)) for k in INDICATORS}
        rows.append(RollupRow("village", county, township, village, 1, rep.stage, values))
        for key in ((county, township), (county, "")):
            acc = totals.setdefault(key, dict.fromkeys(INDICATORS, 0.0))
            counts[key] = counts.get(key, 0) + 1
            for k, v in values.items():
                acc[k] += v
    for (county, township), values in totals.items():
        level = "township" if township else "county"
        rows.append(RollupRow(level, county, township, "", counts[(county, township)], "", values))
    # County total first, then each township total followed by its villages.
    return sorted(rows, key=lambda r: (r.county, r.township, r.village))


HEADER = ("level", "county", "township", "village", "reports", "stage", *INDICATORS)


def header(language: str | None = None) -> list[str]:
    """The roll-up's column names for people (issue 18: the indicators' official Chinese names in zh-CN)."""
    return [t(f"export.{h}" if h in HEADER[:6] else f"indicator.{h}", language) for h in HEADER]


def _cells(row: RollupRow, language: str | None = None) -> list[Any]:
    stage = t(f"stage.{row.stage}", language) if row.stage in STAGES else spreadsheet_safe(row.stage)
    # issue 16: names typed by people (a village) never become live formulas in CSV or XLSX
    names = [spreadsheet_safe(c) for c in (row.county, row.township, row.village)]
    counts = [t(f"export.level.{row.level}", language), *names, row.reports, stage]
    return counts + [row.values[k] if k.endswith(("_ha", "_cny")) else int(row.values[k]) for k in INDICATORS]


def rollup_csv(rows: list[RollupRow], language: str | None = None) -> bytes:
    """The roll-up as UTF-8 CSV with a BOM (so Excel reads Chinese names), headed in `language` (the hub's)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header(language))
    writer.writerows(_cells(r, language) for r in rows)
    return buf.getvalue().encode("utf-8-sig")


def rollup_xlsx(rows: list[RollupRow], title: str = "rollup", language: str | None = None) -> bytes:
    """The roll-up as an Excel workbook (one sheet), headed in `language` (the hub's)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.append(header(language))
    for r in rows:
        ws.append(_cells(r, language))
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
