"""Start and stop a private Mosquitto broker (Debian package `mosquitto`) for `hub demo` and the tests.

The generated config listens on 127.0.0.1 only, keeps persistence on, and lifts Mosquitto's stock queue limits:
with `max_queued_messages 1000` a slower subscriber silently lost 46 % of 100,000 QoS 1 messages (DESIGN.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import random
import resource
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from hub.processes import BrokerError, log_tail, stop_process, wait_ready

__all__ = ["BrokerError", "Mosquitto", "auth_config", "free_port", "port_in_use", "tls_listener"]

STARTUP_TIMEOUT_S = 10.0
PORTS_FROM = 20_000  # free_port: above the well-known and most registered services
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the hub dies, even by SIGKILL, so no broker is left orphaned (Linux); and
    raise the open-file soft limit to the hard one (one descriptor per device connection: a soft limit of 1,024
    would cap the broker near 1,000 devices, issue 20)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    with contextlib.suppress(OSError, ValueError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral range.

    A port the kernel hands out (bind to 0) is in the range it also gives to outgoing connections: a server
    restarted on its port (a test stops InfluxDB or a broker for 30 s, then starts it again) could find a
    client's connection sitting on it. Below that range only another listener can take it."""
    low = _ephemeral_low()
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(PORTS_FROM, low) if low > PORTS_FROM + 1000 else 0
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free TCP port below the ephemeral range")


def _ephemeral_low() -> int:
    """The lowest local port the kernel gives outgoing connections (Linux; elsewhere the IANA range's)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def auth_config(passwords: Path, acl: Path) -> list[str]:
    """Config lines that require a username and password and apply the generated ACL."""
    return ["allow_anonymous false", f"password_file {passwords}", f"acl_file {acl}"]


def tls_listener(port: int, cafile: Path, certfile: Path, keyfile: Path, host: str = "127.0.0.1",
                 require_certificate: bool = False) -> list[str]:
    """An extra TLS listener on host:port (issue 16: any address, e.g. 0.0.0.0 for devices on the network; see
    SECURITY.md for making the certificates). `require_certificate`: clients must present one signed by `cafile`."""
    lines = [f"listener {port} {host}" if host else f"listener {port}", f"cafile {cafile}", f"certfile {certfile}",
             f"keyfile {keyfile}", "tls_version tlsv1.2"]
    return lines + (["require_certificate true"] if require_certificate else [])


def mosquitto_config(port: int, data_dir: Path, extra: list[str] | None = None) -> str:
    """The generated mosquitto.conf text (anonymous access unless `extra` brings auth_config)."""
    extra = extra or []
    anonymous = [] if any(line.startswith("allow_anonymous") for line in extra) else ["allow_anonymous true"]
    lines = [
        "per_listener_settings false",
        f"listener {port} 127.0.0.1",
        *anonymous,
        "persistence true",
        f"persistence_location {data_dir}/",
        "autosave_interval 5",
        # 0 = no limit: QoS 1 messages for a slow or absent persistent subscriber are queued, never dropped.
        "max_queued_messages 0",
        "max_queued_bytes 0",
        "max_inflight_messages 0",
        "max_packet_size 1048576",
        "max_connections -1",  # no cap of its own: the open-file limit (raised to the hard one at start) is it
        "log_type error",
        "log_type warning",
        f"log_dest file {data_dir}/mosquitto.log",
        # Started as root, Mosquitto drops to the `mosquitto` user and then cannot write a root-owned folder.
        f"user {getpass.getuser()}",
    ]
    return "\n".join(lines + extra) + "\n"


@dataclass
class Mosquitto:
    """A Mosquitto process with a generated config, listening on 127.0.0.1:`port`."""

    data_dir: Path
    port: int = 0
    extra_config: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """mqtt:// URL of the broker."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        """Written at start: `hub devices revoke` SIGHUPs the broker through it (issue 16)."""
        return self.data_dir / "mosquitto.pid"

    def start(self) -> Mosquitto:
        """Write the config, start the broker and wait until it accepts connections."""
        binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
        if binary is None:
            raise BrokerError("mosquitto not found", "run scripts/setup (installs Debian's mosquitto package)")
        self.port = self.port or free_port()
        if port_in_use(self.port):
            raise BrokerError(f"port {self.port} is in use", "choose another with --mqtt-port, or stop what uses it")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(mosquitto_config(self.port, self.data_dir, self.extra_config))
        self.process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        preexec_fn=_die_with_parent)
        self.pid_file.write_text(f"{self.process.pid}\n")
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        wait_ready(self.process, lambda: port_in_use(self.port), self._why_exited, "mosquitto", STARTUP_TIMEOUT_S,
                   self.stop)

    def _why_exited(self) -> str:
        err = (self.process.stderr.read() if self.process and self.process.stderr else b"").decode(errors="replace")
        return (err + log_tail(self.data_dir / "mosquitto.log", 500)).strip()

    def stop(self, kill: bool = False) -> None:
        """Stop the broker (SIGTERM saves its persistence file; kill=True does not)."""
        stop_process(self.process, signal.SIGKILL if kill else signal.SIGTERM)
        self._close_pipe()
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()

    def _close_pipe(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()

    def reload(self) -> None:
        """SIGHUP: Mosquitto rereads its password and ACL files (a revoked device is out, no restart)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)
            time.sleep(0.2)

    def restart(self) -> None:
        """Stop and start again on the same port and data folder."""
        self.stop()
        self.process = None
        self.start()
