"""Fixtures shared by the suite: a real Mosquitto on a free port, and the hub as a real subprocess.

A server that cannot be started is a failure, not a skip (in CI and everywhere): the suite is about real parts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hubproc import HubProcess

from devices.statedb.postgres import open_state
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from hub.influxd import Influxd
from hub.pgserver import PostgresServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private Mosquitto with the hub's generated config, on 127.0.0.1 and a free port."""
    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


@pytest.fixture
def influxdb(tmp_path: Path) -> Iterator[Influxd]:
    """A private InfluxDB 1.x (Debian's influxd) on 127.0.0.1, free HTTP and RPC ports, data in tmp_path."""
    server = Influxd(tmp_path / "influxdb").start()
    yield server
    server.stop(kill=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL (Debian's binaries) on 127.0.0.1 and a free port, for the whole session (issue 7)."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty database on the private PostgreSQL server (one per test)."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def hub_factory(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[type[HubProcess]]:
    """Start hub processes against the fixture's broker; every one is stopped at the end of the test."""
    started: list[HubProcess] = []

    def make(data_dir: Path | None = None, **kwargs: object) -> HubProcess:
        proc = HubProcess(data_dir or tmp_path / "hub", mosquitto.url, **kwargs)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.kill()


@pytest.fixture(params=["sqlite", "postgresql"])
def open_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], StateDB]]:
    """Opens connections to one fresh state store (several may be open at once, like several processes, or one
    after another, like a restarted hub)."""
    url = request.getfixturevalue("postgres") if request.param == "postgresql" else ""
    opened: list[StateDB] = []

    def make() -> StateDB:
        opened.append(open_state(tmp_path / "data", url))
        return opened[-1]

    yield make
    for db in opened:
        db.close()
