"""The SisFall evaluation command: targets on the dev set, and a small folder of other subjects."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alerts.eval import falls as falls_eval

DEV = Path(__file__).resolve().parents[2].parent / "shared/datasets/sisfall-dev"
needs_dev = pytest.mark.skipif(not DEV.is_dir(), reason=f"SisFall dev set not found at {DEV}")


def last_json(out: str) -> dict:
    """The JSON object on stdout's last line."""
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.dataset
@needs_dev
def test_dev_set_meets_targets_cross_validated(capsys: pytest.CaptureFixture[str]) -> None:
    assert falls_eval.main([str(DEV), "--json", "--cv", "5"]) == 0
    out = capsys.readouterr().out
    result = last_json(out)
    assert result["recordings"] == 277
    for figures in (result, result["cv"]):
        assert figures["sensitivity"] >= 0.97
        assert figures["specificity"] >= 0.97
        assert figures["latency_median_s"] <= 2.0
    assert "correct per code: D01" in out and "correct per age group: elderly" in out


@pytest.mark.dataset
@needs_dev
def test_other_subjects_in_a_small_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picked = ["SA06", "SE05"]
    for subject in picked:
        target = tmp_path / "SisFall_dataset" / subject
        target.mkdir(parents=True)
        for f in sorted((DEV / "SisFall_dataset" / subject).glob("*.txt"))[::4]:
            os.symlink(f, target / f.name)  # linked at test time, never copied into the repository
    assert falls_eval.main([str(tmp_path), "--json", "--cv", "2"]) == 0
    result = last_json(capsys.readouterr().out)
    n_files = sum(1 for _ in tmp_path.rglob("*.txt"))
    assert result["recordings"] == result["cv"]["recordings"] == n_files
    assert 0.0 <= result["sensitivity"] <= 1.0


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    assert falls_eval.main([str(tmp_path)]) == 2
