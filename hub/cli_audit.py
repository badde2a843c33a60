"""`hub audit verify`: walk the hash chains of the audit and access logs and report OK or the first broken row.

Exit code 0 when every chain holds, 1 when a row was changed or removed (its id is printed), 2 on a usage error.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from alerts.incidents.store import AUDIT_CHAINED
from dashboard.access_log import ACCESS_CHAINED
from devices.statedb import chain
from devices.statedb.postgres import open_state

TABLES = (("audit_log", AUDIT_CHAINED), ("access_log", ACCESS_CHAINED))


def add_audit(sub: Any) -> None:
    """Register `hub audit`."""
    p = sub.add_parser("audit", help="check the tamper-evident audit and access logs (verify)",
                       description="hub audit verify: recompute every row's hash chain; prints OK or the first "
                                   "broken row's id")
    p.add_argument("action", choices=["verify"], help="what to do")
    p.add_argument("--data-dir", type=Path, default=Path("data"), help="the hub's data folder (default data)")
    p.add_argument("--state-url", default="", help="the shared PostgreSQL state database, when the hub uses one "
                   "(HUB_STORE__STATE_URL)")
    p.set_defaults(handler=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    """Verify each chained table; 0 when all hold, 1 at the first broken link."""
    from hub.cli_commands import UserError

    if not args.state_url and not (args.data_dir / "state.sqlite").exists():
        raise UserError(f"no state database in {args.data_dir}; pass --data-dir (or --state-url)")
    db = open_state(args.data_dir, args.state_url)
    failed = False
    try:
        for table, columns in TABLES:
            try:
                verdict = chain.verify(db, table, columns)
            except Exception as exc:  # the table or its chain columns are missing
                print(f"{table}: not checked ({type(exc).__name__}: no chained table here)")
                failed = True
                continue
            note = f", {verdict.unchained} written before the chain began" if verdict.unchained else ""
            if verdict.ok:
                print(f"{table}: OK, {verdict.rows} rows{note}; head {verdict.head}")
            else:
                failed = True
                print(f"{table}: BROKEN at row id {verdict.broken_id}: {verdict.reason}")
    finally:
        db.close()
    return 1 if failed else 0
