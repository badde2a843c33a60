"""The `hub` command: run, demo, simulate, registry, evaluate.

Every start-up problem (broker unreachable, port in use, data folder locked) ends in one line that says what to
do, with exit code 2; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from dashboard import logmask
from hub import cli_audit, cli_commands, cli_devices, cli_export, cli_registry, cli_report, cli_users


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub", description="Smart eldercare and disaster-monitoring hub: MQTT ingest, store, detectors, "
        "alerts, dispatch and dashboard.")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging verbosity (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")
    cli_commands.add_demo(sub)
    cli_commands.add_run(sub)
    cli_commands.add_simulate(sub)
    cli_registry.add_registry(sub)
    cli_devices.add_devices(sub)
    cli_export.add_export(sub)
    cli_users.add_users(sub)
    cli_report.add_report(sub)
    cli_audit.add_audit(sub)
    cli_commands.add_evaluate(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hub` console command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    logmask.install()  # issue 8: national IDs and mobile numbers masked in every log record
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except cli_commands.UserError as exc:
        print(f"hub: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
