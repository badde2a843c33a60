"""The monthly report as a PDF with Chinese text: ReportLab's page layout, its own bar charts, and the WenQuanYi
Micro Hei font (a TrueType collection that scripts/setup installs from the fonts-wqy-microhei package), embedded as
a subset so the file reads the same on any machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from devices.i18n import t, word
from dispatch.insights.monthly import MonthlyReport, Section

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FONT = "WenQuanYiMicroHei"


class FontMissing(RuntimeError):
    """The CJK font is not installed (scripts/setup installs fonts-wqy-microhei)."""


def _register(font_file: Path) -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    if not font_file.exists():
        raise FontMissing(f"the Chinese font {font_file} is missing: run scripts/setup (fonts-wqy-microhei)")
    pdfmetrics.registerFont(TTFont(FONT, str(font_file), subfontIndex=0))


def _styles() -> dict[str, ParagraphStyle]:
    return {"title": ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, spaceAfter=4),
            "h2": ParagraphStyle("h2", fontName=FONT, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4),
            "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13)}  # fmt: skip


def _cell(value: Any, share: bool) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1%}" if share else f"{value:,.1f}"
    return str(value)


PAGE_WIDTH = 273 * mm  # landscape A4 inside the margins
WIDE = 10  # a table of more columns wraps its headings into columns of equal width across the page


def _table(section: Section, font_size: float = 8) -> Table:
    body = [[_cell(v, section.is_share(r, c)) for c, v in enumerate(row)] for r, row in enumerate(section.rows)]
    headers: list[Any] = list(section.headers)
    widths = None
    if len(headers) > WIDE and section.key != "heatmap":
        style = ParagraphStyle("head", fontName=FONT, fontSize=font_size, leading=font_size + 2)
        headers = [Paragraph(h, style) for h in headers]
        widths = [PAGE_WIDTH / len(headers)] * len(headers)
    table = Table([headers, *body], repeatRows=1, hAlign="LEFT", colWidths=widths)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), font_size),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")), ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
    ]))  # fmt: skip
    return table


def _bars(title: str, categories: list[str], series: list[list[float]], names: list[str]) -> Drawing:
    """A bar chart drawn with ReportLab's graphics (labels in the CJK font)."""
    drawing = Drawing(250 * mm, 70 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 12 * mm, 225 * mm, 48 * mm
    chart.data = series if categories else [[0.0]]
    chart.categoryAxis.categoryNames = categories or [""]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    palette = [colors.HexColor(c) for c in ("#3b6ea5", "#e08a3c")[: len(chart.data)]]  # two series at most
    for n, colour in enumerate(palette):
        chart.bars[n].fillColor = colour
    drawing.add(chart)
    drawing.add(String(15 * mm, 64 * mm, title, fontName=FONT, fontSize=10))
    if names:
        legend = Legend()
        legend.x, legend.y, legend.alignment = 180 * mm, 67 * mm, "right"
        legend.fontName, legend.fontSize, legend.columnMaximum = FONT, 8, 1
        legend.colorNamePairs = list(zip(palette, names, strict=False))
        drawing.add(legend)
    return drawing


def _response_chart(report: MonthlyReport) -> Drawing:
    lang = report.language
    overall = [r for r in report.figures.response if r["dim"] == "all"]
    return _bars(t("monthly.chart.response", lang), [t(f"monthly.stage.{r['stage']}", lang) for r in overall],
                 [[float(r["median_s"] or 0) for r in overall], [float(r["p90_s"] or 0) for r in overall]],
                 [t("monthly.col.median_s", lang), t("monthly.col.p90_s", lang)])  # fmt: skip


def _hours_chart(report: MonthlyReport) -> Drawing:
    per_hour = [0.0] * 24
    for cell in report.figures.heatmap:
        per_hour[cell["hour"]] += cell["alerts"]
    return _bars(t("monthly.chart.hours", report.language), [f"{h:02d}" for h in range(24)], [per_hour], [])


def _services_chart(report: MonthlyReport) -> Drawing:
    lang = report.language
    rows = [r for r in report.figures.services if r["dim"] == "service"]
    return _bars(t("monthly.chart.services", lang), [word("insights2.service.", r["service"], lang) for r in rows],
                 [[float(r["orders"]) for r in rows], [float(r["completed"]) for r in rows]],
                 [t("monthly.col.orders", lang), t("monthly.col.completed", lang)])  # fmt: skip


def _fleet_chart(report: MonthlyReport) -> Drawing:
    lang = report.language
    rows = [r for r in report.figures.fleet if r["dim"] == "township"]
    return _bars(t("monthly.chart.fleet", lang), [r["label"] or r["key"] for r in rows],
                 [[float(r["devices"]) for r in rows], [float(r["online"] or 0) for r in rows]],
                 [t("monthly.col.devices", lang), t("monthly.col.online", lang)])  # fmt: skip


SECTION_CHARTS = {"services": _services_chart, "fleet": _fleet_chart}


def write_pdf(report: MonthlyReport, path: Path, font_file: Path = CJK_FONT) -> Path:
    """Write the PDF to `path` (its folder must exist); FontMissing without the CJK font."""
    _register(font_file)
    styles = _styles()
    story: list[Flowable] = [Paragraph(report.title, styles["title"])]
    story += [Paragraph(line, styles["body"]) for line in report.subtitle]
    for section in report.sections:
        story += [Paragraph(section.title, styles["h2"])]
        story.append(_table(section, font_size=6 if section.key == "heatmap" else 8))
        if section.key == "response":
            story += [Spacer(1, 4 * mm), _response_chart(report)]
        if section.key == "heatmap":
            story += [Spacer(1, 4 * mm), _hours_chart(report)]
        if section.key in SECTION_CHARTS and section.rows:
            story += [Spacer(1, 4 * mm), SECTION_CHARTS[section.key](report)]
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), title=report.title, author="eldercare-hub",
                            leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm)
    doc.build(story)
    return path
