"""Start and stop a private PostgreSQL server (Debian's binaries) for the tests of the shared state (issue 7).

initdb and postgres refuse to run as root, so as root the cluster folder belongs to the `postgres` user and both run
as that user. The folder is a fresh directory in the system temp folder (pytest's own tmp folders are mode 700 and
root's, which `postgres` cannot enter). It listens on 127.0.0.1 and a free port only, its unix socket stays in that
folder, durability is off (a test server); the machine's own PostgreSQL on 5432 is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from hub.broker import BrokerError, free_port
from hub.processes import log_tail, stop_process, wait_ready

STARTUP_TIMEOUT_S = 30.0
USER = "hub"
SETTINGS = (
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=60",
    "shared_buffers=32MB",
    "listen_addresses=127.0.0.1",
)
# A production-like server for benchmarks (bench/store_writes.py): every commit flushed to disk before it returns
DURABLE = ("fsync=on", "synchronous_commit=on", "full_page_writes=on", "max_connections=60", "shared_buffers=128MB",
           "listen_addresses=127.0.0.1")


def bin_dir() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise BrokerError("PostgreSQL binaries not found", "run scripts/setup (installs Debian's postgresql)")
    return Path(found[-1]).parent


def _as_postgres() -> dict[str, Any]:
    """Popen arguments that drop root to the postgres user (no-op for other users)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


@dataclass
class PostgresServer:
    """A private postgres process; `url(db)` names a database on it."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hub-pg-")))
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    settings: tuple[str, ...] = SETTINGS  # DURABLE for a benchmark of write rates

    def url(self, database: str = "postgres") -> str:
        """Connection URL of one database (trust authentication on 127.0.0.1)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        """initdb, start postgres and wait until it accepts connections."""
        binaries = bin_dir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"]
        done = subprocess.run(initdb, env=env, capture_output=True, check=False, **_as_postgres())
        if done.returncode != 0:
            raise BrokerError("initdb failed", done.stderr.decode(errors="replace")[-800:])
        self.port = free_port()
        cmd = [str(binaries / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.root)]
        cmd += [arg for setting in self.settings for arg in ("-c", setting)]
        log = (self.root / "postgres.log").open("ab")
        self.process = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, **_as_postgres())
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        wait_ready(self.process, self._accepts, lambda: log_tail(self.root / "postgres.log"), "postgres",
                   STARTUP_TIMEOUT_S, self.stop, poll_s=0.1)

    def _accepts(self) -> bool:
        with contextlib.suppress(psycopg.OperationalError), psycopg.connect(self.url(), connect_timeout=2):
            return True
        return False

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT: clients are disconnected), then remove the folder."""
        stop_process(self.process, signal.SIGINT, grace_s=20)
        shutil.rmtree(self.root, ignore_errors=True)
