"""GET /api/insights in-process: the bureau's read-only account reads the figures (and nothing of the call centre),
an operator is refused, a bad date or a reversed period is a 422 in the reader's language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from hub_api import ApiClient
from inproc import built_hub
from insights_history import T2, build

from dashboard.app import create_app

PASSWORD = "insights-password"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    users = [("bureau1", PASSWORD, "bureau"), ("op1", PASSWORD, "operator"), ("sup1", PASSWORD, "supervisor")]
    with built_hub(Path(tmp_path_factory.mktemp("hub")), users) as hub:
        build(hub.ctx.registry.db)
        yield create_app(hub.ctx)


def signed_in(app: FastAPI, user: str) -> ApiClient:
    client = ApiClient(app)
    client.post("/api/login", json={"username": user, "password": PASSWORD}).raise_for_status()
    return client


def test_the_bureau_reads_the_figures_and_nothing_else(app: FastAPI) -> None:
    client = signed_in(app, "bureau1")
    answer = client.get("/api/insights", **{"from": "2026-11-02", "to": "2026-11-15"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    total = next(r for r in report["response"] if r["dim"] == "all" and r["stage"] == "ack")
    assert (total["n"], total["median_s"]) == (6, 67.5)
    assert {p["name"] for p in report["places"]} == {"暮云镇", T2}
    one = client.request("GET", "/api/insights?from=2026-11-02&to=2026-11-15&township=" + T2).json()
    assert {r["key"] for r in one["response"] if r["dim"] == "township"} == {T2}
    assert client.get("/api/me").json()["role"] == "bureau"
    assert client.get("/api/incidents").status_code == 403  # read-only: not the call centre's lists
    assert client.get("/api/residents").status_code == 403


def test_roles(app: FastAPI) -> None:
    assert signed_in(app, "sup1").get("/api/insights", **{"from": "2026-11-02", "to": "2026-11-03"}).status_code == 200
    assert signed_in(app, "op1").get("/api/insights", **{"from": "2026-11-02", "to": "2026-11-03"}).status_code == 403


def test_bad_dates_are_refused_in_the_readers_language(app: FastAPI) -> None:
    client = signed_in(app, "bureau1")
    bad = client.get("/api/insights", **{"from": "2026-13-01", "to": "2026-11-03"})
    assert bad.status_code == 422 and bad.json()["message"] == "输入有误，请检查：开始日期"
    reversed_ = client.get("/api/insights", **{"from": "2026-11-05", "to": "2026-11-03"})
    assert reversed_.status_code == 422
    assert reversed_.json()["message"] == "结束日期（2026-11-03）早于开始日期（2026-11-05）"
    client.request("PUT", "/api/me/language", json={"language": "en"}).raise_for_status()
    english = client.get("/api/insights", **{"from": "2026-11-05", "to": "2026-11-03"}).json()["message"]
    assert english == "The last day (2026-11-03) is before the first day (2026-11-05)"


def test_dates_outside_the_hubs_years_are_refused_not_failed(app: FastAPI) -> None:
    client = signed_in(app, "bureau1")
    client.request("PUT", "/api/me/language", json={"language": "zh-CN"}).raise_for_status()
    for first, last in (("9999-12-31", "9999-12-31"), ("0001-01-01", "0001-01-02")):
        answer = client.get("/api/insights", **{"from": first, "to": last})
        assert answer.status_code == 422 and answer.json()["message"] == "日期须在 2000-01-01 至 2099-12-31 之间"
