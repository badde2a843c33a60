"""Issue 16: every change is attributed, and the audit and access logs are tamper-evident.

Every unsafe request made with a session leaves one audit row (actor, role, route, object, status) written by the
guard; the rows are hash-chained on SQLite and PostgreSQL, and `hub audit verify` names the first changed or
removed row."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from staff_app import StaffClient, staff_hub

from alerts.incidents.store import AUDIT_CHAINED, IncidentStore
from dashboard.access_log import ACCESS_CHAINED, AccessLog
from devices.statedb import chain
from devices.statedb.postgres import PgStateDB
from devices.statedb.sqlite import StateDB
from hub.cli import main


@pytest.fixture
def staff(tmp_path: Path) -> Iterator[StaffClient]:
    with staff_hub(tmp_path / "hub") as client:
        yield client


def _requests(staff: StaffClient) -> list[dict[str, Any]]:
    assert staff.hub.ctx.incidents is not None
    return [r for r in staff.hub.ctx.incidents.store.audit_log(None, 10_000) if r["action"] == "request"]


def test_every_unsafe_request_with_a_session_is_attributed(staff: StaffClient) -> None:
    village = {"village_id": "V-audit", "name": "Audit village", "township": "T", "county": "C", "lat": 28.2,
               "lon": 112.9}
    assert staff.call("POST", "/api/villages", role="admin", json=village).status_code == 201
    assert staff.call("POST", "/api/incidents/424242/acknowledge", role="operator", json={}).status_code == 404
    assert staff.call("POST", "/api/admin/users", role="operator",
                      json={"username": "eve", "password": "eve-password", "role": "admin"}).status_code == 403
    assert staff.call("DELETE", "/api/aliases/z2m/kitchen", role="admin", csrf=False).status_code == 403
    assert staff.call("POST", "/api/villages", json=village).status_code == 401  # no session: not written
    rows = _requests(staff)
    seen = [(r["actor"], r["detail"]["role"], r["detail"]["method"], r["detail"]["route"], r["detail"]["status"])
            for r in rows]
    assert seen == [
        ("admin", "admin", "POST", "/api/villages", 201),
        ("operator", "operator", "POST", "/api/incidents/{incident_id}/acknowledge", 404),
        ("operator", "operator", "POST", "/api/admin/users", 403),
        ("admin", "admin", "DELETE", "/api/aliases/{source}/{external_id}", 403),
    ]
    assert rows[0]["detail"]["object"] == {"village_id": "V-audit"}
    assert rows[1]["detail"]["object"] == {"incident_id": "424242"}  # path parameters as sent
    assert rows[1]["detail"]["path"] == "/api/incidents/424242/acknowledge"
    assert rows[2]["detail"]["object"] == {"username": "eve"}  # never the password
    assert "eve-password" not in str(rows)
    assert rows[3]["detail"]["object"] == {"source": "z2m", "external_id": "kitchen"}


def _fill(store: IncidentStore, n: int, actor: str = "op") -> None:
    for i in range(n):
        store.audit(actor, "acknowledged", i, {"note": f"row {i}", "value": i / 7}, 1_700_000_000.0 + i / 3)


def test_tampering_in_sqlite_is_named_by_hub_audit_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    db = StateDB(data / "state.sqlite")
    _fill(IncidentStore(db), 6)
    AccessLog(db).record("op", "operator", "health_read", "/api/readings/latest", {})
    db.close()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "audit_log: OK, 6 rows" in out and "access_log: OK, 1 rows" in out

    raw = sqlite3.connect(data / "state.sqlite")  # whoever holds the file: drop the guard, change a row
    raw.execute("DROP TRIGGER audit_log_no_update")
    raw.execute("UPDATE audit_log SET actor = 'someone-else' WHERE id = 3")
    raw.commit()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    assert "audit_log: BROKEN at row id 3" in capsys.readouterr().out

    raw.execute("UPDATE audit_log SET actor = 'op' WHERE id = 3")  # put it back, remove another row instead
    raw.execute("DROP TRIGGER audit_log_no_delete")
    raw.execute("DELETE FROM audit_log WHERE id = 2")
    raw.commit()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    assert "audit_log: BROKEN at row id 3" in capsys.readouterr().out  # the row after the gap

    raw.execute("DELETE FROM audit_log WHERE id <= 3")  # remove the oldest rows: the first left does not start
    raw.commit()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    assert "audit_log: BROKEN at row id 4" in capsys.readouterr().out
    raw.close()


def test_the_chain_holds_on_both_backends_with_concurrent_writers(open_db: Callable[[], StateDB]) -> None:
    first, second = open_db(), open_db()  # two connections, like two hub workers
    stores = [IncidentStore(first), IncidentStore(second)]
    threads = [threading.Thread(target=_fill, args=(store, 25, f"worker{i}")) for i, store in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    AccessLog(first).record("sup", "supervisor", "health_read", "/api/export", {"query": {"fmt": "csv"}})
    verdict = chain.verify(first, "audit_log", AUDIT_CHAINED)
    assert verdict.ok and verdict.rows == 50, verdict
    assert chain.verify(second, "access_log", ACCESS_CHAINED).ok
    target = int(first.execute("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 10")[0][0])
    if isinstance(first, PgStateDB):
        first.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
    else:
        first.execute("DROP TRIGGER audit_log_no_update")
    first.execute("UPDATE audit_log SET detail = ? WHERE id = ?", ['{"note":"nothing happened"}', target])
    broken = chain.verify(second, "audit_log", AUDIT_CHAINED)
    assert not broken.ok and broken.broken_id == target and "content" in broken.reason
    # issue 16: emptying the logs at once is refused too (PostgreSQL's TRUNCATE skips row triggers; SQLite has no
    # TRUNCATE, and its DELETE without WHERE fires the row trigger)
    for table in ("audit_log", "access_log"):
        with pytest.raises(Exception, match="append-only"):
            second.execute(f"TRUNCATE {table}" if isinstance(second, PgStateDB) else f"DELETE FROM {table}")
        assert second.execute(f"SELECT COUNT(*) FROM {table}")[0][0] > 0


def test_rows_from_before_the_chain_are_allowed_only_first(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.sqlite")
    db.execute("CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, actor TEXT NOT NULL,"
               " action TEXT NOT NULL, incident_id INTEGER, detail TEXT NOT NULL)")
    db.execute("INSERT INTO audit_log (ts, actor, action, incident_id, detail) VALUES (1, 'old', 'login', NULL, '{}')")
    store = IncidentStore(db)  # an upgraded hub: the chain starts after the old row
    _fill(store, 3)
    verdict = chain.verify(db, "audit_log", AUDIT_CHAINED)
    assert verdict.ok and verdict.unchained == 1 and verdict.rows == 4
    db.execute("INSERT INTO audit_log (ts, actor, action, incident_id, detail) VALUES (9, 'sneaky', 'x', NULL, '{}')")
    late = chain.verify(db, "audit_log", AUDIT_CHAINED)
    assert not late.ok and late.broken_id == 5
    db.close()
