"""Issue 14, item 3: per-station thresholds. Imported from CSV by `hub registry import-stations` (each bad line
named, nothing imported while one is bad), kept in the state database, edited by admins over REST, and used by the
gauge rules instead of one ladder for every river."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from command_path import T0, V01, V02, feed

from alerts.incidents.store import IncidentStore
from devices.registry import Registry
from devices.statedb.postgres import open_state
from devices.statedb.sqlite import StateDB
from dispatch.disaster.areas import Site
from dispatch.disaster.command import CommandCentre
from dispatch.disaster.drafts import IssuePolicy
from dispatch.disaster.feed import CommandFeed
from dispatch.disaster.stations import StationStore, StationThresholds, parse_csv
from dispatch.disaster.store import CommandStore
from hub.cli import main
from simulators.community import build_community

SITES = {
    "T001": Site("T001", "river_gauge", "V01", 28.10, 112.965),
    "T002": Site("T002", "river_gauge", "V02", 28.20, 112.965),
    "T003": Site("T003", "rain_gauge", "V02", 28.21, 112.90),
}
HEADER = "station_id,warning_level_m,guarantee_level_m,rain_1h_mm,rain_3h_mm,rain_24h_mm,displacement_mm\n"


def started(db: StateDB) -> tuple[CommandCentre, CommandFeed]:
    cc = CommandCentre({"V01": V01, "V02": V02}, dict(SITES), {}, policy=IssuePolicy.at_once())
    cc.restore(CommandStore(db))
    return cc, CommandFeed(cc)


def test_csv_lines_are_checked_one_by_one() -> None:
    text = HEADER + (
        "T001,31.5,33.8,,,,\n"
        "T002,32.5,32.0,,,,\n"  # guarantee below warning
        "T003,,,15/25/40/60,30/50/70/100,,\n"
        "T004,,,20/30/50,,,\n"  # three thresholds
        "T005,abc,34,,,,\n"  # not a number
        "T099,31,33,,,,\n"  # not registered
        "T001,31,33,,,,\n"  # twice
    )
    good, errors = parse_csv(text, known={"T001", "T002", "T003", "T004", "T005"})
    assert [s.station_id for s in good] == ["T001", "T003"]
    assert good[1].rain_1h_mm == (15, 25, 40, 60)
    assert [e.line for e in errors] == [3, 5, 6, 7, 8]
    assert "guarantee level 32.0 m must be above the warning level 32.5 m" in str(errors[0])
    assert "four thresholds" in str(errors[1]) and "'abc' is not a number" in str(errors[2])
    assert "not a registered terminal" in str(errors[3]) and "twice" in str(errors[4])
    (bad,) = parse_csv("id,level\nT1,3\n")[1]
    assert bad.line == 1 and "lacks columns" in str(bad)


def test_hub_registry_import_stations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    db = StateDB(data / "state.sqlite")
    build_community(residents=4, terminals=4, villages=2, seed=5).register(Registry(db))  # T001..T004
    db.close()
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "T001,31.5,33.8,,,,\nT002,33,32,,,,\n", encoding="utf-8")
    assert main(["registry", "--data-dir", str(data), "import-stations", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:line 3: guarantee level 32.0 m must be above" in err and "nothing imported" in err
    db = StateDB(data / "state.sqlite")
    assert StationStore(db).all() == {}
    good = tmp_path / "good.csv"
    good.write_text("\ufeff" + HEADER + "T001,31.5,33.8,,,,\nT002,,,15/25/40/60,,,\n", encoding="utf-8")  # Excel's BOM
    assert main(["registry", "--data-dir", str(data), "import-stations", str(good)]) == 0
    assert "imported thresholds of 2 station(s)" in capsys.readouterr().out
    saved = StationStore(db).all()
    assert saved["T001"].guarantee_level_m == 33.8 and saved["T001"].updated_by.startswith("cli:")
    (row,) = [r for r in IncidentStore(db).audit_log() if r["action"] == "stations_imported"]  # the import, audited
    assert row["actor"].startswith("cli:") and row["detail"]["stations"] == ["T001", "T002"]
    db.close()


def test_each_gauge_is_judged_by_its_own_thresholds(open_db: Callable[[], StateDB]) -> None:
    db = open_db()
    StationStore(db).save([StationThresholds("T001", 31.0, 33.0), StationThresholds("T002", 33.0, 35.0),
                           StationThresholds("T003", rain_1h_mm=(5, 10, 15, 20))])  # fmt: skip
    cc, fd = started(db)
    feed(cc, fd, "T001", T0, river_level_m=32.2)  # past T001's warning level 31.0 (yellow), halfway: orange
    feed(cc, fd, "T002", T0, river_level_m=32.2)  # below T002's 33.0 - 0.5: nothing
    assert cc.warnings.terminal_level("T001") == 3 and cc.warnings.terminal_level("T002") == 0
    feed(cc, fd, "T003", T0, rainfall_mm=12.0)  # 12 mm in an hour: yellow for this hill station (CMA: none)
    assert cc.warnings.terminal_level("T003") == 2
    (draft,) = [d for d in cc.drafts.history() if d.area == "V01"]
    assert draft.evidence["ladder"] == {"metric": "river_level_m", "steps": [30.5, 31.0, 32.0, 33.0], "own": True}
    other = open_db()  # another worker or the CLI changes T002: the running centre takes it up on its next scan
    StationStore(other).save([StationThresholds("T002", 31.5, 33.5, updated_at=T0)])
    assert cc.reload_stations() and not cc.reload_stations()
    feed(cc, fd, "T002", T0 + 60, river_level_m=32.2)
    assert cc.warnings.terminal_level("T002") == 2


def test_import_stations_into_the_shared_postgresql_state(tmp_path: Path, postgres: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    db = open_state(tmp_path, postgres)
    build_community(residents=2, terminals=2, villages=1, seed=5).register(Registry(db))
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "T001,30.8,32.9,,,,\n", encoding="utf-8")
    assert main(["registry", "--data-dir", str(tmp_path), "import-stations", str(good), "--state-url", postgres]) == 0
    assert "imported thresholds of 1 station(s)" in capsys.readouterr().out
    assert StationStore(db).all()["T001"].warning_level_m == 30.8
    db.close()
