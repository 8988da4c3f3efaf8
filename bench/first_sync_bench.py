"""A first sync against a real sandbox process at the tier-1 limits (100/s, 1000/min): when it first
publishes, when MRR now is right, when the last 30 days are complete, and, run to the end, its
requests against the minimum and its duration against the rate floor. Prints what it measures.

.venv/bin/python bench/first_sync_bench.py --size 100000                    # to the end
.venv/bin/python bench/first_sync_bench.py --size 100000 --latency-ms 150
.venv/bin/python bench/first_sync_bench.py --size 1000000 --until mrr-now   # stops the sync there

The published file is polled every 0.2 s; each new publish's sync_coverage says what it holds.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from etl_bench import ROOT, Sandbox, env_for

sys.path.insert(0, str(ROOT))
from core.published import connect  # noqa: E402

PER_SECOND, PER_MINUTE = 100, 1000
LISTS = ("payments", "refunds", "disputes", "ledger")


def milestones(path: Path) -> tuple[str, set[str]]:
    """The published file's run status and which milestones it reaches."""
    with connect(path) as con:
        status, through = con.execute(
            "SELECT status, data_through FROM sync_runs WHERE status <> 'running' ORDER BY run_id DESC LIMIT 1"
        ).fetchall()[0]
        coverage = {
            name: (state, start)
            for name, state, start in con.execute(
                "SELECT resource, state, complete_from FROM sync_coverage"
            ).fetchall()
        }
    reached = {"published"}
    if coverage["mrr"][0] != "loading":
        reached.add("mrr-now")
    month = through - timedelta(days=30)
    lists = [coverage[n] for n in LISTS]
    whole = all(coverage[n][0] == "complete" for n in ("subscriptions", "customers", "products"))
    if whole and all(s == "complete" or s == "partial" and f <= month for s, f in lists):
        reached.add("30-days")
    if all(s == "complete" for s, _ in coverage.values()):
        reached.add("complete")
    return status, reached


def minimum(totals: dict) -> tuple[int, int]:
    """The fewest requests a complete backfill can make: (list pages, details). Every list read in
    one pass of full pages (the last one short, or empty), and one detail per failed payment."""
    pages = sum(entry["count"] // 100 + 1 for name, entry in totals.items() if name != "products")
    return pages + 2, totals["payments"]["by_status"].get("failed", 0)  # products: two lists


def floor_seconds(requests: int) -> float:
    """The least time `requests` take under the limits: a full minute's quota per minute (the first
    one at once), the last minute's share at the per-second limit."""
    full, rest = divmod(requests - 1, PER_MINUTE)
    return 60.0 * full + (rest + 1) / PER_SECOND


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument(
        "--until",
        choices=["mrr-now", "complete"],
        default="complete",
        help="mrr-now: stop the sync once MRR now is right and the last 30 days are complete",
    )
    args = parser.parse_args()
    print(
        f"first sync: sandbox of {args.size:,} payments, {args.latency_ms:.0f} ms added latency, "
        f"limits {PER_SECOND}/s and {PER_MINUTE}/min, until {args.until}"
    )
    sandbox = Sandbox(args.size, PER_SECOND, PER_MINUTE, latency_ms=args.latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            warehouse = Path(tmp) / "w.duckdb"
            env = env_for(sandbox, warehouse, PER_SECOND, PER_MINUTE)
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "dodo_cli", "sync"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            seen, times, publishes = None, {}, 0
            while True:
                running = proc.poll() is None  # a last look after it ends: the final publish
                time.sleep(0.2 if running else 0)
                st = warehouse.stat() if warehouse.exists() else None
                if st is not None and (st.st_ino, st.st_mtime_ns) != seen:
                    seen, publishes = (st.st_ino, st.st_mtime_ns), publishes + 1
                    status, reached = milestones(warehouse)
                    reached |= set() if status == "loading" else {"finished"}
                    for m in reached:
                        at = (time.perf_counter() - started, sandbox.control("stats")["requests"])
                        times.setdefault(m, at)
                    if args.until == "mrr-now" and {"mrr-now", "30-days"} <= set(times):
                        break
                if not running:
                    break
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            output = proc.communicate()[0].decode()
            seconds = time.perf_counter() - started
            stats, totals = sandbox.control("stats"), sandbox.control("totals")["resources"]
            for name, label in (
                ("published", "first publish"),
                ("mrr-now", "MRR now right"),
                ("30-days", "last 30 days complete"),
                ("complete", "lists complete"),
                ("finished", "finished"),
            ):
                if name in times:
                    t, n = times[name]
                    print(f"  {label:22s} at {t:7.1f} s, after {n:,} requests")
            print(f"  publishes seen: {publishes}")
            if args.until == "complete":
                if proc.returncode not in (0, None) or "complete" not in times:
                    raise SystemExit(f"the sync did not finish (exit {proc.returncode}):\n{output}")
                (pages, failed), made = minimum(totals), stats["requests"]
                least = pages + failed
                print(
                    f"  requests {made:,}: list pages {stats.get('lists', 0):,} (minimum {pages:,}), by id "
                    f"{stats.get('by_id', 0):,} (failed payments {failed:,}; the rest: payments not final read "
                    f"again, and details deciding whether a payment counts); {made / least - 1:+.1%} over the minimum {least:,}"
                )
                print(
                    f"  duration {seconds:.1f} s; rate floor of the minimum ({least:,} requests at "
                    f"{PER_MINUTE}/min) {least / PER_MINUTE * 60:.1f} s: {seconds / (least / PER_MINUTE * 60) - 1:+.1%}; "
                    f"least time for its own requests (the first minute's quota at once) "
                    f"{floor_seconds(made):.1f} s: {seconds / floor_seconds(made) - 1:+.1%}; 429s {stats.get('status:429', 0)}"
                )
                print("  " + output.strip().replace("\n", "\n  "))
    finally:
        sandbox.stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
