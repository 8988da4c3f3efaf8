"""`dodo-analytics dashboard` (serve the dashboard) and `dodo-analytics export` (the dashboard's CSV
files, headless, for cron). Both check the settings first: a bad one ends the command with its
one-line message and exit code 2 before anything starts."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb

from core import published
from core.errors import ExitCode, SettingsError
from core.settings import LOOPBACK, Settings
from dashboard.server import allowed_hosts, streamlit_command
from reports import exports, writers
from reports.coverage import read_coverage


def add_parsers(sub) -> None:
    # --warehouse wins over DODO_ANALYTICS_WAREHOUSE, then the default (core.settings)
    p = sub.add_parser("dashboard", help="serve the dashboard over an existing warehouse")
    p.add_argument("--warehouse")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8501)
    p.add_argument(
        "--no-password",
        action="store_true",
        help="serve beyond this machine without a password (refused otherwise)",
    )
    e = sub.add_parser("export", help="write a report (the dashboard's Exports page) to a file")
    e.add_argument(
        "--what", required=True, choices=[*exports.EXPORTS, "all"], help="a report, or all: every table"
    )
    e.add_argument("--format", default="csv", choices=writers.FORMATS)
    e.add_argument("--from", dest="start", help="first local day, YYYY-MM-DD (default: all time)")
    e.add_argument("--to", dest="end", help="last local day, YYYY-MM-DD (default: up to the newest record)")
    e.add_argument("--currency", help="only this currency")
    only = "only these products (repeatable; payments and subscriptions)"
    e.add_argument("--product", action="append", default=[], metavar="PRODUCT_ID", help=only)
    e.add_argument("--out", required=True, help="the file to write (a directory for --what all)")
    e.add_argument("--warehouse")


def _settings(command: str, warehouse: str | None) -> Settings | None:
    """The settings, or None once a bad one has been said (the caller exits with code 2)."""
    try:
        return Settings.from_env(warehouse=warehouse, api=False)
    except SettingsError as exc:
        print(f"dodo-analytics {command}: {exc}", file=sys.stderr)
        return None


def serve(args) -> int:
    settings = _settings("dashboard", args.warehouse)
    if settings is None:
        return ExitCode.USAGE
    if not settings.warehouse.exists():
        print(
            f"dodo-analytics dashboard: no warehouse at {settings.warehouse}; the dashboard will say so "
            "until `dodo-analytics sync` publishes one",
            file=sys.stderr,
        )
    try:
        password = settings.dashboard_password()
    except SettingsError as exc:
        print(f"dodo-analytics dashboard: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if args.host not in LOOPBACK and not password:
        if not args.no_password:
            print(
                f"dodo-analytics dashboard: --host {args.host} serves the figures beyond this machine, and no "
                "password is set: set DODO_ANALYTICS_PASSWORD_FILE to a file holding one, or pass "
                "--no-password if another layer (a VPN, a proxy with its own login) guards it",
                file=sys.stderr,
            )
            return ExitCode.USAGE
        print(
            f"dodo-analytics dashboard: warning: serving on {args.host} without a password (--no-password)",
            file=sys.stderr,
        )
    cmd, env = streamlit_command(settings.warehouse, args.host, args.port)
    hosts = allowed_hosts(args.host, settings.allowed_hosts)
    print(
        f"Dashboard: http://{args.host}:{args.port} (answers the host names {', '.join(hosts)})", flush=True
    )
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return ExitCode.OK


def export(args) -> int:
    settings = _settings("export", args.warehouse)
    if settings is None:
        return ExitCode.USAGE
    try:
        start = date.fromisoformat(args.start) if args.start else None
        end = date.fromisoformat(args.end) if args.end else None  # up to the newest record
    except ValueError as exc:
        print(f"dodo-analytics export: --from/--to must be dates such as 2026-01-31 ({exc})", file=sys.stderr)
        return ExitCode.USAGE
    path = settings.warehouse
    if not path.exists():
        print(
            f"dodo-analytics export: no warehouse at {path}; run `dodo-analytics sync` first", file=sys.stderr
        )
        return ExitCode.FAILED
    out = Path(args.out)
    try:
        # one connection for the time zone and the rows: both from the same published file
        with published.connect(path) as con:
            currency = writers.checked(con, args.what, args.format, start, end, args.currency, args.product)
            if args.what == "all":
                tables = writers.write_tables(con, out)
                print(f"Wrote {len(tables)} tables ({sum(tables.values()):,} rows) as Parquet under {out}")
                return ExitCode.OK
            timezone = con.execute("SELECT timezone FROM metric_settings").fetchall()[0][0]
            rows, note = writers.write(
                con, args.what, args.format, out, start, end, currency, timezone, args.product
            )
            loading = read_coverage(lambda sql, params: con.execute(sql, params).fetchdf())
    except writers.ExportError as exc:
        print(f"dodo-analytics export: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except duckdb.Error as exc:
        print(
            f"dodo-analytics export: cannot read {path} ({exc}); run `dodo-analytics sync` to "
            "publish a complete warehouse",
            file=sys.stderr,
        )
        return ExitCode.FAILED
    except OSError as exc:
        print(f"dodo-analytics export: cannot write {out}: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    print(f"Wrote {out} ({rows:,} rows; times in UTC, days chosen in {timezone})")
    if note:
        print(f"Note: {note}")
    if loading.loading:  # a first sync's early publish: say what the file cannot hold yet
        first = loading.first_day(timezone)
        print(f"Note: {loading.line(timezone)}")
        if first is not None and (start is None or start < first):
            print(f"Note: the rows before {first} are incomplete until the history is loaded.")
    return ExitCode.OK
