"""Issue 16: exported text never becomes a live formula (CSV and XLSX; readings export and village roll-ups)."""

from __future__ import annotations

import csv
import io

import openpyxl

from alerts.disaster.reports import INDICATORS, RollupRow, rollup_csv, rollup_xlsx
from ingest.store.base import StoredReading
from ingest.store.cells import spreadsheet_safe
from ingest.store.export import headers, serialise, to_table

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def test_spreadsheet_safe() -> None:
    assert [spreadsheet_safe(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert spreadsheet_safe("W0007") == "W0007" and spreadsheet_safe("a=b") == "a=b"
    assert spreadsheet_safe(-5) == -5 and spreadsheet_safe(-0.5) == -0.5  # numbers stay numbers


def test_readings_csv_escapes_text_cells_only() -> None:
    rows = [StoredReading(d, "wearable", 1_700_000_000.0 + i, i, {"temperature": -3.5})
            for i, d in enumerate(["W1", *HOSTILE])]
    text = serialise(to_table(rows), "csv").decode("utf-8-sig")
    device, temperature = headers(["device_id", "temperature"])  # headed in the hub's language
    cells = list(csv.DictReader(io.StringIO(text)))
    assert [c[device] for c in cells] == ["W1", *["'" + v for v in HOSTILE]]
    assert all(c[temperature] == "-3.5" for c in cells)  # a negative reading is still a number
    assert not any(c[device].startswith(("=", "+", "-", "@")) for c in cells)
    sheet = openpyxl.load_workbook(io.BytesIO(serialise(to_table(rows), "xlsx"))).worksheets[0]
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in values] == ["W1", *["'" + v for v in HOSTILE]]
    assert all(r[-1] is None or not str(r[-1]).startswith("=") for r in values)
    assert {r[list(headers(to_table(rows).column_names)).index(temperature)] for r in values} == {-3.5}


def _row(village: str, stage: str) -> RollupRow:
    return RollupRow("village", "=county", "+township", village, 1, stage, dict.fromkeys(INDICATORS, 1.0))


def test_rollup_csv_and_xlsx_escape_names() -> None:
    rows = [_row(v, "@stage") for v in HOSTILE]
    lines = list(csv.reader(io.StringIO(rollup_csv(rows).decode("utf-8-sig"))))[1:]
    for line, village in zip(lines, HOSTILE, strict=True):
        assert line[1:4] == ["'=county", "'+township", "'" + village] and line[5] == "'@stage"
    sheet = openpyxl.load_workbook(io.BytesIO(rollup_xlsx(rows))).active
    assert sheet is not None
    for r in range(2, sheet.max_row + 1):
        for c in range(1, 7):
            cell = sheet.cell(r, c)
            assert cell.data_type != "f", (r, c, cell.value)  # no formula anywhere
        assert str(sheet.cell(r, 4).value).startswith("'")
