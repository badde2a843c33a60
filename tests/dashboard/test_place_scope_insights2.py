"""Issue 19's services, fleet and disaster figures through GET /api/insights and the monthly report, in-process: an
account limited to one township sees only that township's orders, subsidy, devices, reports, tasks and relief; an
unlimited account sees the county (the small known history of tests/insights_history.py, readings in the hub's own
telemetry store)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from hub_api import ApiClient
from inproc import built_hub
from insights_history import T1, T2, build, build_disasters, build_services, fill_readings
from openpyxl import load_workbook

from dashboard.app import create_app

PASSWORD = "scope-password"
PERIOD = {"from": "2026-11-02", "to": "2026-11-15"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    users = [("town2", PASSWORD, "supervisor"), ("county2", PASSWORD, "bureau")]
    with built_hub(Path(tmp_path_factory.mktemp("hub")), users) as hub:
        db = hub.ctx.registry.db
        build(db)
        build_services(db)
        build_disasters(db)
        fill_readings(hub.ctx.store)
        assert hub.ctx.auth is not None
        hub.ctx.auth.set_townships("town2", [T2])
        yield create_app(hub.ctx)


def signed_in(app: FastAPI, user: str) -> ApiClient:
    client = ApiClient(app)
    client.post("/api/login", json={"username": user, "password": PASSWORD}).raise_for_status()
    return client


def places(rows: list[dict], key: str = "key") -> set[str]:
    return {r[key] for r in rows if r["dim"] == "township"}


def test_the_new_figures_hold_only_the_accounts_township(app: FastAPI) -> None:
    county = signed_in(app, "county2").get("/api/insights", **PERIOD).json()
    town = signed_in(app, "town2").get("/api/insights", **PERIOD).json()
    assert places(county["services"], "township_code") == {T1, T2}
    assert places(town["services"], "township_code") == {T2}
    assert next(r for r in town["services"] if r["dim"] == "all")["orders"] == 2  # R3's cleaning and bathing
    assert {r["provider"] for r in town["services"] if r["dim"] == "provider"} == {"P2"}
    assert places(town["subsidy"]) == {T2} and next(r for r in town["subsidy"] if r["dim"] == "all")["services"] == 1
    assert places(county["fleet"]) == {T1, T2} and places(town["fleet"]) == {T2}
    fleet = next(r for r in town["fleet"] if r["dim"] == "all")
    assert (fleet["residents"], fleet["devices"], fleet["online"], fleet["silent_day"]) == (1, 2, 0, 2)
    for name in ("disaster_reports", "evacuation", "relief"):
        assert places(county[name]) == {T1, T2}, name
        assert places(town[name]) == {T2}, name
    initial = next(r for r in town["disaster_reports"] if r["dim"] == "all" and r["stage"] == "initial")
    assert initial["affected_population"] == 40  # V2's report alone (V1's 100 is in the other township)
    assert T1 not in str(town)


def test_the_monthly_report_has_the_new_sheets_within_the_scope(app: FastAPI) -> None:
    town = signed_in(app, "town2")
    answer = town.get("/api/insights/monthly", month="2026-11", format="xlsx")
    assert answer.status_code == 200, answer.text
    book = load_workbook(io.BytesIO(answer.content))
    for sheet in ("服务工单", "服务补贴", "覆盖与设备", "灾情", "转移避险", "救灾物资"):
        assert sheet in book.sheetnames
    rows = list(book["服务工单"].iter_rows(values_only=True))
    assert rows[1][:3] == ("分组", "服务项目", "服务商")
    total = next(r for r in rows if r[0] == "合计")
    assert total[3:5] == (2, 1)  # two orders of R3, one completed
    assert all("暮云镇" not in str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
               for cell in row)  # fmt: skip
