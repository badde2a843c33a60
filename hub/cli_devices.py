"""`hub devices issue|revoke|list|hub-credential|sync`: devices' MQTT identities (issue 16).

Each change rewrites the broker's password and ACL files (HUB_BROKER__AUTH_DIR, default <data_dir>/broker-auth),
sends SIGHUP to the broker named by its pid file (HUB_BROKER__PID_FILE, default the demo's
<data_dir>/mosquitto/mosquitto.pid) and is written to the audit log as `cli:<os user>`.
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import Any

from alerts.incidents.store import IncidentStore
from devices.credentials import HUB_USER, KINDS, Credentials
from devices.identities import BrokerFiles, DeviceIdentities, IdentityError, reserve_identities, write_provisioning
from devices.registry import Registry
from devices.statedb.postgres import open_state
from devices.statedb.sqlite import StateDB
from dispatch.disaster.resource_store import ResourceStore
from dispatch.responders import ResponderRegistry

Sub = Any


def add_devices(sub: Sub) -> None:
    """Register `hub devices` and its sub-commands."""
    p = sub.add_parser("devices", help="issue, revoke and list devices' MQTT credentials",
                       description="Devices' broker identities: each change rewrites the broker's password and ACL "
                       "files and reloads the broker (SIGHUP), with no client dropped; audited.")
    p.add_argument("--data-dir", type=Path, default=Path("data"), help="the hub's data folder (default data)")
    p.add_argument("--auth-dir", type=Path, help="broker password/ACL folder (env HUB_BROKER__AUTH_DIR, "
                   "default <data-dir>/broker-auth)")
    p.add_argument("--pid-file", type=Path, help="broker pid file to SIGHUP (env HUB_BROKER__PID_FILE, "
                   "default <data-dir>/mosquitto/mosquitto.pid)")
    act = p.add_subparsers(dest="action", required=True, metavar="ACTION", help="what to do")
    issue = act.add_parser("issue", help="issue a new password to a registered device, a responder's app, a "
                           "zigbee2mqtt bridge or a rescue team's device (shown once)")
    issue.add_argument("device_id", help="the registered device's (responder's, bridge's) id: its MQTT user name")
    issue.add_argument("--kind", choices=KINDS, default="device",
                       help="device (default): its own topics; responder: reads responders/ID/offer, writes "
                       "responders/ID/status; bridge: a zigbee2mqtt bridge with base topic zigbee2mqtt/ID, "
                       "reads and writes only below it; owntracks: an OwnTracks user, its phones publish "
                       "owntracks/ID/<device> (alias each with hub registry add-alias --source owntracks); "
                       "team: a registered rescue team's device, reads teams/ID/assignment, writes teams/ID/status")
    issue.add_argument("--out", type=Path, help="write a provisioning JSON file (mode 0600) instead of printing")
    issue.add_argument("--broker-url", default="", help="broker URL the device should use, put in the file")
    issue.add_argument("--ca-file", default="", help="CA file the device should trust, named in the file")
    issue.set_defaults(handler=cmd_issue)
    revoke = act.add_parser("revoke", help="revoke a device, responder app, bridge or team: refused by the broker, "
                            "ignored by the hub")
    revoke.add_argument("device_id", help="the device's (responder's, bridge's) id")
    revoke.set_defaults(handler=cmd_revoke)
    lst = act.add_parser("list", help="list devices' credentials as JSON lines (no secrets)")
    lst.set_defaults(handler=cmd_list)
    hub = act.add_parser("hub-credential", help=f"issue the hub's own broker password (user {HUB_USER!r})")
    hub.add_argument("--out", type=Path, help="write it to this file (mode 0600) instead of printing")
    hub.set_defaults(handler=cmd_hub_credential)
    sync = act.add_parser("sync", help="rewrite the broker's files from the credentials and reload it")
    sync.set_defaults(handler=cmd_sync)


def actor() -> str:
    """Who runs the command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _open(args: argparse.Namespace) -> tuple[StateDB, DeviceIdentities]:
    from hub.cli_commands import UserError, _guard
    from hub.settings import Settings

    settings = _guard(Settings)
    data_dir: Path = args.data_dir
    if not (data_dir / "state.sqlite").exists() and not settings.store.state_url:
        raise UserError(f"no hub data in {data_dir}; give the hub's --data-dir")
    db = open_state(data_dir, settings.store.state_url)
    registry = Registry(db)
    responders = ResponderRegistry(db)
    credentials = Credentials(db)

    def responder_ids() -> list[str]:
        return [r.responder_id for r in responders.all(active_only=False)]

    reserve_identities(registry, credentials, responder_ids)
    broker = BrokerFiles.with_pid_file(args.auth_dir or settings.broker.folder(data_dir),
                                       args.pid_file or settings.broker.pid(data_dir))
    audit = IncidentStore(db)
    return db, DeviceIdentities(credentials, registry, broker,
                                lambda who, action, detail: audit.audit(who, action, None, detail),
                                responder_ids=responder_ids, team_ids=ResourceStore(db).team_ids)


def _reload_note(reloaded: bool, identities: DeviceIdentities) -> str:
    folder = identities.broker.folder if identities.broker else "?"
    return "broker reloaded" if reloaded else f"broker files written to {folder}; no broker signalled (reload it)"


def _fail(exc: IdentityError) -> None:
    from hub.cli_commands import UserError

    raise UserError(str(exc)) from exc


def cmd_issue(args: argparse.Namespace) -> int:
    """Issue a device's password: printed once, or written to a provisioning file."""
    db, identities = _open(args)
    try:
        try:
            issued = identities.issue(args.device_id, actor(), kind=args.kind)
        except IdentityError as exc:
            _fail(exc)
        note = _reload_note(issued.broker_reloaded, identities)
        if args.out:
            write_provisioning(args.out, issued.provisioning(args.broker_url, args.ca_file))
            print(f"issued {issued.device_id}: provisioning file {args.out} ({note})")
        else:
            print(f"issued {issued.device_id} ({issued.kind}): username {issued.device_id} password {issued.password}")
            if issued.kind == "bridge":
                print(f"zigbee2mqtt configuration.yaml: mqtt.base_topic: zigbee2mqtt/{issued.device_id}")
            if issued.kind == "team":
                print(f"rescue team: assignments on teams/{issued.device_id}/assignment, progress on "
                      f"teams/{issued.device_id}/status")
            if issued.kind == "owntracks":
                print(f"OwnTracks app: user name {issued.device_id}; its phones publish owntracks/{issued.device_id}/"
                      "<device>")
            print(f"(shown once; {note})")
        return 0
    finally:
        db.close()


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke a device."""
    db, identities = _open(args)
    try:
        try:
            reloaded = identities.revoke(args.device_id, actor())
        except IdentityError as exc:
            _fail(exc)
        print(f"revoked {args.device_id} ({_reload_note(reloaded, identities)})")
        return 0
    finally:
        db.close()


def cmd_list(args: argparse.Namespace) -> int:
    """Devices' credentials, one JSON object a line, without secrets."""
    db, identities = _open(args)
    try:
        for entry in identities.list():
            print(json.dumps(entry))
        return 0
    finally:
        db.close()


def cmd_hub_credential(args: argparse.Namespace) -> int:
    """The hub's own password (for HUB_MQTT__URL=mqtt://hub:PASSWORD@broker:1883)."""
    db, identities = _open(args)
    try:
        password, reloaded = identities.issue_hub(actor())
        if args.out:
            write_provisioning(args.out, {"username": HUB_USER, "password": password})
            print(f"issued the hub's credential: {args.out} ({_reload_note(reloaded, identities)})")
        else:
            print(f"issued the hub's credential: username {HUB_USER} password {password}")
            print(f"(shown once; {_reload_note(reloaded, identities)})")
        return 0
    finally:
        db.close()


def cmd_sync(args: argparse.Namespace) -> int:
    """Rewrite the broker's files and reload it."""
    db, identities = _open(args)
    try:
        print(_reload_note(identities.sync(), identities))
        return 0
    finally:
        db.close()
