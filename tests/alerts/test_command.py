"""The command centre through the detector stage's path: gauges -> area levels -> CAP -> evacuation; reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from command_path import STEP_S, T0, V01, V02, feed
from lxml import etree

from alerts.disaster.cap import build_alert, issue
from alerts.disaster.reports import rollup
from alerts.disaster.warnings import WarningLevel
from devices.models import DisasterReport
from dispatch.disaster.areas import Site
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.drafts import IssuePolicy
from dispatch.disaster.evacuation import Resident
from dispatch.disaster.feed import CommandFeed

XSD = Path(__file__).resolve().parents[3] / "shared/standards/cap-1.2.xsd"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    assert XSD.exists(), f"CAP 1.2 schema not found at {XSD}"
    return etree.XMLSchema(etree.parse(str(XSD)))


def centre() -> tuple[CommandCentre, CommandFeed, list[tuple[str, Any]]]:
    frames: list[tuple[str, Any]] = []
    sites = {
        "T001": Site("T001", "river_gauge", "V01", 28.10, 112.965),
        "T002": Site("T002", "rain_gauge", "V02", 28.2, 112.9),
        "R001": Site("R001", "reporter", "V01", 28.101, 112.90),  # the village officer's reporting terminal
    }
    residents = {
        "R1": Resident("R1", "V01", 28.101, 112.901, lives_alone=True),
        "R2": Resident("R2", "V01", 28.102, 112.899),
        "R3": Resident("R3", "V02", 28.20, 112.90, limited_mobility=True),  # another village: not on V01's list
    }
    cc = CommandCentre({"V01": V01, "V02": V02}, sites, residents, lambda kind, data: frames.append((kind, data)),
                       policy=IssuePolicy.at_once())  # the engine's path: drafts issued at once
    return cc, CommandFeed(cc), frames


def valid(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    doc = etree.fromstring(xml)
    assert schema.validate(doc), schema.error_log
    return doc


def test_river_rise_raises_yellow_then_orange_with_cap_and_evacuation(schema: etree.XMLSchema) -> None:
    cc, fd, frames = centre()
    for i, level in enumerate((30.0, 30.2, 32.05)):  # slow rise to the warning level: yellow
        feed(cc, fd, "T001", T0 + i * STEP_S, river_level_m=level)
    assert cc.warnings.area_level("V01") is WarningLevel.YELLOW
    first = cc.alerts.active(T0 + 2 * STEP_S)
    assert [w.msg_type for w in first] == ["Alert"] and first[0].level is WarningLevel.YELLOW
    assert first[0].sender == "hub@yuelu.example"
    valid(schema, build_alert(first[0]))
    tasks = sorted(cc.tasks.tasks.values(), key=lambda t: t.task_id)
    assert [(t.resident_id, t.kind) for t in tasks] == [("R1", "check_on"), ("R2", "check_on")]
    feed(cc, fd, "T001", T0 + 3 * STEP_S, river_level_m=33.1)  # past halfway to the guarantee level: orange
    active = cc.alerts.active(T0 + 3 * STEP_S)
    assert [(w.msg_type, w.level) for w in active] == [("Update", WarningLevel.ORANGE)]
    doc = valid(schema, build_alert(active[0]))
    assert first[0].identifier in doc.findtext("{urn:oasis:names:tc:emergency:cap:1.2}references", "")
    assert {t.kind for t in cc.tasks.tasks.values()} == {"evacuate"}  # check-ons upgraded
    assert cc.evacuation_status("V01")["open"] == 2
    kinds = [k for k, _ in frames]
    assert {"gauge", "warning", "cap", "evacuation"} <= set(kinds)


def test_level_drops_to_none_cancels_the_cap_alert(schema: etree.XMLSchema) -> None:
    cc, fd, _ = centre()
    feed(cc, fd, "T001", T0, river_level_m=32.2)
    assert cc.alerts.active(T0)
    t = T0
    for t in (T0 + STEP_S, T0 + 2 * STEP_S, T0 + 3 * STEP_S):  # well below for longer than lower_after_s
        feed(cc, fd, "T001", t, river_level_m=30.0)
    cc.on_detections(cc.warnings.advance(t + 4000))
    assert cc.warnings.area_level("V01") is WarningLevel.NONE
    assert cc.alerts.active(t) == []
    cancels = [w for w in cc.alerts.messages.values() if w.msg_type == "Cancel"]
    assert len(cancels) == 1
    valid(schema, build_alert(cancels[0]))


def test_terminal_report_flows_into_the_rollup_and_relocated_into_the_draft() -> None:
    cc, fd, frames = centre()
    report = DisasterReport("T001", T0, 1, "storm-1", "initial", "flood", {"affected_population": 120, "trapped": 3})
    fd.observe_report(report)  # issue 14: a river gauge is no reporting terminal
    assert frames[-1][1]["error"] == "not_a_reporter" and "storm-1" not in cc.book.events
    report = DisasterReport("R001", T0, 1, "storm-1", "initial", "flood", {"affected_population": 120, "trapped": 3},
                            received_at=T0)  # the hub's receipt time (set by the decoder)
    fd.observe_report(report)
    event = cc.book.events["storm-1"]
    assert not event.declared and cc.book.current() is None  # named by a village: not current until declared
    rows = rollup(cc.book, "storm-1", {"V01": ("Yuelu Township", "Yuelu County")})
    assert [(r.level, r.values["affected_population"]) for r in rows] == [
        ("county", 120.0), ("township", 120.0), ("village", 120.0)
    ]  # fmt: skip
    assert frames[-1][0] == "report" and frames[-1][1]["version"] == 1
    fd.observe_report(DisasterReport("R001", T0 + 60, 2, "storm-1", "initial", "flood", {"deaths": -1},
                                     received_at=T0 + 60))
    assert frames[-1][1]["error"] == "invalid_indicators"
    assert any(d.kind == "report_overdue" for d in fd.advance(T0 + 2 * 86400))  # no follow-up by 09:00


def test_terminal_report_takes_the_hubs_clock_and_a_registered_village() -> None:
    """Issue 14: a report over MQTT is timed by the hub when it arrives, as the form's is; the terminal's own clock
    (here an hour fast) is kept as device_ts. A reporting terminal whose village is not registered files nothing."""
    cc, fd, frames = centre()
    fd.observe_report(DisasterReport("R001", T0 + 3600, 1, "storm-1", "initial", "flood", {"trapped": 2},
                                     received_at=T0 + 5))  # fmt: skip
    kept = cc.book.history("storm-1", "V01")[0]
    assert (kept.ts, kept.device_ts) == (T0 + 5, T0 + 3600)
    assert cc.book.events["storm-1"].started_at == T0 + 5  # deadlines run from the hub's clock
    assert frames[-1][1]["ts"] == T0 + 5
    cc.add_site(Site("R009", "reporter", "V99", 28.3, 112.8))  # a terminal registered to a village the map lacks
    fd.observe_report(DisasterReport("R009", T0 + 10, 1, "storm-1", "initial", "flood", {"trapped": 1},
                                     received_at=T0 + 10))  # fmt: skip
    assert frames[-1][1]["error"] == "unknown_village" and cc.book.history("storm-1", "V99") == []


def test_imported_cap_alert_raises_the_area(schema: etree.XMLSchema) -> None:
    cc, _fd, _ = centre()
    outside = issue("cma-hn-1", "weather@hunan.example", T0, WarningLevel.ORANGE, event="Rainstorm",
                    area_desc="Village 02", shapes=())  # fmt: skip
    xml = build_alert(outside)
    valid(schema, xml)
    w, areas = cc.import_cap(xml, T0)
    assert areas == ["V02"] and w.identifier == "cma-hn-1"
    assert cc.warnings.area_level("V02") is WarningLevel.ORANGE
    own = cc.alerts.active(T0)
    assert [(w.level, w.geocodes["village"]) for w in own] == [(WarningLevel.ORANGE, "V02")]
    assert [t.resident_id for t in cc.tasks.tasks.values()] == ["R3"]


def test_cap_speaks_chinese_with_an_english_block_only_when_configured(schema: etree.XMLSchema) -> None:
    """Issue 18: headline, description, instruction and event in zh-CN (colour and grade in the standard form);
    an en-US <info> after it only with cap_english; both valid against CAP 1.2."""
    ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
    for english in (False, True):
        cc, fd, _ = centre()
        cc.cap_english = english
        for i, level in enumerate((30.0, 33.1)):
            feed(cc, fd, "T001", T0 + i * STEP_S, river_level_m=level)
        doc = valid(schema, build_alert(cc.alerts.active(T0 + STEP_S)[0]))
        infos = doc.findall("c:info", ns)
        languages = [i.findtext("c:language", namespaces=ns) for i in infos]
        assert languages == (["zh-CN", "en-US"] if english else ["zh-CN"])
        names = ("event", "headline", "description", "instruction")
        zh = {k: infos[0].findtext(f"c:{k}", namespaces=ns) for k in names}
        assert zh["event"] == "暴雨洪涝"
        assert "橙色预警" in zh["headline"] and "Ⅱ级" in zh["headline"]
        assert "河道水位" in zh["description"] and zh["instruction"].startswith("低洼地带住户立即转移")
        if english:
            assert infos[1].findtext("c:headline", namespaces=ns).startswith("orange warning (level II)")
