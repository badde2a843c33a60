"""A private certificate authority and a broker certificate made with the `openssl` command (issue 16).

For the demo's TLS device listener and for the tests: a production broker uses the organisation's certificates
(SECURITY.md). Keys are written with mode 0600.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hub.processes import BrokerError

DAYS = "825"


@dataclass(frozen=True)
class TlsFiles:
    """A CA certificate, and a certificate and key signed by it."""

    ca: Path
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise BrokerError("openssl not found", "install it (Debian package openssl) or give --tls-cert/--tls-key")
    done = subprocess.run([binary, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BrokerError(f"openssl {args[0]} failed: {done.stderr.strip()[-300:]}", "check the TLS folder")


def _san(hosts: list[str]) -> str:
    entries = []
    for host in hosts:
        try:
            ipaddress.ip_address(host)
            entries.append(f"IP:{host}")
        except ValueError:
            entries.append(f"DNS:{host}")
    return "subjectAltName=" + ",".join(dict.fromkeys(entries))


def make_ca(folder: Path, name: str = "hub-demo-ca") -> tuple[Path, Path]:
    """A self-signed CA (certificate, key) in `folder`, made once and kept."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "ca.crt", folder / "ca.key"
    if not cert.exists() or not key.exists():
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", DAYS, "-subj", f"/CN={name}",
                 "-keyout", str(key), "-out", str(cert), "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        key.chmod(0o600)
    return cert, key


def issue_cert(folder: Path, name: str, ca: tuple[Path, Path], hosts: list[str] | None = None,
               client: bool = False) -> TlsFiles:
    """A certificate for `name` signed by the CA: a server's (with the hosts as subjectAltName) or a client's."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key, csr = folder / f"{name}.crt", folder / f"{name}.key", folder / f"{name}.csr"
    ext = folder / f"{name}.ext"
    usage = "clientAuth" if client else "serverAuth"
    ext.write_text("\n".join([f"extendedKeyUsage={usage}", *([_san(hosts)] if hosts else [])]) + "\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(csr))
    key.chmod(0o600)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
             "-days", DAYS, "-out", str(cert), "-extfile", str(ext))
    csr.unlink()
    ext.unlink()
    return TlsFiles(ca[0], cert, key)


def demo_server_files(folder: Path, host: str) -> TlsFiles:
    """The demo's CA and a broker certificate for `host` (and localhost, 127.0.0.1), kept across runs."""
    ca = make_ca(folder)
    cert, key = folder / "broker.crt", folder / "broker.key"
    if cert.exists() and key.exists():
        return TlsFiles(ca[0], cert, key)
    hosts = ["localhost", "127.0.0.1"] + ([host] if host and host not in ("0.0.0.0", "::") else [])
    return issue_cert(folder, "broker", ca, hosts)
