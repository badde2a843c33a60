"""Privacy (issue 8): identifiers masked in lists and logs, shown in full only to supervisors and up through one
audited endpoint; reads of health data written to the append-only access log (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from staff_app import StaffClient, staff_hub

from dashboard.access_log import AccessLog
from dashboard.logmask import MaskIdentifiers, install, mask_identifiers
from devices.records import DeviceRecord, Home, Resident
from devices.statedb.postgres import open_state

NATIONAL_ID, PHONE = "43010419450101001X", "13812345678"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffClient]:
    with staff_hub(Path(tmp_path_factory.mktemp("hub"))) as made:
        registry = made.hub.registry
        registry.add_home(Home("H-1", "1 River Road", 28.2, 112.9))
        registry.add_resident(Resident("R-1", "Li Hua", "H-1", national_id=NATIONAL_ID, phone=PHONE))
        registry.add_device(DeviceRecord("W-1", "wearable", "wearable", resident_id="R-1", worn_at="wrist"))
        yield made


def test_lists_mask_and_only_supervisors_see_full_identifiers(client: StaffClient) -> None:
    listed = client.call("GET", "/api/residents", "operator").json()[0]
    assert listed["national_id"] == "430104********001X" and listed["phone"] == "138****5678"
    assert client.call("GET", "/api/residents/R-1/identity", "operator").status_code == 403
    full = client.call("GET", "/api/residents/R-1/identity", "supervisor").json()
    assert full["national_id"] == NATIONAL_ID and full["phone"] == PHONE
    views = client.call("GET", "/api/access-log", "admin", params={"actor": "supervisor"}).json()
    assert views[0]["action"] == "identity_view" and views[0]["subject"] == "R-1" and views[0]["role"] == "supervisor"


def test_reads_of_health_data_are_in_the_access_log(client: StaffClient) -> None:
    for path in ("/api/devices/W-1/readings", "/api/readings/latest", "/api/detections"):
        assert client.call("GET", path, "operator").status_code == 200
    assert client.call("GET", "/fhir/Observation", "supervisor", params={"subject": "Patient/R-1"}).status_code == 200
    log = client.call("GET", "/api/access-log", "supervisor", params={"limit": 50}).json()
    reads = {(e["actor"], e["subject"]) for e in log if e["action"] == "health_read"}
    assert ("operator", "/api/devices/W-1/readings") in reads and ("supervisor", "/fhir/Observation") in reads
    assert client.call("GET", "/api/access-log", "operator").status_code == 403


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_access_log_is_append_only(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres") if backend == "postgresql" else ""
    db = open_state(tmp_path, url)
    try:
        log = AccessLog(db)
        log.record("sup", "supervisor", "identity_view", "R-1", {"fields": ["phone"]})
        assert log.entries()[0]["detail"] == {"fields": ["phone"]}
        for sql in ("UPDATE access_log SET actor = 'x'", "DELETE FROM access_log"):
            with pytest.raises(Exception, match="append-only"):
                db.execute(sql)
        assert [e["actor"] for e in log.entries("sup")] == ["sup"]
    finally:
        db.close()


def test_identifiers_are_masked_in_log_text() -> None:
    text = f"resident {NATIONAL_ID} phone {PHONE} or +86 {PHONE}, ts 1783000000123, seq 13812345678901"
    assert mask_identifiers(text) == (
        "resident 430104********001X phone 138****5678 or +86 138****5678, ts 1783000000123, seq 13812345678901"
    )


def test_every_record_is_masked_once_installed(caplog: pytest.LogCaptureFixture) -> None:
    factory = logging.getLogRecordFactory()
    try:
        install()
        install()  # idempotent
        with caplog.at_level(logging.INFO):
            logging.getLogger("ingest.test").info("call-back to %s for %s", PHONE, NATIONAL_ID)
            try:
                raise ValueError(f"bad id {NATIONAL_ID}")
            except ValueError:
                logging.getLogger("dashboard.test").exception("failed")
    finally:
        logging.setLogRecordFactory(factory)
    assert caplog.records[0].getMessage() == "call-back to 138****5678 for 430104********001X"
    assert NATIONAL_ID not in caplog.text and PHONE not in caplog.text
    assert MaskIdentifiers().filter(logging.makeLogRecord({"msg": "%s", "args": (PHONE,)}))


def test_the_hub_command_installs_the_masking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hub.cli import main

    root = logging.getLogger()
    factory, handlers, level = logging.getLogRecordFactory(), list(root.handlers), root.level
    try:
        assert main(["--log-level", "WARNING", "users", "list", "--data-dir", str(tmp_path)]) == 0
        assert logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, PHONE, (), None).msg == "138****5678"
    finally:
        logging.setLogRecordFactory(factory)
        root.handlers[:], root.level = handlers, level
    capsys.readouterr()


def test_phone_numbers_inside_contacts_are_masked_in_resident_lists() -> None:
    from dashboard.privacy import masked
    from devices.records import Resident

    row = masked(Resident("R1", "Li Hua", "H1", "430104194503120012", "13812345678", contacts="son: 13951305617"))
    assert row["contacts"] == "son: 139****5617"
    assert row["phone"] == "138****5678" and row["national_id"] == "430104********0012"
