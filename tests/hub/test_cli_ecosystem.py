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
    registry.add_device(DeviceRecord("S1", "home_sensor", "smoke", home_id="H1"))
    db.close()
    base = ["registry", "--data-dir", str(tmp_path)]
    z2m = ["add-alias", "--source", "zigbee2mqtt", "--external-id", "door"]
    assert main([*base, "add-alias", "--source", "owntracks", "--external-id", "gran/pixel", "--device-id", "P1"]) == 0
    assert main([*base, *z2m, "--device-id", "S1", "--bridge", "b1"]) == 2  # issue 16: not an issued bridge
    assert "not an issued bridge" in capsys.readouterr().err
    devices = ["devices", "--data-dir", str(tmp_path), "--auth-dir", str(tmp_path / "auth")]
    assert main([*devices, "issue", "b1", "--kind", "bridge"]) == 0
    assert "base_topic: zigbee2mqtt/b1" in capsys.readouterr().out
    assert "topic readwrite zigbee2mqtt/b1/#" in (tmp_path / "auth" / "acl").read_text()
    assert main([*base, *z2m, "--device-id", "P1", "--bridge", "b1"]) == 2
    assert "needs a home_sensor" in capsys.readouterr().err
    assert main([*base, *z2m, "--device-id", "S1", "--bridge", "b1"]) == 0
    capsys.readouterr()
    assert main([*base, "list", "aliases"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"source": "owntracks", "external_id": "gran/pixel", "device_id": "P1", "bridge": ""},
        {"source": "zigbee2mqtt", "external_id": "door", "device_id": "S1", "bridge": "b1"},
    ]
    assert main([*base, "remove-alias", "--source", "zigbee2mqtt", "--external-id", "door"]) == 2  # not on no bridge
    assert main([*base, "remove-alias", "--source", "zigbee2mqtt", "--external-id", "door", "--bridge", "b1"]) == 0
    db = StateDB(tmp_path / "state.sqlite")
    actions = [r["action"] for r in db.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("alias_added") == 2 and "alias_removed" in actions and "bridge_credential_issued" in actions
    db.close()


def test_export_without_a_store_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    Registry(db).add_home(Home("H1", "1 Road", 28.2, 112.9))
    db.close()
    args = ["export", "--data-dir", str(tmp_path), "--resident", "R9", "--start", "0", "--end", "1", "--out", "x"]
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == "hub: error: resident 'R9' is not registered"
