"""Metric tables on a large warehouse: how long the publish-time rebuild takes, and how fast each
table answers a reader (a fresh read-only connection, every row fetched, as the dashboard reads).

    .venv/bin/python bench/views_bench.py [var/bench-1m.duckdb]   # made by `bench/etl_bench.py memory`
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.published import connect  # noqa: E402
from etl import metrics  # noqa: E402

TABLES = [
    "revenue_daily",
    "revenue_monthly",
    "payment_outcomes_daily",
    "failures_by_reason",
    "subscription_mrr_segments",
    "mrr_monthly",
    "churn_monthly",
    "cohort_retention",
    "mrr_at_risk",
    "customer_cohorts",
    "churned_subscriptions",
    "churn_by_type",
    "failed_renewals",
    "recovery_monthly",
    "dispute_activity_monthly",
]


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "var/bench-1m.duckdb")
    with connect(source) as con:
        payments = con.execute("SELECT count(*) FROM payments").fetchall()[0][0]
    print(f"metric tables on {source} ({payments:,} payments), {len(TABLES)} tables")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "w.duckdb"
        shutil.copyfile(source, work)
        con = duckdb.connect(str(work))
        con.execute("SET TimeZone = 'UTC'")
        through = con.execute("SELECT max(data_through) FROM sync_runs").fetchall()[0][0]
        timings = []
        for sql, params in metrics.bound("UTC", 30, 30, through):
            t = time.perf_counter()
            con.execute(sql, params)
            timings.append((time.perf_counter() - t, sql.split("TABLE", 1)[1].split()[0]))
        t = time.perf_counter()
        metrics.tie_out(con)
        tie = time.perf_counter() - t
        con.close()
        total = sum(s for s, _ in timings)
        slow = ", ".join(f"{n} {s:.1f} s" for s, n in sorted(timings, reverse=True)[:3])
        print(f"  rebuild at publish: {total:.1f} s (slowest: {slow}); tie-out {tie:.2f} s")
        with duckdb.connect(
            ":memory:"
        ) as warm:  # the first fetchdf of a process imports pandas: not a read cost
            warm.execute("SELECT 1").fetchdf()
        reads = []
        for table in TABLES:
            t = time.perf_counter()
            with connect(work) as reader:
                rows = len(reader.execute(f"SELECT * FROM {table}").fetchdf())
            reads.append((time.perf_counter() - t, table, rows))
        for seconds, table, rows in sorted(reads, reverse=True):
            print(f"  {table:28s} {rows:>9,} rows  {seconds * 1000:7.1f} ms")
        print(f"  slowest table read: {max(reads)[1]} in {max(reads)[0] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
