"""Scenario evaluation: a smaller run with the issue's targets as assertions, and the matching rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.detection import Detection, Severity
from alerts.eval.anomaly import main, score
from simulators.scenarios import TYPES, Label


def det(kind: str, subject: str, ts: float, severity: Severity = Severity.WARNING) -> Detection:
    return Detection("test", kind, subject, "", ts, severity)


def test_matching_within_tolerance_duplicates_and_info() -> None:
    labels = [Label("gas", "home1", 1000.0), Label("gas", "home2", 1000.0)]
    found = [
        det("gas", "home1", 1000.0),  # at the start: a hit, delay 0
        det("gas", "home1", 1010.0),  # a second alarm for the same label: false positive
        det("gas", "home2", 1000.0 + 601),  # past the 600 s tolerance: false positive, label missed
        det("gas_cleared", "home1", 2000.0, Severity.INFO),  # informational: not an alarm
    ]
    result = score(labels, found, (0.0, 0.0))
    assert result["gas"] == {"precision": 0.3333, "recall": 0.5, "delay_median_s": 0.0, "labels": 2, "detections": 3}


def test_restart_window_counts() -> None:
    found = [det("infrastructure", "infrastructure", 100.0), det("device_offline", "w1", 200.0)]
    result = score([], found, (50.0, 110.0))
    assert result["infrastructure_alerts"] == 1 and result["device_offline_alerts_over_restart"] == 1


@pytest.mark.timeout(240)
def test_small_run_meets_the_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--homes", "20", "--days", "7", "--seed", "3", "--json", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    for kind in TYPES:
        r = result[kind]
        assert r["labels"] >= 1, kind
        assert r["recall"] >= 0.95, (kind, r)
        assert r["precision"] >= 0.90, (kind, r)
        assert r["delay_median_s"] is not None
    assert result["infrastructure_alerts"] <= 1
    assert result["device_offline_alerts_over_restart"] == 0
    assert "100%" in captured.err  # the progress bar ran to the end
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert {row["type"] for row in truth} == set(TYPES)
    assert (tmp_path / "ground_truth.csv").read_text().startswith("type,subject,start,detail")
