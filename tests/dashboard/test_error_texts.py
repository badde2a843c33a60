"""Errors the pages show come in the reader's language: a `message` beside FastAPI's usual `detail` (kept for
scripts), for the services' own errors (with their values), for FastAPI's validation errors and for plain statuses;
the signed-in user's saved language decides, the hub's when signed out."""

from __future__ import annotations

import re
from pathlib import Path

from hub_api import hub_api

from dashboard.error_texts import PATTERNS, validation_text
from dashboard.i18n_api import CATALOGUE

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_errors_in_the_readers_language(tmp_path: Path) -> None:
    with hub_api(tmp_path / "hub") as (_hub, client):
        unknown = client.post("/api/devices/W404/credentials")
        bad_id = client.post("/api/devices/bad%20id/credentials")  # FastAPI's path validation
        range_ = client.get("/api/export", device_id="W1", start=10, end=5)
        neither = client.get("/api/export", start=1, end=5)
        missing = client.get("/api/export", device_id="W1")  # start and end are required
        no_incident = client.post("/api/incidents/424242/acknowledge", json={})
        user = client.post("/api/admin/users", json={"username": "op", "password": "short", "role": "operator"})
        client.request("PUT", "/api/me/language", json={"language": "en"}).raise_for_status()
        english = client.post("/api/devices/W404/credentials")
        english_missing = client.get("/api/export", device_id="W1")
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "device 'W404' is not registered; register it first",
                              "message": "设备 W404 未登记，请先登记"}  # fmt: skip
    assert bad_id.status_code == 422 and isinstance(bad_id.json()["detail"], list)
    assert bad_id.json()["message"] == "输入有误，请检查：设备编号"
    assert range_.json()["message"] == "开始时间必须早于结束时间"
    assert neither.json()["message"] == "请只选择设备或老人之一"
    assert missing.json()["message"] == "输入有误，请检查：开始时间、结束时间"
    assert no_incident.status_code == 404 and no_incident.json()["message"] == "没有编号为 424242 的事件"
    assert user.status_code == 422 and CJK.search(user.json()["message"])
    assert english.json()["message"] == "device W404 is not registered; register it first"
    assert english_missing.json()["message"] == "please check: start, end"


def test_signed_out_and_unknown_details(tmp_path: Path) -> None:
    with hub_api(tmp_path / "hub", login=False) as (_hub, client):
        refused = client.get("/api/residents")
        nowhere = client.get("/api/no/such/route")
    assert refused.status_code == 401 and refused.json()["message"] == "请先登录"  # the hub's language, zh-CN
    assert nowhere.status_code in (403, 404) and CJK.search(nowhere.json()["message"])


def test_every_pattern_names_keys_of_both_catalogues() -> None:
    for language in ("zh-CN", "en"):
        known = CATALOGUE.messages(language)
        for pattern, key in PATTERNS:
            reasons = re.search(r"\(\?P<reason>([\w|]+)\)", pattern.pattern)
            keys = [key.format(reason=r) for r in reasons.group(1).split("|")] if reasons else [key]
            assert [k for k in keys if k not in known] == [], (language, pattern.pattern)


def test_validation_names_report_indicators_and_unknown_fields() -> None:
    errors = [{"loc": ("body", "indicators", "deaths")}, {"loc": ("body", "stage")}, {"loc": ("query", "brand_new")}]
    assert validation_text(errors, "zh-CN") == "输入有误，请检查：死亡人口（人）、报告阶段、brand_new"
    assert validation_text([], "en") == "invalid input"
