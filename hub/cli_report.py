"""`hub report monthly --month YYYY-MM [--township CODE ...] --out DIR`: the month's report (月报) as XLSX and PDF.

It reads the hub's state database (the data folder's SQLite, or PostgreSQL from HUB_STORE__STATE_URL) with the
statistics engine's targets (HUB_INSIGHTS__TARGETS), so the files hold the same figures as the /insights page. The
fleet figures read the telemetry store (HUB_STORE__*); while a running hub holds the embedded DuckDB file they are left
out (shown as unknown) and the command says so on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from devices.i18n import hub_language
from devices.registry import Registry
from devices.statedb.postgres import open_state
from dispatch.insights.engine import Insights, PeriodError
from dispatch.insights.monthly import monthly_report
from dispatch.insights.monthly_files import write_files
from dispatch.insights.monthly_pdf import FontMissing
from dispatch.insights.places import Townships, UnknownTownship
from hub.app import open_store
from hub.settings import Settings
from ingest.store.base import StoreError, TimeSeriesStore


def add_report(sub: Any) -> None:
    """Register `hub report`."""
    p = sub.add_parser("report", help="the bureau's reports (monthly: XLSX and PDF)",
                       description="hub report monthly --month 2026-11 [--township 暮云镇] --out reports/")
    p.add_argument("kind", choices=["monthly"], help="which report")
    p.add_argument("--month", required=True, help="the month, YYYY-MM (local calendar)")
    p.add_argument("--township", action="append", default=[], help="limit to this township (code or name; repeat)")
    p.add_argument("--out", type=Path, required=True, help="folder to write the files into (created when missing)")
    p.add_argument("--language", default="", help="zh-CN (default: the hub's language) or en")
    p.add_argument("--data-dir", type=Path, default=Path("data"), help="the hub's data folder (default data)")
    p.set_defaults(handler=cmd_report)


def _telemetry(settings: Settings, data_dir: Path) -> TimeSeriesStore | None:
    """The telemetry store for the fleet figures, or None (those figures then read as unknown) when it cannot be
    opened: the embedded DuckDB file is held by a running hub."""
    try:
        return open_store(settings.store.model_copy(update={"data_dir": data_dir}))
    except StoreError as exc:
        print(f"fleet figures left out: {exc}", file=sys.stderr)
        return None


def cmd_report(args: argparse.Namespace) -> int:
    """Write the month's report files and print where they are."""
    from hub.cli_commands import UserError

    settings = Settings()  # HUB_ environment: the state URL and the targets
    db = open_state(args.data_dir, settings.store.state_url)
    store = _telemetry(settings, args.data_dir)
    try:
        registry = Registry(db)
        villages = registry.villages()
        keys = Townships.of(villages).resolve(args.township)
        engine = Insights(db, settings.insights.targets, store=store)
        county = villages[0].county if villages else ""
        report = monthly_report(engine, args.month, keys, county, args.language or hub_language())
        files = write_files(report, args.out)
    except (UnknownTownship, PeriodError, FontMissing) as exc:
        raise UserError(str(exc)) from exc
    finally:
        db.close()
        if store is not None:
            store.close()
    print(f"{files.xlsx}\n{files.pdf}")
    return 0
