"""Start and stop a private InfluxDB 1.x server (Debian package `influxdb`) for the tests and the benchmark.

The generated config binds HTTP and the RPC (backup) port to 127.0.0.1 on free ports, keeps meta, data and WAL
in one folder and turns off reporting, the _internal monitor and request logs. The system service is never used.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from hub.broker import BrokerError, free_port, port_in_use

STARTUP_TIMEOUT_S = 20.0


def influxd_config(data_dir: Path, http_port: int, rpc_port: int) -> str:
    """The generated influxdb.conf text."""
    return f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{data_dir}/meta"
  logging-enabled = false
[data]
  dir = "{data_dir}/data"
  wal-dir = "{data_dir}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
"""


@dataclass
class Influxd:
    """An influxd process with a generated config; same ports and folder across stop/start."""

    data_dir: Path
    http_port: int = 0
    rpc_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of its HTTP API."""
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Influxd:
        """Write the config, start influxd and wait until /ping answers."""
        binary = shutil.which("influxd") or shutil.which("influxd", path="/usr/bin:/usr/sbin")
        if binary is None:
            raise BrokerError("influxd not found", "run scripts/setup (installs Debian's influxdb package)")
        self.http_port = self.http_port or free_port()
        self.rpc_port = self.rpc_port or free_port()
        for port in (self.http_port, self.rpc_port):
            if port_in_use(port):
                raise BrokerError(f"port {port} is in use", "stop what uses it or choose another port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "influxdb.conf"
        conf.write_text(influxd_config(self.data_dir, self.http_port, self.rpc_port))
        log = (self.data_dir / "influxd.log").open("ab")
        self.process = subprocess.Popen([binary, "run", "-config", str(conf)], stdout=log, stderr=log)
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = (self.data_dir / "influxd.log").read_text(errors="replace")[-800:]
                raise BrokerError("influxd exited at start", tail.strip() or "see influxd.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 204:
                    return
            time.sleep(0.05)
        self.stop(kill=True)
        raise BrokerError("influxd did not answer /ping", f"within {STARTUP_TIMEOUT_S} s on port {self.http_port}")

    def stop(self, kill: bool = False) -> None:
        """Stop influxd (SIGTERM, or SIGKILL with kill=True) and wait for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
