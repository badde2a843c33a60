"""Start and stop a private InfluxDB 1.x server (Debian package `influxdb`) for the tests and the benchmark.

The generated config binds HTTP and the RPC (backup) port to 127.0.0.1 on free ports, keeps meta, data and WAL
in one folder and turns off reporting, the _internal monitor and request logs. The system service is never used.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from hub.broker import BrokerError, free_port, port_in_use
from hub.processes import log_tail, stop_process, wait_ready

STARTUP_TIMEOUT_S = 20.0


def influxd_config(data_dir: Path, http_port: int, rpc_port: int, data_settings: tuple[str, ...] = ()) -> str:
    """The generated influxdb.conf text; `data_settings`: extra lines of its [data] section."""
    extra = "".join(f"  {line}\n" for line in data_settings)
    return f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{data_dir}/meta"
  logging-enabled = false
[data]
  dir = "{data_dir}/data"
  wal-dir = "{data_dir}/wal"
  query-log-enabled = false
{extra}[monitor]
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
    # e.g. 'cache-snapshot-write-cold-duration = "1s"': bench/store_writes.py gets the points into TSM files quickly
    data_settings: tuple[str, ...] = ()

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
        conf.write_text(influxd_config(self.data_dir, self.http_port, self.rpc_port, self.data_settings))
        log = (self.data_dir / "influxd.log").open("ab")
        self.process = subprocess.Popen([binary, "run", "-config", str(conf)], stdout=log, stderr=log)
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        wait_ready(self.process, self._pings, lambda: log_tail(self.data_dir / "influxd.log"), "influxd",
                   STARTUP_TIMEOUT_S, lambda: self.stop(kill=True))

    def _pings(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{self.url}/ping", timeout=1).status_code == 204
        return False

    def stop(self, kill: bool = False) -> None:
        """Stop influxd (SIGTERM, or SIGKILL with kill=True) and wait for it to exit."""
        stop_process(self.process, signal.SIGKILL if kill else signal.SIGTERM, grace_s=15)
