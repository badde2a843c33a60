"""`hub users add --township` and `hub users scope`: an account's place scope set from the command line, by a
township's name or code, checked against the registered villages."""

from __future__ import annotations

from pathlib import Path

import pytest
from insights_history import T1, T1_NAME, T2, build

from alerts.incidents.store import IncidentStore
from devices.statedb.sqlite import StateDB
from hub.cli import main


def test_scope_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    build(db)
    db.close()
    where = ["--data-dir", str(tmp_path)]
    assert main(["users", "add", "wang", "--role", "bureau", "--password", "a-long-password", "--township", T1_NAME,
                 *where]) == 0  # fmt: skip
    assert main(["users", "scope", "wang", "--township", T1, "--township", T2, *where]) == 0
    capsys.readouterr()
    assert main(["users", "list", *where]) == 0
    assert f"wang\tbureau\tactive\t{T1},{T2}" in capsys.readouterr().out
    assert main(["users", "scope", "wang", "--township", "无此镇", *where]) == 2  # not registered: refused
    assert main(["users", "scope", "nobody", *where]) == 2
    assert main(["users", "scope", "wang", *where]) == 0  # no township: the whole county again
    capsys.readouterr()
    assert main(["users", "list", *where]) == 0
    assert "wang\tbureau\tactive\t*" in capsys.readouterr().out
    db = StateDB(tmp_path / "state.sqlite")  # every change is attributed to the operating-system user
    rows = [(r["actor"], r["action"]) for r in IncidentStore(db).audit_log() if r["action"].startswith("user_")]
    db.close()
    assert sorted(a for _, a in rows) == ["user_added", "user_scope_set", "user_scope_set"], rows  # refusals: none
    assert all(who.startswith("cli:") for who, _ in rows)
