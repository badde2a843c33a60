"""`hub registry add-alias` / `list aliases` and `hub export` argument errors, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.cli import main


def test_add_alias_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    registry = Registry(db)
    registry.add_home(Home("H1", "1 Road", 28.2, 112.9))
    registry.add_resident(Resident("R1", "One", "H1"))
    registry.add_device(DeviceRecord("P1", "wearable", "wearable", resident_id="R1", worn_at="phone"))
    db.close()
    base = ["registry", "--data-dir", str(tmp_path)]
    assert main([*base, "add-alias", "--source", "owntracks", "--external-id", "gran/pixel", "--device-id", "P1"]) == 0
    assert main([*base, "add-alias", "--source", "zigbee2mqtt", "--external-id", "door", "--device-id", "P1"]) == 2
    assert "needs a home_sensor" in capsys.readouterr().err
    assert main([*base, "list", "aliases"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"source": "owntracks", "external_id": "gran/pixel", "device_id": "P1"}
    ]


def test_export_without_a_store_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    Registry(db).add_home(Home("H1", "1 Road", 28.2, 112.9))
    db.close()
    args = ["export", "--data-dir", str(tmp_path), "--resident", "R9", "--start", "0", "--end", "1", "--out", "x"]
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == "hub: error: resident 'R9' is not registered"
