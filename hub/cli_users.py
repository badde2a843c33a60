"""`hub users add|list`: staff accounts of the console, kept in the hub's state database."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from dashboard.auth import ACCOUNT_ROLES, AuthError, StaffAuth
from devices.statedb.sqlite import StateDB

DEMO_USERS = (
    ("admin", "admin-demo", "admin"),
    ("operator", "operator-demo", "operator"),
    ("supervisor", "supervisor-demo", "supervisor"),
    ("commander", "commander-demo", "commander"),  # issue 14: approves the CAP drafts on /command
    ("bureau", "bureau-demo", "bureau"),  # the civil-affairs bureau: the statistics page only
    ("reporter", "reporter-demo", "reporter"),  # issue 14: a village officer, on the report form /report
)


def add_users(sub: Any) -> None:
    """Register `hub users`."""
    p = sub.add_parser(
        "users",
        help="staff accounts of the console (add, list)",
        description="hub users add NAME --role operator [--password ...]; hub users list",
    )
    p.add_argument("action", choices=["add", "list"], help="what to do")
    p.add_argument("username", nargs="?", help="user name (for add)")
    p.add_argument("--role", choices=ACCOUNT_ROLES, default="operator", help="role (default operator)")
    p.add_argument("--password", help="password (asked for when omitted)")
    p.add_argument("--name", default="", help="display name")
    p.add_argument("--data-dir", type=Path, default=Path("data"), help="the hub's data folder (default data)")
    p.set_defaults(handler=cmd_users)


def cmd_users(args: argparse.Namespace) -> int:
    """Add or list staff accounts."""
    from hub.cli_commands import UserError

    db = StateDB(args.data_dir / "state.sqlite")
    try:
        auth = StaffAuth(db)
        if args.action == "list":
            for user in auth.users():
                print(f"{user['username']}\t{user['role']}\t{'active' if user['active'] else 'disabled'}")
            return 0
        if not args.username:
            raise UserError("hub users add needs a user name")
        password = args.password or getpass.getpass(f"password for {args.username}: ")
        try:
            auth.add_user(args.username, password, args.role, args.name)
        except AuthError as exc:
            raise UserError(str(exc)) from exc
        print(f"added {args.username} ({args.role})")
        return 0
    finally:
        db.close()


def ensure_demo_users(auth: StaffAuth) -> list[tuple[str, str, str]]:
    """Create the demo accounts when no account exists yet (demo only: well-known passwords)."""
    if auth.users():
        return []
    for username, password, role in DEMO_USERS:
        auth.add_user(username, password, role)
    return list(DEMO_USERS)
