"""`dodo-analytics alerts --dry-run`: what the next sync's check would send, from the published warehouse
and the status file (so a failing sync's alert shows too), without sending or recording anything."""

import sys
from datetime import UTC, datetime

import duckdb

from core import published
from core.errors import ExitCode, SettingsError
from core.settings import Settings

from .check import plan
from .config import load


def add_parser(sub) -> None:
    p = sub.add_parser("alerts", help="print what the alert rules and digests would send now")
    p.add_argument(
        "--dry-run", action="store_true", required=True, help="print, send nothing (each sync sends)"
    )
    p.add_argument("--warehouse")


def run(args) -> int:
    try:
        settings = Settings.from_env(warehouse=args.warehouse, api=False)
        if settings.alerts_file is None:
            raise SettingsError(
                "DODO_ANALYTICS_ALERTS_FILE is not set: point it at an alerts file (docs/alerts.md)"
            )
        config = load(settings.alerts_file)
    except SettingsError as exc:
        print(f"dodo-analytics alerts: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    status = published.read_status(settings.warehouse) or {}
    error = status.get("problem") if status.get("exit_code") else None
    try:
        with published.connect(settings.warehouse) as con:
            p = plan(con, config, settings, error, datetime.now(UTC))
            waiting = 0
            if con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'alert_outbox'").fetchall():
                waiting = con.execute(
                    "SELECT count(*) FROM alert_outbox WHERE delivered_at IS NULL"
                ).fetchall()[0][0]
    except duckdb.Error as exc:
        print(
            f"dodo-analytics alerts: cannot read {settings.warehouse} ({exc}); run `dodo-analytics sync`",
            file=sys.stderr,
        )
        return ExitCode.FAILED
    for event, channels in p.send:
        print(f"would send to {', '.join(channels)}: {event.subject}")
        print("  " + event.text.replace("\n", "\n  "))
    if p.first:
        print(
            f"the first check would record {len(p.baseline)} events already in the data, without sending them"
        )
    for problem in p.problems:
        print(problem)
    print(f"{len(p.send)} to send; {waiting or 0} queued by earlier syncs and not sent yet")
    return ExitCode.OK
