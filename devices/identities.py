"""Device identities in the product (issue 16): issue, revoke and list devices' MQTT credentials.

One service used by `hub devices ...`, the admin API and the demo: a credential is issued only to a registered
device whose id is not reserved (the hub's own user, responders' ids); every change rewrites the broker's password
and ACL files, reloads the broker (SIGHUP, which keeps every other client connected), marks the device active or
inactive in the registry (the hub drops a revoked device's messages from its next batch) and is written to the
audit log with who did it.

Measured with Mosquitto 2.0.11 (tests/devices/test_identities.py): after the SIGHUP the broker refuses the revoked
device's next CONNECT (CONNACK "not authorised") and closes its live connection itself, so the reload is enough;
the registry's inactive flag is the second line should a broker keep the session.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices.credentials import HUB_USER, KINDS, Credentials, Kind
from devices.registry import RESERVED, Registry

logger = logging.getLogger(__name__)
DEVICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # what the registry's API admits; no MQTT wildcard or '/'
Audit = Callable[[str, str, dict[str, Any]], None]  # actor, action, detail
NOT_BRIDGES = frozenset({"bridge"})  # zigbee2mqtt's own `<base>/bridge/...` topics; never a bridge's id


def reserve_identities(registry: Registry, credentials: Credentials, responder_ids: Callable[[], list[str]]) -> None:
    """No device may be registered under a responder's, a bridge's or a team's id (it would get their broker
    identity)."""
    registry.reserved_ids.append(responder_ids)
    registry.reserved_ids.append(lambda: credentials.usernames("bridge") + credentials.usernames("owntracks")
                                 + credentials.usernames("team"))


class IdentityError(ValueError):
    """A credential cannot be issued or revoked; `status` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Issued:
    """A credential just issued: the password exists only here (and in the device)."""

    device_id: str
    password: str
    issued_at: float
    broker_reloaded: bool
    kind: Kind = "device"

    def provisioning(self, broker_url: str = "", ca_file: str = "") -> dict[str, Any]:
        """The provisioning document written to the device (`hub devices issue ID --out FILE`)."""
        doc: dict[str, Any] = {"device_id": self.device_id, "username": self.device_id, "password": self.password,
                               "client_id": self.device_id, "issued_at": self.issued_at, "kind": self.kind}
        if self.kind == "bridge":  # zigbee2mqtt's configuration.yaml: mqtt.base_topic
            doc["base_topic"] = f"zigbee2mqtt/{self.device_id}"
        if self.kind == "owntracks":  # the app's user name; each phone's device name is its own
            doc["base_topic"] = f"owntracks/{self.device_id}"
        if self.kind == "team":  # issue 14: where its assignments come and where it reports its progress
            doc["assignment_topic"] = f"teams/{self.device_id}/assignment"
            doc["status_topic"] = f"teams/{self.device_id}/status"
        if broker_url:
            doc["broker_url"] = broker_url
        if ca_file:
            doc["ca_file"] = ca_file
        return doc


def reload_by_pid_file(pid_file: Path) -> bool:
    """SIGHUP the Mosquitto whose pid is in `pid_file`; False when there is none (or it is not a mosquitto)."""
    try:
        pid = int(pid_file.read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return False
    if comm != "mosquitto":  # a stale pid file whose number now belongs to another process
        logger.warning("pid file %s names process %d (%s), not mosquitto; not signalled", pid_file, pid, comm)
        return False
    os.kill(pid, signal.SIGHUP)
    return True


@dataclass
class BrokerFiles:
    """Where the broker's password and ACL files are written, and how the broker is told to reread them."""

    folder: Path
    reload: Callable[[], bool] = lambda: False  # True when a broker was signalled

    @classmethod
    def with_pid_file(cls, folder: Path, pid_file: Path | None) -> BrokerFiles:
        """Reload by SIGHUP to the pid in `pid_file` (the demo's Mosquitto writes one; so does a system one)."""
        return cls(folder, (lambda: reload_by_pid_file(pid_file)) if pid_file is not None else (lambda: False))


@dataclass
class DeviceIdentities:
    """Issue, revoke and list device credentials, keeping the broker, the registry and the audit log in step."""

    credentials: Credentials
    registry: Registry
    broker: BrokerFiles | None = None
    audit: Audit | None = None
    settle_s: float = 0.2  # after the SIGHUP: the broker has reread its files when issue/revoke return
    responder_ids: Callable[[], list[str]] = list  # the registered responders (dispatch floor, given by the hub)
    team_ids: Callable[[], list[str]] = list  # the registered rescue teams (issue 14, given by the hub)

    def issue(self, device_id: str, actor: str, password: str | None = None, kind: Kind = "device") -> Issued:
        """A new password for a registered device (replacing any earlier one; a revoked device is active again),
        a registered responder's app, a zigbee2mqtt bridge (base topic `zigbee2mqtt/<id>`) or an OwnTracks user
        (its phones publish `owntracks/<id>/<device>`) or a registered rescue team's device (issue 14: reads
        `teams/<id>/assignment`, writes `teams/<id>/status`)."""
        if kind not in KINDS:
            raise IdentityError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        before = self.credentials.kind(device_id)
        if before is not None and before != kind:
            raise IdentityError(f"{device_id!r} is already issued as a {before}, not a {kind}", 409)
        registered = device_id in {d.device_id for d in self.registry.list_devices()}
        if kind == "device":
            self._check_id(device_id)
            if not registered:
                raise IdentityError(f"device {device_id!r} is not registered; register it first", 404)
        else:
            self._check_format(device_id)
            if device_id.lower() in RESERVED or device_id in NOT_BRIDGES or registered:
                raise IdentityError(f"{device_id!r} is the hub's user, a reserved name or a device's id", 409)
            is_responder = device_id in set(self.responder_ids())
            if kind == "responder" and not is_responder:
                raise IdentityError(f"responder {device_id!r} is not registered; add the responder first", 404)
            if kind != "responder" and is_responder:
                raise IdentityError(f"{device_id!r} is a responder's id, not a {kind}", 409)
            is_team = device_id in set(self.team_ids())
            if kind == "team" and not is_team:
                raise IdentityError(f"team {device_id!r} is not registered; register the team first", 404)
            if kind != "team" and is_team:
                raise IdentityError(f"{device_id!r} is a team's id, not a {kind}", 409)
        secret = self.credentials.issue(device_id, password, kind)
        if kind == "device":
            self.registry.set_active(device_id, True)
        reloaded = self.sync()
        action = "device_credential_issued" if kind == "device" else f"{kind}_credential_issued"
        self._audit(actor, action, {"device_id": device_id, "kind": kind, "broker_reloaded": reloaded})
        return Issued(device_id, secret, time.time(), reloaded, kind)

    def issue_hub(self, actor: str, password: str | None = None) -> tuple[str, bool]:
        """The hub's own broker password (user `hub`), and whether a broker was reloaded."""
        secret = self.credentials.issue(HUB_USER, password)
        reloaded = self.sync()
        self._audit(actor, "hub_credential_issued", {"broker_reloaded": reloaded})
        return secret, reloaded

    def revoke(self, device_id: str, actor: str) -> bool:
        """Revoke a device, responder app, bridge or team: the broker refuses it from the reload on, the hub drops a
        device's messages; the broker reload's outcome is returned (False: the files are written but no broker was
        signalled)."""
        kind = self.credentials.kind(device_id)
        if kind in (None, "device"):
            self._check_id(device_id)
        else:
            self._check_format(device_id)
        had_credential = self.credentials.revoke(device_id)
        registered = device_id in {d.device_id for d in self.registry.list_devices()}
        if not had_credential and not registered:
            raise IdentityError(f"device {device_id!r} has no credential and is not registered", 404)
        if registered:
            self.registry.set_active(device_id, False)
        reloaded = self.sync()
        action = "device_credential_revoked" if kind in (None, "device") else f"{kind}_credential_revoked"
        self._audit(actor, action, {"device_id": device_id, "kind": kind or "device", "broker_reloaded": reloaded})
        return reloaded

    def list(self) -> list[dict[str, Any]]:
        """Every device credential (never a hash nor a password), with the device's registry state."""
        devices = {d.device_id: d for d in self.registry.list_devices()}
        out = []
        for entry in self.credentials.entries():
            name = str(entry["username"])
            if name.lower() in RESERVED:  # the hub's own credential is not a device's
                continue
            device = devices.get(name)
            out.append({"device_id": name, **{k: v for k, v in entry.items() if k != "username"},
                        "registered": device is not None, "active": bool(device.active) if device else False,
                        "family": device.family if device else None})
        return out

    def sync(self) -> bool:
        """Write the broker's files from the credentials and reload the broker; True when one was signalled."""
        if self.broker is None:
            return False
        self.credentials.write_broker_files(self.broker.folder)
        reloaded = False
        try:
            reloaded = self.broker.reload()
        except OSError as exc:  # e.g. the broker runs as another user: say so, the files are written
            logger.warning("broker files written to %s but the broker could not be reloaded: %s",
                           self.broker.folder, exc)
        if reloaded and self.settle_s:
            time.sleep(self.settle_s)
        return reloaded

    def _check_format(self, device_id: str) -> None:
        if not DEVICE_ID.match(device_id):
            raise IdentityError(f"invalid id {device_id!r}: letters, digits and _ . : - only")

    def _check_id(self, device_id: str) -> None:
        self._check_format(device_id)
        if self.registry.is_reserved(device_id):
            raise IdentityError(f"{device_id!r} is reserved (the hub's own user or a responder), not a device", 409)

    def _audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        if self.audit is not None:
            self.audit(actor, action, detail)


def write_provisioning(path: Path, doc: dict[str, Any]) -> None:
    """Write a provisioning file readable by its owner only (it holds the password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(doc, out, indent=2)
        out.write("\n")

