"""The demo's broker identities (issue 16): no anonymous access, a credential for the hub and every simulated device.

Before its Mosquitto starts, `hub demo` registers the community, issues a fresh password to the hub and to every
simulated device that is not revoked (a device revoked with `hub devices revoke` stays revoked across demo runs:
the simulator then connects it without a password and the broker refuses it), and writes the broker's password and
ACL files. The passwords live only in this process's memory (the simulator's "devices"); the state database keeps
Mosquitto's hashes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from alerts.incidents.store import IncidentStore
from devices.credentials import HUB_USER, Credentials
from devices.identities import DeviceIdentities
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from simulators.community import Community


@dataclass(frozen=True)
class DemoIdentities:
    """The hub's password, each simulated device's (None when revoked), and the broker's files."""

    hub_password: str
    devices: dict[str, str | None]
    passwords_file: Path
    acl_file: Path

    def password(self, device_id: str) -> str | None:
        """The simulator's lookup."""
        return self.devices.get(device_id)


def prepare(data_dir: Path, community: Community, auth_dir: Path, responder_ids: Iterable[str] = ()) -> DemoIdentities:
    """Register the community, issue the credentials (devices, and the simulated responder apps), write the
    broker's files."""
    db = StateDB(data_dir / "state.sqlite")
    try:
        registry = Registry(db)
        community.register(registry)
        creds = Credentials(db)
        revoked = {str(e["username"]) for e in creds.entries() if e["revoked"]}
        for device_id in revoked:
            registry.set_active(device_id, False)  # re-registering the community must not undo a revocation
        hub_password = creds.issue(HUB_USER)
        devices: dict[str, str | None] = {
            d.device_id: None if d.device_id in revoked else creds.issue(d.device_id) for d in community.devices}
        devices.update({r: None if r in revoked else creds.issue(r, kind="responder")  # their apps' logins
                        for r in responder_ids})
        passwords, acl = creds.write_broker_files(auth_dir)
        issued = sum(p is not None for p in devices.values())
        detail = {"devices": issued, "revoked": len(revoked)}
        IncidentStore(db).audit("hub demo", "demo_credentials_issued", None, detail)
        return DemoIdentities(hub_password, devices, passwords, acl)
    finally:
        db.close()


def issue_team_devices(identities: DeviceIdentities | None, team_ids: Iterable[str], ids: DemoIdentities,
                       actor: str = "hub demo") -> tuple[str, ...]:  # fmt: skip
    """Issue 14: a `team` credential for each of the demo's rescue teams, so their simulated devices follow their
    missions over MQTT (`simulators/teams.py`); a team revoked with `hub devices revoke` stays revoked (its device is
    then refused by the broker). Returns the teams to simulate; their passwords go to the simulator's lookup."""
    if identities is None:
        return ()
    revoked = {str(e["device_id"]) for e in identities.list() if e["revoked"]}
    teams = tuple(sorted(team_ids))
    for team_id in teams:
        ids.devices[team_id] = None if team_id in revoked else identities.issue(team_id, actor, kind="team").password
    return teams
