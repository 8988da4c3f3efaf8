"""Finance reports on the 1,000,000-payment warehouse (var/bench-1m.duckdb, left by
`bench/etl_bench.py memory`). Prints what it measures.

.venv/bin/python bench/exports_bench.py            # every report as CSV and Parquet, whole history
.venv/bin/python bench/exports_bench.py --runs 3   # each timed 3 times, the median printed

Also times building the balance ledger's tables (etl/balances.py: ledger lines, payout tie-outs, the
month-end close) in memory over the published file, as the sync does at every publish."""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.published import connect  # noqa: E402
from etl import balances  # noqa: E402
from etl.metrics import bound  # noqa: E402
from reports import writers  # noqa: E402
from reports.exports import EXPORTS  # noqa: E402


def timed(runs: int, work) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", default=str(ROOT / "var" / "bench-1m.duckdb"))
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    path = Path(args.warehouse)
    if not path.exists():
        print(
            f"no warehouse at {path}: run `.venv/bin/python bench/etl_bench.py memory` first", file=sys.stderr
        )
        return 1
    with connect(path) as con, tempfile.TemporaryDirectory() as tmp:
        payments, entries = con.execute(
            "SELECT (SELECT count(*) FROM payments), (SELECT count(*) FROM ledger_entries)"
        ).fetchall()[0]
        timezone = con.execute("SELECT timezone FROM metric_settings").fetchall()[0][0]
        print(f"exports: {payments:,} payments, {entries:,} ledger entries; median of {args.runs} run(s)")
        worst = 0.0
        for what in EXPORTS:
            for fmt in ("csv", "parquet"):
                out = Path(tmp) / f"{what}.{fmt}"
                seconds, rows = timed(
                    args.runs,
                    lambda what=what, fmt=fmt, out=out: writers.write(con, what, fmt, out, timezone=timezone)[
                        0
                    ],
                )
                worst = max(worst, seconds)
                size = out.stat().st_size / 2**20
                print(f"  {what:<16} {fmt:<8} {rows:>10,} rows {seconds:6.2f} s {size:8.1f} MB")
        print(f"  slowest report: {worst:.2f} s")
        ties, payouts, breaks, months = con.execute(
            "SELECT (SELECT count(*) FILTER (difference = 0) FROM payout_tieout), (SELECT count(*) FROM payout_tieout), "
            "(SELECT count(*) FILTER (break <> 0) FROM month_end_close), (SELECT count(*) FROM month_end_close)"
        ).fetchall()[0]
        print(f"  payouts tying out: {ties} of {payouts}; close months with a break: {breaks} of {months}")
        for what in ("close", "refunds"):
            out = Path(tmp) / f"{what}.xlsx"
            seconds, rows = timed(
                args.runs,
                lambda what=what, out=out: writers.write(con, what, "xlsx", out, timezone=timezone)[0],
            )
            print(f"  {what:<16} xlsx     {rows:>10,} rows {seconds:6.2f} s ({rows / seconds:,.0f} rows/s)")
        seconds, tables = timed(1, lambda: writers.write_tables(con, Path(tmp) / "all"))
        parts = sum(1 for _ in (Path(tmp) / "all").rglob("*.parquet"))
        size = sum(f.stat().st_size for f in (Path(tmp) / "all").rglob("*.parquet")) / 2**20
        read = con.execute(
            f"SELECT count(*) FROM read_parquet('{Path(tmp) / 'all' / 'payments'}/*/*.parquet', hive_partitioning=true)"
        ).fetchall()[0][0]
        print(
            f"  every table as Parquet: {len(tables)} tables, {sum(tables.values()):,} rows, {parts} files, "
            f"{size:,.0f} MB in {seconds:.1f} s; payments read back by month partitions: {read:,} rows"
        )
        # the balance tables as a publish builds them, here in memory over the read-only file
        through = con.execute("SELECT data_through FROM metric_settings").fetchall()[0][0]
        con.execute("SET search_path = 'memory.main,w.main'")
        wanted = {sql for sql in balances.STATEMENTS}
        statements = [(sql, p) for sql, p in bound(timezone, 30, 30, through) if sql in wanted]
        total = 0.0
        for sql, params in statements:
            table = sql.split("TABLE", 1)[1].split()[0]
            seconds, _ = timed(args.runs, lambda sql=sql, params=params: con.execute(sql, params))
            total += seconds
            print(f"  build {table:<20} {seconds:6.2f} s")
        print(f"  the balance tables in all: {total:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
