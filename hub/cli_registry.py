"""`hub registry ...`: register and list villages, homes, residents and devices in a data folder."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from alerts.incidents.store import IncidentStore
from dashboard.privacy import masked
from devices.aliases import Alias, AliasBook
from devices.credentials import Credentials
from devices.identities import reserve_identities
from devices.models import Family
from devices.records import DeviceRecord, Home, RegistryError, Resident, Village
from devices.registry import Registry
from devices.statedb.postgres import open_state
from devices.statedb.sqlite import StateDB
from dispatch.disaster.stations import COLUMNS as STATION_COLUMNS
from dispatch.disaster.stations import StationStore
from dispatch.disaster.stations import parse_csv as parse_stations_csv
from dispatch.responders import ResponderRegistry
from hub import cli_import_home
from hub.cli_commands import UserError, demo_community
from hub.cli_devices import actor

Sub = Any


def add_registry(sub: Sub) -> None:
    """Register `hub registry` and its sub-commands."""
    p = sub.add_parser("registry", help="register and list residents, homes, devices and villages",
                       description="Edit the registry in a data folder (the hub picks changes up without restart).")
    p.add_argument("--data-dir", type=Path, default=Path("data"), help="the hub's data folder (default data)")
    reg = p.add_subparsers(dest="action", required=True, metavar="ACTION", help="what to do in the registry")
    lst = reg.add_parser("list", help="list one kind of record as JSON lines")
    lst.add_argument("what", choices=["villages", "homes", "residents", "devices", "aliases"], help="which records")
    lst.set_defaults(handler=cmd_list)
    seed = reg.add_parser("seed", help="register the simulated community (same options as hub simulate)")
    seed.add_argument("--residents", type=int, default=200, help="simulated residents (default 200)")
    seed.add_argument("--terminals", type=int, default=20, help="disaster terminals (default 20)")
    seed.add_argument("--seed", type=int, default=7, help="community seed (default 7)")
    seed.set_defaults(handler=cmd_seed)
    _add_record(reg, "add-village", Village, "a village (for report roll-ups)")
    _add_record(reg, "add-home", Home, "a home")
    _add_record(reg, "add-resident", Resident, "a resident in a registered home")
    _add_record(reg, "add-device", DeviceRecord, "a device: wearable->resident, home_sensor->home, terminal->village")
    alias = reg.add_parser("add-alias", help="map a zigbee2mqtt friendly name or an OwnTracks user/device to a device")
    alias.add_argument("--source", required=True, choices=["zigbee2mqtt", "owntracks"], help="the client publishing")
    alias.add_argument("--external-id", required=True, help="friendly name, or '<user>/<device>' for OwnTracks")
    alias.add_argument("--device-id", required=True, help="the registered device it is (home sensor / wearable)")
    alias.add_argument("--bridge", default="", help="zigbee2mqtt: the issued bridge it is heard on (its base topic "
                       "zigbee2mqtt/<bridge>; hub devices issue BRIDGE --kind bridge)")
    alias.add_argument("--replace", action="store_true", help="move an existing alias to this device")
    alias.set_defaults(handler=cmd_add_alias)
    rm = reg.add_parser("remove-alias", help="forget an alias: its messages are refused from then on")
    rm.add_argument("--source", required=True, choices=["zigbee2mqtt", "owntracks"], help="the client publishing")
    rm.add_argument("--external-id", required=True, help="friendly name, or '<user>/<device>' for OwnTracks")
    rm.add_argument("--bridge", default="", help="zigbee2mqtt: the bridge the name is bound to")
    rm.set_defaults(handler=cmd_remove_alias)
    cli_import_home.add_import_home(reg)
    stations = reg.add_parser(
        "import-stations", help="import per-station warning thresholds from CSV (issue 14)",
        description="Each river gauge's warning and guarantee levels, each rain gauge's 1 h / 3 h / 24 h and each "
        "landslide sensor's displacement thresholds. Columns: " + ", ".join(STATION_COLUMNS) + "; a rain or "
        "displacement cell is four thresholds blue/yellow/orange/red, e.g. 20/30/50/70; an empty cell keeps the "
        "kind's default. Every bad line is named; nothing is imported while one is bad unless --skip-bad.")
    stations.add_argument("file", type=Path, help="the CSV file (UTF-8, a header line first)")
    stations.add_argument("--skip-bad", action="store_true", help="import the good lines even when some are bad")
    stations.add_argument("--state-url", default="", help="the shared PostgreSQL state database, when the hub uses "
                          "one (HUB_STORE__STATE_URL); default: the SQLite file in --data-dir")
    stations.set_defaults(handler=cmd_import_stations)


def _add_record(reg: Sub, name: str, cls: type[Any], what: str) -> None:
    p = reg.add_parser(name, help=f"register {what}")
    for field in cls.__dataclass_fields__.values():
        required = field.default is field.default_factory  # dataclasses.MISSING in both when no default
        kind = {"float": float, "int": int, "float | None": float}.get(str(field.type), str)
        p.add_argument(f"--{field.name.replace('_', '-')}", dest=field.name, type=kind, required=required,
                       help=field.name + (" (required)" if required else f" (default {field.default!r})"))
    p.set_defaults(handler=cmd_add, record_cls=cls)


def _registry(args: argparse.Namespace) -> Registry:
    registry = Registry(StateDB(args.data_dir / "state.sqlite"))
    responders = ResponderRegistry(registry.db)  # issue 16: a responder's or a bridge's id is not a device's
    reserve_identities(registry, Credentials(registry.db),
                       lambda: [r.responder_id for r in responders.all(active_only=False)])
    return registry


def cmd_add(args: argparse.Namespace) -> int:
    """Insert one record."""
    cls = args.record_cls
    values = {k: getattr(args, k) for k in cls.__dataclass_fields__ if getattr(args, k) is not None}
    record = cls(**values)
    registry = _registry(args)
    adders: dict[type, Callable[[Any], object]] = {
        Village: registry.add_village, Home: registry.add_home, Resident: registry.add_resident,
        DeviceRecord: registry.add_device}
    try:
        adders[cls](record)
    except RegistryError as exc:  # a duplicate id, a binding to nothing, a reserved id (issue 16)
        raise UserError(str(exc)) from exc
    print(json.dumps(masked(record) if cls is Resident else asdict(record)))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print records as JSON lines (residents masked)."""
    registry = _registry(args)
    if args.what == "aliases":
        for row in AliasBook(registry.db).entries():
            print(json.dumps(asdict(row)))
        return 0
    listings: dict[str, Callable[[], list[Any]]] = {
        "villages": registry.villages, "homes": registry.homes, "residents": registry.residents,
        "devices": registry.list_devices}
    rows = listings[args.what]()
    for row in rows:
        print(json.dumps(masked(row) if args.what == "residents" else asdict(row)))
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    """Register the seeded simulated community."""
    community = demo_community(args)
    community.register(_registry(args))
    counts = {f.value: len(community.of_family(f)) for f in Family}
    print(f"registered {len(community.residents)} residents, devices {counts}")
    return 0


def cmd_import_stations(args: argparse.Namespace) -> int:
    """Import station thresholds; one error line per bad CSV line (exit 1 when any, nothing imported unless
    --skip-bad)."""
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {args.file}: {exc}") from exc
    registry = Registry(open_state(args.data_dir, args.state_url)) if args.state_url else _registry(args)
    known = {d.device_id for d in registry.list_devices() if d.family == Family.TERMINAL.value}
    good, errors = parse_stations_csv(text, known)
    for err in errors:
        print(f"{args.file}:{err}", file=sys.stderr)
    if errors and not args.skip_bad:
        print(f"nothing imported: {len(errors)} bad line(s) (fix them, or pass --skip-bad)", file=sys.stderr)
        return 1
    who, now = actor(), time.time()
    count = StationStore(registry.db).save(replace(s, updated_by=who, updated_at=now) for s in good)
    IncidentStore(registry.db).audit(who, "stations_imported", None,  # issue 14: every change attributed
                                     {"file": str(args.file), "stations": sorted(s.station_id for s in good)})
    print(f"imported thresholds of {count} station(s)" + (f", skipped {len(errors)} bad line(s)" if errors else ""))
    return 1 if errors else 0


def cmd_add_alias(args: argparse.Namespace) -> int:
    """Register an external identity of a device (issue 9)."""
    alias = Alias(args.source, args.external_id, args.device_id, args.bridge)
    db = _registry(args).db
    try:
        AliasBook(db).add(alias, replace=args.replace)
    except RegistryError as exc:
        raise UserError(str(exc)) from exc
    IncidentStore(db).audit(actor(), "alias_added", None, {**asdict(alias), "replace": args.replace})  # issue 16
    print(json.dumps(asdict(alias)))
    return 0


def cmd_remove_alias(args: argparse.Namespace) -> int:
    """Forget an external identity (issue 16: audited)."""
    db = _registry(args).db
    if not AliasBook(db).remove(args.source, args.external_id, args.bridge):
        raise UserError(f"no alias {args.source}:{args.external_id!r}" + (f" on bridge {args.bridge!r}"
                                                                           if args.bridge else ""))
    detail = {"source": args.source, "external_id": args.external_id, "bridge": args.bridge}
    IncidentStore(db).audit(actor(), "alias_removed", None, detail)
    print(json.dumps({**detail, "status": "removed"}))
    return 0
