"""`hub registry import-home HOME_DIR`: register a home described in the shared layout (home.json, sensors.csv)
as a home with its resident and sensors, so the demo and a real deployment can use homes described this way.

Each sensor becomes a home sensor `<home_id>-<sensor_id>` of the kind the detectors give it when replaying the same
layout (alerts/eval/home_replay.py): motion, the front door as the door (room hall), the bed, and every other kind
(inner doors, cupboards, appliances, the flush, seats, unknown) as an activity sensor of its room. Ids that fire in
events.csv without a row in sensors.csv are registered as activity sensors too.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from alerts.eval.home_replay import LayoutError, Sensor, detector_kind, detector_room, read_events, read_sensors
from devices.records import DeviceRecord, Home, RegistryError, Resident
from devices.registry import Registry


def device_id(home_id: str, sensor_id: str) -> str:
    """The registry id of a layout sensor (unique across imported homes)."""
    return f"{home_id}-{sensor_id}"


def import_home(registry: Registry, root: Path, home_id: str | None = None, resident_id: str | None = None,
                lat: float | None = None, lon: float | None = None, village_id: str | None = None,
                replace: bool = False) -> tuple[Home, Resident, list[DeviceRecord]]:
    """Register the home of a layout folder, its resident and its sensors; returns what was registered."""
    root = Path(root)
    info_path = root / "home.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    sensors = read_sensors(root)
    known = {s.sensor_id for s in sensors}
    if (root / "events.csv").is_file():
        extra = sorted({e.sensor_id for e in read_events(root)} - known)
        sensors += [Sensor(i, "unknown", "unknown", False) for i in extra]
    hid = home_id or root.name
    home = Home(hid, str(info.get("address") or f"imported from {root.name}"),
                float(lat if lat is not None else info.get("lat", 0.0)),
                float(lon if lon is not None else info.get("lon", 0.0)), village_id)
    resident = Resident(resident_id or f"{hid}-resident", str(info.get("name") or f"resident of {hid}"), hid,
                        lives_alone=int(bool(info.get("lives_alone", False))))
    devices = [DeviceRecord(device_id(hid, s.sensor_id), "home_sensor", detector_kind(s).value, home_id=hid,
                            room=detector_room(s)) for s in sensors]
    for d in devices:
        d.check_binding()
    registry.add_home(home, replace=replace)
    registry.add_resident(resident, replace=replace)
    for d in devices:
        registry.add_device(d, replace=replace)
    return home, resident, devices


def add_import_home(reg: Any) -> None:
    """Register `hub registry import-home` on the registry's sub-parsers."""
    p = reg.add_parser("import-home", help="register a home folder (home.json, sensors.csv) with its sensors",
                       description=__doc__.splitlines()[0])
    p.add_argument("home_dir", type=Path, help="the home folder")
    p.add_argument("--home-id", help="registry id of the home (default: the folder's name)")
    p.add_argument("--resident-id", help="registry id of the resident (default: <home-id>-resident)")
    p.add_argument("--lat", type=float, help="latitude (default: home.json's, else 0)")
    p.add_argument("--lon", type=float, help="longitude (default: home.json's, else 0)")
    p.add_argument("--village-id", help="the registered village of the home")
    p.add_argument("--replace", action="store_true", help="replace records of the same ids")
    p.set_defaults(handler=cmd_import_home)


def cmd_import_home(args: argparse.Namespace) -> int:
    """Import one home folder into the registry of the data folder."""
    from hub.cli_commands import UserError
    from hub.cli_registry import _registry

    try:
        home, resident, devices = import_home(_registry(args), args.home_dir, args.home_id, args.resident_id,
                                              args.lat, args.lon, args.village_id, args.replace)
    except (LayoutError, RegistryError, OSError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    kinds: dict[str, int] = {}
    for d in devices:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    print(json.dumps({"home": asdict(home), "resident_id": resident.resident_id, "devices": len(devices),
                      "kinds": kinds}))
    return 0
