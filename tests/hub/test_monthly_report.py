"""`hub report monthly` over the small known history: the workbook holds the hand-computed figures of November
2026 (all eight incidents of the history fall in it), the PDF's text holds the Chinese headings, and a township
limits both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from insights_history import T1, T1_NAME, build
from openpyxl import load_workbook
from pypdf import PdfReader

from devices.statedb.sqlite import StateDB
from hub.cli import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hub")
    db = StateDB(folder / "state.sqlite")
    build(db)
    db.close()
    return folder


def summary(path: Path) -> dict[str, Any]:
    sheet = load_workbook(path)["概况"]
    return {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0] and len(row) > 1}


def test_the_month_as_xlsx_and_pdf(data_dir: Path, tmp_path: Path) -> None:
    assert main(["report", "monthly", "--month", "2026-11", "--out", str(tmp_path), "--data-dir", str(data_dir),
                 "--language", "zh-CN"]) == 0  # fmt: skip
    xlsx, pdf = tmp_path / "monthly-2026-11.xlsx", tmp_path / "monthly-2026-11.pdf"
    figures = summary(xlsx)
    assert figures["接警事件（件）"] == 8
    assert figures["接警中位时长（秒）"] == pytest.approx(37.5)  # acks 5 5 20 30 | 45 90 120 600
    assert figures["已结案事件（件）"] == 7 and figures["误报率"] == pytest.approx(4 / 7)
    assert (figures["告警（条）"], figures["覆盖老人（人）"]) == (9, 3)
    response = load_workbook(xlsx)["响应时间"]
    rows = {(r[0], r[1]): r for r in response.iter_rows(min_row=3, values_only=True)}
    assert rows[("接警", "紧急")][2:5] == (6, 25.0, 67.5)  # critical acks 5 5 20 30 45 90: p90 at 4.5 -> 67.5
    assert response._charts, "the response times' chart"
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    for heading in ("长沙县养老与防灾监测月报（2026-11）", "范围：全县", "一、概况", "二、响应时间", "四、误报",
                    "六、告警时段分布", "各环节响应时间", "接警中位时长"):  # fmt: skip
        assert heading in text, heading


def test_one_township_and_bad_input(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "monthly", "--month", "2026-11", "--township", T1_NAME, "--out", str(tmp_path),
                 "--data-dir", str(data_dir), "--language", "zh-CN"]) == 0  # fmt: skip
    figures = summary(tmp_path / f"monthly-2026-11-{T1}.xlsx")
    assert (figures["接警事件（件）"], figures["接警中位时长（秒）"]) == (5, 30.0)  # acks 5 5 30 45 90
    assert f"范围：{T1_NAME}" in PdfReader(tmp_path / f"monthly-2026-11-{T1}.pdf").pages[0].extract_text()
    capsys.readouterr()
    assert main(["report", "monthly", "--month", "2026-13", "--out", str(tmp_path), "--data-dir", str(data_dir)]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    assert main(["report", "monthly", "--month", "2026-11", "--township", "无此镇", "--out", str(tmp_path),
                 "--data-dir", str(data_dir)]) == 2  # fmt: skip
