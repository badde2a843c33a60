"""The monthly report's two files, written side by side: `monthly-YYYY-MM[-TOWNSHIPS].xlsx` and `.pdf`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dispatch.insights.monthly import MonthlyReport
from dispatch.insights.monthly_pdf import write_pdf
from dispatch.insights.monthly_xlsx import write_xlsx


@dataclass(frozen=True, slots=True)
class MonthlyFiles:
    """Where the workbook and the PDF were written."""

    xlsx: Path
    pdf: Path


def file_stem(report: MonthlyReport) -> str:
    """The files' common name: the month, and the township keys of a limited report."""
    return "-".join(["monthly", report.month, *report.figures.townships])


def write_files(report: MonthlyReport, out_dir: Path) -> MonthlyFiles:
    """Write the workbook and the PDF into `out_dir` (created when missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(report)
    return MonthlyFiles(write_xlsx(report, out_dir / f"{stem}.xlsx"), write_pdf(report, out_dir / f"{stem}.pdf"))
