"""Issue 18: the message catalogues, the user's language, resident search, and the texts the hub writes.

A key missing in either language, a placeholder that differs between the two, or a key a page asks for that no
catalogue has, fails here (naming the key and the file).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hub_api import hub_api

from dashboard.i18n_api import CATALOGUE, PAGE_TEXTS
from devices import i18n
from devices.names import matches, pinyin_of
from devices.records import Home, Resident, Village
from hub.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "dashboard/static"
FOLDERS = (i18n.HERE, PAGE_TEXTS)
PARAM = re.compile(r"\{(\w+)\}")


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.parent.name)
def test_every_key_is_in_both_languages_with_the_same_placeholders(folder: Path) -> None:
    zh, en = (i18n.Catalogue((folder,)).messages(lang) for lang in i18n.LANGUAGES)
    assert sorted(set(zh) ^ set(en)) == [], f"keys in one catalogue of {folder} only"
    differ = [k for k in zh if set(PARAM.findall(zh[k])) != set(PARAM.findall(en[k]))]
    assert differ == [], f"placeholders differ between zh-CN and en in {folder}: {differ}"
    untranslated = [k for k in zh if zh[k] and zh[k] == en[k] and re.search(r"[a-z]{3}", zh[k])
                    and k not in ("lang.en", "map.log.cap")]  # fmt: skip
    assert untranslated == [], f"zh-CN texts left in English: {untranslated}"


def test_every_key_the_pages_ask_for_is_in_the_catalogue() -> None:
    known = set(CATALOGUE.messages("zh-CN"))
    asked: dict[str, str] = {}
    for page in sorted(STATIC.glob("*.*")):
        text = page.read_text(encoding="utf-8")
        for key in re.findall(r'data-i18n(?:-placeholder|-title)?="([^"]+)"', text):
            asked[key] = page.name
        for key in re.findall(r'\bt\("([a-z][\w.-]*)"', text):  # literal keys of t("...")
            asked[key] = page.name
    missing = {k: v for k, v in asked.items() if k not in known}
    assert missing == {}, f"keys asked for by the pages but in no catalogue: {missing}"


def test_times_for_people_are_china_standard_time() -> None:
    assert i18n.local_time(0.0) == "1970-01-01 08:00:00"
    assert i18n.local_time(1_720_000_000.0, seconds=False) == "2024-07-03 17:46"


def test_kind_titles_and_fallbacks() -> None:
    assert i18n.kind_title("fall") == "跌倒" and i18n.kind_title("sos") == "SOS 求助"
    assert i18n.kind_title("vital_limit", "heart_rate") == "心率异常"
    assert i18n.kind_title("smoke", language="en") == "Smoke alarm"
    assert i18n.kind_title("brand_new_kind") == "brand new kind"
    assert i18n.t("level.4") == "红色预警" and i18n.t("grade.4") == "Ⅰ级" and i18n.t("grade.1") == "Ⅳ级"
    assert [i18n.t(f"stage.{s}") for s in ("initial", "follow_up", "verified")] == ["初报", "续报", "核报"]


def test_ui_setting_defaults_to_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().ui.language == "zh-CN" and Settings().ui.cap_english is False
    monkeypatch.setenv("HUB_UI__LANGUAGE", "en")
    monkeypatch.setenv("HUB_UI__CAP_ENGLISH", "true")
    assert Settings().ui.language == "en" and Settings().ui.cap_english is True
    monkeypatch.setenv("HUB_UI__LANGUAGE", "fr")
    with pytest.raises(ValueError):
        Settings()


def test_pinyin_and_matching() -> None:
    assert pinyin_of("王秀英") == "Wang Xiuying" and pinyin_of("曾国华") == "Zeng Guohua" and pinyin_of("Li Hua") == ""
    for query in ("王秀英", "秀英", "wangxiuying", "xiuying", "Wang Xiuying", "wxy", "wx", "3600", "1346 5203 600"):
        assert matches(query, "王秀英", "Wang Xiuying", "13465203600"), query
    for query in ("李", "lixiuying", "xyw", "360", "9999", ""):
        assert not matches(query, "王秀英", "Wang Xiuying", "13465203600"), query


def test_language_is_saved_with_the_account_and_serves_the_catalogue(tmp_path: Path) -> None:
    with hub_api(tmp_path / "hub", login=False) as (_hub, anon):
        assert anon.get("/api/i18n").json()["language"] == "zh-CN"  # the hub's default, before sign-in
        en = anon.get("/api/i18n/en").json()
        assert en["messages"]["console.acknowledge"] == "Acknowledge" and en["messages"]["kind.fall"] == "Fall"
        assert anon.get("/api/i18n/fr").status_code == 404
        assert anon.request("PUT", "/api/me/language", json={"language": "en"}).status_code == 401
    with hub_api(tmp_path / "hub2") as (_hub, api):
        zh = api.get("/api/i18n").json()
        assert zh["language"] == "zh-CN" and zh["signed_in"] and zh["messages"]["console.acknowledge"] == "受理"
        assert api.request("PUT", "/api/me/language", json={"language": "fr"}).status_code == 422
        assert api.request("PUT", "/api/me/language", json={"language": "en"}).json()["language"] == "en"
        assert api.get("/api/i18n").json()["language"] == "en"


def test_resident_search_by_name_pinyin_initials_and_phone(tmp_path: Path) -> None:
    with hub_api(tmp_path / "hub") as (hub, api):
        reg = hub.registry
        reg.add_village(Village("V01", "桐木村", "莲花镇", "岳麓区", 28.1, 112.8))
        reg.add_home(Home("H1", "岳麓区莲花镇桐木村3组12号", 28.1, 112.8, "V01"))
        people = [("R1", "王秀英", "13465203600"), ("R2", "王秀兰", "13900001234"), ("R3", "曾国华", "13811113600"),
                  ("R4", "李德福", "13722225678")]  # fmt: skip
        for rid, name, phone in people:
            reg.add_resident(Resident(rid, name, "H1", phone=phone))
        assert reg.resident("R3").name_pinyin == "Zeng Guohua"

        def found(q: str) -> list[str]:
            response = api.get("/api/residents/search", q=q)
            assert response.status_code == 200, response.text
            return [r["resident_id"] for r in response.json()]

        assert found("王秀英") == ["R1"] and sorted(found("秀")) == ["R1", "R2"]
        assert found("wangxiuying") == ["R1"] and found("zengguohua") == ["R3"] and found("guohua") == ["R3"]
        assert found("wxy") == ["R1"] and sorted(found("wx")) == ["R1", "R2"] and found("zgh") == ["R3"]
        assert sorted(found("3600")) == ["R1", "R3"]
        assert found("5678") == ["R4"] and found("360") == [] and found("zzz") == []
        row = api.get("/api/residents/search", q="wangxiuying").json()[0]
        assert row["phone"] == "134****3600" and row["village"] == "桐木村"
        assert row["address"].startswith("岳麓区莲花镇")
        assert api.get("/api/residents/search", q="").status_code == 422
