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
                    args.runs, lambda: writers.write(con, what, fmt, out, timezone=timezone)
                )
                worst = max(worst, seconds)
                size = out.stat().st_size / 2**20
                print(f"  {what:<16} {fmt:<8} {rows:>10,} rows {seconds:6.2f} s {size:8.1f} MB")
        print(f"  slowest report: {worst:.2f} s")
        seconds, _ = timed(args.runs, lambda: writers.write(con, "close", "xlsx", Path(tmp) / "c.xlsx"))
        print(f"  close            xlsx     {seconds:6.2f} s")
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
