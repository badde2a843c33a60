"""Village report workflow: validation, stage order, versions, deadlines (09:00 CST), roll-up and export."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import msgspec
import openpyxl
import pytest

from alerts.detector import Detector
from alerts.disaster.reports import CST, ReportBook, ReportError, rollup, rollup_csv, rollup_xlsx
from devices.schemas import ReportIndicators, TerminalReport


def cst(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    return datetime(2026, month, day, hour, minute, second, tzinfo=CST).timestamp()


START = cst(7, 1, 22)  # event at 22:00 CST on 1 July: initial due 00:00, first follow-up due 09:00 on 2 July


def book_with_event() -> ReportBook:
    book = ReportBook()
    book.open_event("flood-0701", "flood", START, ["v-a", "v-b"])
    return book


def overdue(dets: list) -> list[tuple[str, str, float]]:
    stages = ("initial", "follow_up", "verified")
    return [(d.subject_id, stages[int(d.features["stage"])], d.ts) for d in dets]


def test_is_a_detector() -> None:
    book = ReportBook()
    assert isinstance(book, Detector) and book.name == "disaster_reports"


def test_deadlines_and_overdue_at_0900_cst() -> None:
    book = book_with_event()
    book.submit("flood-0701", "v-a", "initial", ReportIndicators(affected_population=120), cst(7, 1, 23))
    assert book.advance(cst(7, 1, 23, 59, 59)) == []
    first = book.advance(cst(7, 2, 0))  # exactly 2 h after the event
    assert overdue(first) == [("v-b", "initial", cst(7, 2, 0))]
    assert first[0].kind == "report_overdue" and first[0].device_id == "flood-0701"
    assert book.advance(cst(7, 2, 8, 59, 59)) == []  # nothing raised twice, nothing due yet
    # v-a's initial at 23:00 counts as its report for the 09:00 deadline; v-b has sent nothing.
    assert overdue(book.advance(cst(7, 2, 9))) == [("v-b", "follow_up", cst(7, 2, 9))]
    assert datetime.fromtimestamp(cst(7, 2, 9)).astimezone(CST).hour == 9
    book.submit("flood-0701", "v-b", "initial", ReportIndicators(affected_population=40), cst(7, 2, 10))
    book.submit("flood-0701", "v-a", "follow_up", None, cst(7, 3, 8, 30), zero=True)  # zero report
    # Each 24 h period ending at 09:00 CST needs a report: v-b's late initial at 10:00 covers 3 July.
    assert book.advance(cst(7, 3, 12)) == []
    book.submit("flood-0701", "v-a", "follow_up", None, cst(7, 4, 8), zero=True)
    book.submit("flood-0701", "v-b", "follow_up", None, cst(7, 4, 9, 0, 1), zero=True)  # one second late
    assert overdue(book.advance(cst(7, 4, 9, 30))) == [("v-b", "follow_up", cst(7, 4, 9))]
    book.stabilise("flood-0701", cst(7, 4, 12))
    assert book.advance(cst(7, 5, 10)) == []  # stabilised: no follow-up due at 09:00 on 5 July
    book.submit("flood-0701", "v-a", "verified", ReportIndicators(affected_population=130), cst(7, 5, 11))
    assert overdue(book.advance(cst(7, 7, 0))) == [("v-b", "verified", cst(7, 6, 12))]
    assert book.advance(cst(7, 9, 0)) == []


def test_stage_order() -> None:
    book = book_with_event()
    with pytest.raises(ReportError) as err:
        book.submit("flood-0701", "v-a", "follow_up", ReportIndicators(), START + 60)
    assert err.value.reason == "stage_order" and err.value.village_id == "v-a"
    book.submit("flood-0701", "v-a", "initial", ReportIndicators(deaths=1), START + 60)
    with pytest.raises(ReportError, match="stage_order"):
        book.submit("flood-0701", "v-a", "initial", ReportIndicators(deaths=1), START + 120)
    with pytest.raises(ReportError, match="not_stabilised"):
        book.submit("flood-0701", "v-a", "verified", ReportIndicators(deaths=1), START + 180)
    book.stabilise("flood-0701", START + 200)
    book.submit("flood-0701", "v-a", "verified", ReportIndicators(deaths=1), START + 300)
    with pytest.raises(ReportError, match="stage_order"):
        book.submit("flood-0701", "v-a", "follow_up", ReportIndicators(deaths=1), START + 400)
    fixed = book.submit(
        "flood-0701", "v-a", "verified", ReportIndicators(), START + 500, corrected=True, note="double count"
    )
    assert fixed.version == 3 and fixed.corrected
    with pytest.raises(ReportError, match="unknown_event"):
        book.submit("nope", "v-a", "follow_up", ReportIndicators(), START)
    with pytest.raises(ReportError, match="bad_stage"):
        book.submit("flood-0701", "v-a", "final", ReportIndicators(), START)


def test_cumulative_indicators_and_corrections() -> None:
    book = book_with_event()
    book.submit("flood-0701", "v-a", "initial", ReportIndicators(deaths=2, missing=5), START + 60)
    found = book.submit("flood-0701", "v-a", "follow_up", ReportIndicators(deaths=2, missing=1), START + 120)
    assert found.version == 2  # missing people found: a current-state count may fall
    with pytest.raises(ReportError) as err:
        book.submit("flood-0701", "v-a", "follow_up", ReportIndicators(deaths=1), START + 180)
    assert err.value.reason == "cumulative_decrease" and "deaths" in err.value.detail
    with pytest.raises(ReportError, match="correction_without_note"):
        book.submit("flood-0701", "v-a", "follow_up", ReportIndicators(deaths=1), START + 180, corrected=True)
    book.submit("flood-0701", "v-a", "follow_up", ReportIndicators(deaths=1), START + 180, corrected=True, note="x")
    with pytest.raises(ReportError, match="out_of_order"):
        book.submit("flood-0701", "v-a", "follow_up", ReportIndicators(deaths=1), START + 100)
    with pytest.raises(ReportError, match="bad_zero_report"):
        book.submit("flood-0701", "v-a", "follow_up", ReportIndicators(deaths=9), START + 200, zero=True)
    assert [r.version for r in book.history("flood-0701", "v-a")] == [1, 2, 3]


def test_web_form_validation() -> None:
    book = book_with_event()
    form = {"event_id": "flood-0701", "village_id": "v-a", "stage": "initial", "indicators": {"deaths": -1}}
    with pytest.raises(ReportError, match="invalid_indicators"):
        book.submit_form(form, START + 60)
    with pytest.raises(ReportError, match="invalid_indicators"):
        book.submit_form({**form, "indicators": {"deths": 1}}, START + 60)
    with pytest.raises(ReportError, match="missing_field"):
        book.submit_form({"event_id": "flood-0701"}, START + 60)
    with pytest.raises(ReportError, match="negative_count"):
        book.submit("flood-0701", "v-a", "initial", ReportIndicators(deaths=-3), START + 60)  # built unvalidated
    rep = book.submit_form({**form, "indicators": {"deaths": "3", "crop_affected_ha": "1.5"}}, START + 60)
    assert rep.indicators.deaths == 3 and rep.indicators.crop_affected_ha == 1.5 and rep.version == 1


def test_terminal_report_opens_event() -> None:
    payload = {"ts": START, "seq": 1, "event_id": "slide-7", "stage": "initial", "hazard": "landslide",
               "indicators": {"trapped": 2}, "officer": "Li"}  # fmt: skip
    report = msgspec.convert(payload, TerminalReport)
    book = ReportBook()
    rec = book.submit_terminal(report, "v-c")
    assert rec.hazard == "landslide" and rec.officer == "Li" and book.events["slide-7"].villages == ["v-c"]


def test_rollup_totals_and_exports() -> None:
    book = ReportBook()
    book.open_event("e1", "flood", START, ["v1", "v2", "v3"])
    book.submit("e1", "v1", "initial", ReportIndicators(affected_population=100, deaths=1), START + 60)
    book.submit("e1", "v1", "follow_up", ReportIndicators(affected_population=150, deaths=1), START + 999)
    book.submit("e1", "v2", "initial", ReportIndicators(affected_population=30, direct_loss_10k_cny=2.5), START)
    book.submit("e1", "v3", "initial", ReportIndicators(affected_population=7, missing=2), START + 5)
    places = {"v1": ("t1", "c1"), "v2": ("t1", "c1"), "v3": ("t2", "c1")}
    rows = rollup(book, "e1", places)
    assert [(r.level, r.township, r.village) for r in rows] == [
        ("county", "", ""), ("township", "t1", ""), ("village", "t1", "v1"), ("village", "t1", "v2"),
        ("township", "t2", ""), ("village", "t2", "v3"),
    ]  # fmt: skip
    county, t1 = rows[0], rows[1]
    assert county.values["affected_population"] == 187 and county.reports == 3  # latest version of v1 only
    assert t1.values["affected_population"] == 180 and t1.values["direct_loss_10k_cny"] == 2.5
    assert county.values["missing"] == 2 and rows[2].stage == "follow_up"
    lines = list(csv.DictReader(io.StringIO(rollup_csv(rows).decode("utf-8-sig"))))  # issue 18: headed in zh-CN
    assert lines[0]["层级"] == "县" and lines[0]["受灾人口（人）"] == "187" and lines[2]["报告阶段"] == "续报"
    english = list(csv.DictReader(io.StringIO(rollup_csv(rows, "en").decode("utf-8-sig"))))
    assert english[0]["level"] == "county" and english[0]["affected population"] == "187"
    wb = openpyxl.load_workbook(io.BytesIO(rollup_xlsx(rows)))
    sheet = list(wb.active.iter_rows(values_only=True))
    col = sheet[0].index("受灾人口（人）")
    assert sheet[1][col] == 187 and sheet[2][col] == 180 and len(sheet) == 7


def test_relocated_count_prefills_the_follow_up() -> None:
    book = book_with_event()
    book.submit("flood-0701", "v-a", "initial", ReportIndicators(deaths=1, emergency_relocated=3), START + 60)
    draft = book.draft_follow_up("flood-0701", "v-a", relocated=12)  # e.g. TaskBoard.relocated_by_village()
    assert draft.emergency_relocated == 12 and draft.deaths == 1
    assert book.submit("flood-0701", "v-a", "follow_up", draft, START + 120).version == 2
    assert book.draft_follow_up("flood-0701", "v-b", relocated=0) == ReportIndicators()
