"""`hub export`: a device's or a resident's readings over [start, end) to a CSV or Parquet file.

DuckDB lets one process write a file and nobody else open it meanwhile, so the CLI opens the telemetry file
read-only and only while no hub holds it; with the hub running it says so in one line and points at the hub's
`GET /api/export`, which serves the same table from the running process.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.cli_commands import UserError
from ingest.store.base import METRICS, StoredReading
from ingest.store.export import MAX_ROWS_PER_DEVICE, devices_of, serialise, to_table

_SELECT = f"SELECT device_id, family, ts, seq, {', '.join(METRICS)} FROM readings"


def add_export(sub: Any) -> None:
    """Register `hub export`."""
    p = sub.add_parser(
        "export",
        help="export readings of a device or a resident to CSV or Parquet",
        description="Export readings over [start, end) from a data folder whose hub is stopped "
        "(with the hub running, use GET /api/export).",
    )
    p.add_argument("--data-dir", type=Path, default=Path("data"), help="the hub's data folder (default data)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--device", help="one device id")
    who.add_argument("--resident", help="a resident id: their wearables and their home's sensors")
    p.add_argument("--start", required=True, type=_when, help="start, epoch s or ISO 8601 (UTC if no offset)")
    p.add_argument("--end", required=True, type=_when, help="end (exclusive), epoch s or ISO 8601")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv", help="file format (default csv)")
    p.add_argument("--out", type=Path, required=True, help="the file to write")
    p.set_defaults(handler=cmd_export)


def _when(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is neither epoch seconds nor ISO 8601") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _read(path: Path, devices: list[str], start: float, end: float) -> list[StoredReading]:
    if not path.exists():
        raise UserError(f"no telemetry store at {path}; is --data-dir the hub's data folder?")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        raise UserError(
            f"{path} is locked by a running hub; export through its API (GET /api/export) or stop the hub first"
        ) from exc
    try:
        sql = f"{_SELECT} WHERE device_id = ? AND ts >= ? AND ts < ? ORDER BY ts, seq LIMIT ?"
        rows = [row for d in devices for row in con.execute(sql, [d, start, end, MAX_ROWS_PER_DEVICE]).fetchall()]
    finally:
        con.close()
    return [
        StoredReading(
            str(r[0]),
            str(r[1]),
            float(r[2]),
            int(r[3]),
            {m: float(v) for m, v in zip(METRICS, r[4:], strict=True) if v is not None},
        )
        for r in sorted(rows, key=lambda r: (r[2], r[0], r[3]))
    ]


def cmd_export(args: argparse.Namespace) -> int:
    """Write the readings to --out and say how many."""
    if args.start >= args.end:
        raise UserError("--start must be before --end")
    db = StateDB(args.data_dir / "state.sqlite")
    try:
        devices = devices_of(Registry(db), args.device, args.resident)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    finally:
        db.close()
    readings = _read(args.data_dir / "telemetry.duckdb", devices, args.start, args.end)
    args.out.write_bytes(serialise(to_table(readings), args.format))
    print(f"wrote {len(readings)} readings of {len(devices)} device(s) to {args.out}")
    return 0
