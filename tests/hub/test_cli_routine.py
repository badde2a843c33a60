"""`hub evaluate routine HOME_DIR --json` as a user runs it, and `hub registry import-home HOME_DIR`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from tiny_home import SENSORS, at, write_home

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from devices.topology import SensorKind
from hub import cli
from hub.wiring import device_info

ROOT = Path(__file__).resolve().parents[2]


def _hub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


def test_evaluate_routine_ends_with_one_json_line(tmp_path: Path) -> None:
    home = write_home(tmp_path / "home", days=8, silences=[(at(5, 11.0), at(5, 19.0), "day_collapse")])
    out = _hub("evaluate", "routine", str(home), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert 7.0 < result["days"] < 8.0
    assert result["alerts"] and {"ts", "kind"} <= set(result["alerts"][0])
    first = result["alerts"][0]
    assert datetime.fromisoformat(first["ts"]).utcoffset() is not None and first["kind"] == "inactivity"
    assert result["caught"] == 1 and result["emergencies"] == 1
    assert result["per_emergency"][0]["latency_h"] <= 3.0
    assert {"latency_median_h", "false_alerts", "false_alerts_per_home_month"} <= set(result)
    assert "小时无动静" in out.stdout  # each alert is printed with why it fired (in the hub's language)


def test_evaluate_routine_without_labels_has_no_scores(tmp_path: Path) -> None:
    home = write_home(tmp_path / "home", days=4)
    out = _hub("evaluate", "routine", str(home), "--json")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) == {"alerts", "days", "elapsed_s"}


def test_evaluate_routine_on_a_folder_that_is_no_home(tmp_path: Path) -> None:
    out = _hub("evaluate", "routine", str(tmp_path))
    assert out.returncode == 2 and "events.csv" in out.stderr and "Traceback" not in out.stderr


def test_import_home_registers_the_layout(tmp_path: Path, capsys) -> None:
    home = write_home(tmp_path / "house-t", days=2, extra_sensor=True)
    data = tmp_path / "data"
    assert cli.main(["registry", "--data-dir", str(data), "import-home", str(home), "--lat", "28.2"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["devices"] == len(SENSORS) + 1
    registry = Registry(StateDB(data / "state.sqlite"))
    assert [h.home_id for h in registry.homes()] == ["house-t"] and registry.homes()[0].lat == 28.2
    resident = registry.residents()[0]
    assert resident.home_id == "house-t" and resident.lives_alone == 1
    devices = {d.device_id: d for d in registry.list_devices()}
    assert devices["house-t-front"].kind == "door" and devices["house-t-front"].room == "hall"
    assert devices["house-t-in_door"].kind == "activity"  # an inner door is not the way out
    assert devices["house-t-flush"].kind == "activity" and devices["house-t-flush"].room == "bathroom"
    assert devices["house-t-S99"].kind == "activity"  # fires, not described
    info = device_info(devices["house-t-cup"], {}, {"house-t": resident.resident_id})
    assert info is not None and info.kind == SensorKind.ACTIVITY and info.room == "kitchen"
    assert cli.main(["registry", "--data-dir", str(data), "import-home", str(home)]) == 2  # already there
    assert cli.main(["registry", "--data-dir", str(data), "import-home", str(home), "--replace"]) == 0
