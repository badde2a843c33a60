"""Start and stop a private Kannel SMS gateway (Debian packages `kannel`, `kannel-extras`) for `hub demo` and tests.

bearerbox (the core) + smsbox (the HTTP `sendsms` interface) + fakesmsc (kannel-extras' fake SMS centre, which
connects to bearerbox and prints every message it gets) on free ports of 127.0.0.1, with the config written to a
fresh temp folder. `received()` reads what arrived at the fake SMSC, UCS-2 decoded back to text.
"""

from __future__ import annotations

import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes

from hub.broker import BrokerError, _die_with_parent, free_port, port_in_use
from hub.processes import log_tail, stop_process, wait_ready

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
STARTUP_TIMEOUT_S = 15.0
_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>$")


def available() -> bool:
    """True when the Kannel binaries (and the fake SMSC) are installed."""
    return all(p.exists() for p in (BEARERBOX, SMSBOX, FAKESMSC))


@dataclass(frozen=True, slots=True)
class FakeSms:
    """One message as the fake SMSC received it."""

    sender: str
    receiver: str
    coding: str  # text | ucs-2 | data
    text: str


def parse_fakesmsc(line: str) -> FakeSms | None:
    """A `Got message N: <from to type data>` line of fakesmsc's output (UCS-2 is url-encoded UTF-16BE)."""
    found = _GOT.search(line.strip())
    if not found:
        return None
    sender, receiver, coding, data = found.groups()
    raw = unquote_to_bytes(data.replace("+", " "))
    text = raw.decode("utf-16-be", errors="replace") if coding == "ucs-2" else raw.decode("utf-8", errors="replace")
    return FakeSms(unquote_to_bytes(sender).decode(), unquote_to_bytes(receiver).decode(), coding, text)


def kannel_config(root: Path, ports: dict[str, int], password: str, sender: str) -> str:
    """The generated kannel.conf: core, one fake SMSC, smsbox and the hub's sendsms user."""
    return f"""group = core
admin-port = {ports['admin']}
admin-interface = 127.0.0.1
admin-password = {password}
smsbox-port = {ports['smsbox']}
box-allow-ip = 127.0.0.1
log-file = {root}/bearerbox.log
log-level = 1
access-log = {root}/access.log
dlr-storage = internal
store-type = file
store-location = {root}/store

group = smsc
smsc = fake
smsc-id = fake
port = {ports['smsc']}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports['smsbox']}
sendsms-port = {ports['sendsms']}
sendsms-interface = 127.0.0.1
log-file = {root}/smsbox.log
log-level = 1
global-sender = {sender}

group = sendsms-user
username = hub
password = {password}
concatenation = true
max-messages = 10
"""


@dataclass
class Kannel:
    """A private bearerbox + smsbox + fakesmsc; `sendsms_url` is where the hub sends."""

    sender: str = "12349"
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hub-kannel-")))
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def sendsms_url(self) -> str:
        """Kannel's HTTP sendsms interface."""
        return f"http://127.0.0.1:{self.ports['sendsms']}/cgi-bin/sendsms"

    @property
    def username(self) -> str:
        """The sendsms user."""
        return "hub"

    def start(self) -> Kannel:
        """Write the config and start the three processes; wait until sendsms answers and the SMSC is connected."""
        if not available():
            raise BrokerError("Kannel not found", "run scripts/setup (installs Debian's kannel and kannel-extras)")
        if not self.ports:
            self.ports = {name: free_port() for name in ("admin", "smsbox", "smsc", "sendsms")}
        conf = self.root / "kannel.conf"
        conf.write_text(kannel_config(self.root, self.ports, self.password, self.sender))
        self._spawn("bearerbox", [str(BEARERBOX), str(conf)], lambda: port_in_use(self.ports["smsbox"]))
        self._spawn("smsbox", [str(SMSBOX), str(conf)], lambda: port_in_use(self.ports["sendsms"]))
        self._spawn("fakesmsc", [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(self.ports["smsc"]), "-m", "0",
                                 "1 2 text none"], self._smsc_online)
        return self

    def _spawn(self, name: str, cmd: list[str], ready: Callable[[], bool]) -> None:
        log = (self.root / f"{name}.out").open("ab")
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                                   preexec_fn=_die_with_parent)  # no gateway left behind by a killed demo
        log.close()
        self.processes[name] = process
        wait_ready(process, ready, lambda: log_tail(self.root / f"{name}.out"), name, STARTUP_TIMEOUT_S,
                   self.stop, poll_s=0.05)

    def _smsc_online(self) -> bool:
        return "Fakesmsc client connected" in log_tail(self.root / "bearerbox.log", 20000)

    def received(self) -> list[FakeSms]:
        """Every message the fake SMSC got so far, oldest first."""
        path = self.root / "fakesmsc.out"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return [m for m in map(parse_fakesmsc, lines) if m is not None]

    def wait_received(self, count: int, timeout_s: float = 10.0) -> list[FakeSms]:
        """Wait until the fake SMSC got at least `count` messages; returns them all."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.received()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return self.received()

    def log_tails(self) -> dict[str, str]:
        """The end of each process's log (for a failing test's message)."""
        names = ("bearerbox.log", "smsbox.log", "fakesmsc.out")
        return {name: log_tail(self.root / name, 1500) for name in names}

    def stop_smsbox(self) -> None:
        """Stop the HTTP interface only (the gateway "down" for the hub)."""
        stop_process(self.processes.pop("smsbox", None), signal.SIGTERM, grace_s=5)

    def start_smsbox(self) -> None:
        """Start the HTTP interface again."""
        self._spawn("smsbox", [str(SMSBOX), str(self.root / "kannel.conf")],
                    lambda: port_in_use(self.ports["sendsms"]))

    def stop(self, remove: bool = True) -> None:
        """Stop all three (smsbox and fakesmsc first), then remove the folder."""
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            stop_process(self.processes.pop(name, None), signal.SIGTERM, grace_s=5)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)
