"""`dodo-analytics dashboard` (serve the dashboard) and `dodo-analytics export` (the dashboard's CSV
files, headless, for cron)."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb

from core.settings import DEFAULT_WAREHOUSE
from dashboard import exports
from dashboard.server import streamlit_command


def add_parsers(sub) -> None:
    p = sub.add_parser("dashboard", help="serve the dashboard over an existing warehouse")
    p.add_argument("--warehouse", default=os.environ.get("DODO_ANALYTICS_WAREHOUSE") or DEFAULT_WAREHOUSE)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8501)
    e = sub.add_parser("export", help="write a CSV export (the dashboard's Exports page) to a file")
    e.add_argument("--what", required=True, choices=list(exports.EXPORTS))
    e.add_argument("--from", dest="start", help="first local day, YYYY-MM-DD (default: all time)")
    e.add_argument("--to", dest="end", help="last local day, YYYY-MM-DD (default: up to the newest record)")
    e.add_argument("--currency", help="only this currency")
    e.add_argument(
        "--product",
        action="append",
        default=[],
        metavar="PRODUCT_ID",
        help="only these products (repeatable; payments and subscriptions)",
    )
    e.add_argument("--out", required=True, help="the CSV file to write")
    e.add_argument("--warehouse", default=os.environ.get("DODO_ANALYTICS_WAREHOUSE") or DEFAULT_WAREHOUSE)


def serve(args) -> int:
    if not Path(args.warehouse).exists():
        print(
            f"dodo-analytics dashboard: no warehouse at {args.warehouse}; the dashboard will say so until "
            "`dodo-analytics sync` publishes one",
            file=sys.stderr,
        )
    cmd, env = streamlit_command(args.warehouse, args.host, args.port)
    print(f"Dashboard: http://{args.host}:{args.port}", flush=True)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0


def export(args) -> int:
    try:
        start = date.fromisoformat(args.start) if args.start else None
        end = date.fromisoformat(args.end) if args.end else None  # up to the newest record
    except ValueError as exc:
        print(f"dodo-analytics export: --from/--to must be dates such as 2026-01-31 ({exc})", file=sys.stderr)
        return 2
    if not Path(args.warehouse).exists():
        print(
            f"dodo-analytics export: no warehouse at {args.warehouse}; run `dodo-analytics sync` first",
            file=sys.stderr,
        )
        return 1
    try:
        with duckdb.connect(":memory:") as con:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("ATTACH ? AS w (READ_ONLY)", [args.warehouse])
            con.execute("USE w")
            timezone = con.execute("SELECT timezone FROM metric_settings").fetchall()[0][0]
            body = exports.build(
                args.what,
                lambda sql, params: con.execute(sql, params).fetchdf(),
                start,
                end,
                args.currency,
                timezone,
                args.product,
            )
    except duckdb.Error as exc:
        print(
            f"dodo-analytics export: cannot read {args.warehouse} ({exc}); run `dodo-analytics sync` to "
            "publish a complete warehouse",
            file=sys.stderr,
        )
        return 1
    try:
        Path(args.out).write_bytes(body)
    except OSError as exc:
        print(f"dodo-analytics export: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    rows = body.count(b"\n") - 1
    print(f"Wrote {args.out} ({rows:,} rows)")
    return 0
