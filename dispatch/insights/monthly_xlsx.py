"""The monthly report as an Excel workbook: one sheet per section, and the response times as a bar chart."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from devices.i18n import t
from dispatch.insights.monthly import MonthlyReport, Section

HEADER_ROWS = 2  # the section's title and its column headings


def _fill(ws: Worksheet, section: Section) -> None:
    ws.append([section.title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(section.headers)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in section.rows:
        ws.append(row)
    for col, header in enumerate(section.headers, start=1):
        ws.column_dimensions[ws.cell(2, col).column_letter].width = max(10, 2 * len(header) + 2)
    for r, row in enumerate(section.rows):
        for c, value in enumerate(row):
            if isinstance(value, float):
                cell = ws.cell(HEADER_ROWS + 1 + r, c + 1)
                cell.number_format = "0.0%" if section.is_share(r, c) else "0.0"


def _response_chart(ws: Worksheet, report: MonthlyReport) -> None:
    """Median and P90 of each stage over all incidents (the first rows of the response sheet)."""
    overall = sum(1 for row in report.section("response").rows if row[1] == t("monthly.dim.all", report.language))
    if overall == 0:
        return
    chart = BarChart()
    chart.title = t("monthly.chart.response", report.language)
    chart.add_data(Reference(ws, min_col=4, max_col=5, min_row=2, max_row=2 + overall), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=2 + overall))
    chart.width, chart.height = 18, 8
    ws.add_chart(chart, f"J{2}")


def write_xlsx(report: MonthlyReport, path: Path) -> Path:
    """Write the workbook to `path` (its folder must exist); returns the path."""
    wb = Workbook()
    first = True
    for section in report.sections:
        ws = wb.active if first else wb.create_sheet()
        assert isinstance(ws, Worksheet)
        ws.title = section.sheet
        _fill(ws, section)
        if section.key == "response":
            _response_chart(ws, report)
        first = False
    wb.active = 0
    summary = wb.worksheets[0]
    summary.insert_rows(1, 1 + len(report.subtitle))
    summary["A1"] = report.title
    summary["A1"].font = Font(bold=True, size=15)
    for n, line in enumerate(report.subtitle, start=2):
        summary[f"A{n}"] = line
    wb.save(path)
    return path
