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


def test_services_fleet_and_disasters_and_a_store_held_by_a_running_hub(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess
    import sys

    from insights_history import build_disasters, build_services, fill_readings

    from ingest.store.duckdb_store import DuckDBStore

    folder = tmp_path / "hub"
    db = StateDB(folder / "state.sqlite")
    build(db)
    build_services(db)
    build_disasters(db)
    db.close()
    store = DuckDBStore(folder / "telemetry.duckdb")
    fill_readings(store)
    store.close()
    args = ["report", "monthly", "--month", "2026-11", "--data-dir", str(folder), "--language", "zh-CN"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    book = load_workbook(tmp_path / "a" / "monthly-2026-11.xlsx")
    figures = summary(tmp_path / "a" / "monthly-2026-11.xlsx")
    assert (figures["服务工单（件）"], figures["工单完成率"], figures["政府补贴（元）"]) == (5, 0.8, 67.5)
    # the month's end (1 December): every reading is two weeks old, so every device is silent
    assert (figures["有设备老人（人）"], figures["在线设备（台）"], figures["超过一天无数据设备（台）"]) == (3, 0, 4)
    subsidy = {r[1]: r[2:] for r in book["服务补贴"].iter_rows(min_row=3, values_only=True)}
    assert subsidy["失能"] == (2, 1, 75.0, 52.5, 22.5)
    reports = [r for r in book["灾情"].iter_rows(min_row=3, values_only=True) if r[3] == "合计"]
    assert [(r[2], r[4], r[5]) for r in reports] == [("初报", 2, 140), ("续报", 1, 160), ("核报", 2, 206)]  # 161 + 45
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "a" / "monthly-2026-11.pdf").pages)
    for heading in ("七、服务工单", "八、服务补贴", "九、覆盖与设备在线", "十、灾情统计", "十一、转移避险进度",
                    "十二、救灾物资发放", "设备统计时点：2026-12-01 00:00"):  # fmt: skip
        assert heading in text, heading
    # a running hub holds the embedded store: the report is still made, its fleet figures unknown
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
                               " print('held', flush=True); time.sleep(60)", str(folder / "telemetry.duckdb")],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        capsys.readouterr()
        assert main([*args, "--out", str(tmp_path / "b")]) == 0
        assert "fleet figures left out" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    held = summary(tmp_path / "b" / "monthly-2026-11.xlsx")
    assert held["服务工单（件）"] == 5 and held["在线设备（台）"] is None and held["有设备老人（人）"] == 3
    assert "设备在线情况：未读取遥测库" in PdfReader(tmp_path / "b" / "monthly-2026-11.pdf").pages[0].extract_text()
