"""`hub users add|list|scope`: staff accounts of the console, kept in the hub's state database.

`--township CODE_OR_NAME` (repeatable) limits an account to those townships (its place scope, dashboard/place_scope.py):
`hub users add wang --role bureau --township 暮云镇`, or later `hub users scope wang --township 430121113`;
`hub users scope wang` without a township gives it the whole county again."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from alerts.incidents.store import IncidentStore
from dashboard.auth import ACCOUNT_ROLES, AuthError, StaffAuth
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.insights.places import Townships, UnknownTownship
from hub.cli_devices import actor

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
        help="staff accounts of the console (add, list, scope)",
        description="hub users add NAME --role operator [--password ...] [--township T ...]; hub users list; "
        "hub users scope NAME [--township T ...]",
    )
    p.add_argument("action", choices=["add", "list", "scope"], help="what to do")
    p.add_argument("username", nargs="?", help="user name (for add and scope)")
    p.add_argument("--township", action="append", default=[],
                   help="limit the account to this township (code or name; repeat for several; none: the county)")
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
                townships = user["townships"]
                scope = ",".join(townships) if isinstance(townships, list) and townships else "*"
                print(f"{user['username']}\t{user['role']}\t{'active' if user['active'] else 'disabled'}\t{scope}")
            return 0
        if not args.username:
            raise UserError(f"hub users {args.action} needs a user name")
        try:
            keys = Townships.of(Registry(db).villages()).resolve(args.township)
            if args.action == "add":
                password = args.password or getpass.getpass(f"password for {args.username}: ")
                auth.add_user(args.username, password, args.role, args.name)
            auth.set_townships(args.username, keys)
        except (AuthError, UnknownTownship) as exc:
            raise UserError(str(exc)) from exc
        detail = {"username": args.username, "townships": keys} | ({"role": args.role} if args.action == "add" else {})
        IncidentStore(db).audit(actor(), f"user_{'added' if args.action == 'add' else 'scope_set'}", None, detail)
        print(f"{args.action}: {args.username} ({args.role if args.action == 'add' else 'scope'}: "
              f"{', '.join(keys) or 'the whole county'})")
        return 0
    finally:
        db.close()


SCOPED_DEMO_USER = ("bureau-town", "bureau-demo", "bureau")  # the bureau's officer of one township


def ensure_scoped_demo_user(auth: StaffAuth, township_key: str, township_name: str) -> tuple[str, str, str]:
    """The demo's bureau account limited to one township (its place scope), created with the other demo accounts."""
    username, password, role = SCOPED_DEMO_USER
    auth.add_user(username, password, role, f"{township_name}民政")
    auth.set_townships(username, [township_key])
    return SCOPED_DEMO_USER


def ensure_demo_users(auth: StaffAuth) -> list[tuple[str, str, str]]:
    """Create the demo accounts when no account exists yet (demo only: well-known passwords)."""
    if auth.users():
        return []
    for username, password, role in DEMO_USERS:
        auth.add_user(username, password, role)
    return list(DEMO_USERS)
