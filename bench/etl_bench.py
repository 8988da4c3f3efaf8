"""ETL benchmark against a real sandbox process (uvicorn on 127.0.0.1). Prints what it measures.

.venv/bin/python bench/etl_bench.py rate      # quota use, losses and 429s with 150 ms latency; 2nd-run cost
.venv/bin/python bench/etl_bench.py compare   # SDK auto-pagination vs a serial loop vs this sync, /payments
.venv/bin/python bench/etl_bench.py load      # records per second from fetched pages into DuckDB (median of 5)
.venv/bin/python bench/etl_bench.py memory    # peak memory of a 1,000,000-payment backfill
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.published import connect  # noqa: E402
from core.settings import Settings  # noqa: E402
from etl import warehouse as wh  # noqa: E402
from etl.client import DodoClient  # noqa: E402
from etl.loader import Loader  # noqa: E402
from etl.pager import Window  # noqa: E402
from etl.resources import RESOURCES  # noqa: E402
from etl.sync import Outcome, Sync  # noqa: E402

NOW = "2026-06-30T00:00:00Z"
KEY = "sk_test_sandbox_readonly"


class Sandbox:
    def __init__(self, size: int, per_second: int, per_minute: int, latency_ms: float = 0):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        flags = f"--size {size} --port {self.port} --now {NOW} --per-second {per_second} "
        flags += f"--per-minute {per_minute} --latency-ms {latency_ms}"
        cmd = [sys.executable, "-m", "dodo_cli", "sandbox", *flags.split()]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while True:
            try:
                httpx.get(self.url + "/_sandbox/clock", timeout=2)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    raise SystemExit(self.proc.stderr.read().decode()) from None
                time.sleep(0.3)

    def control(self, what: str):
        return httpx.get(f"{self.url}/_sandbox/{what}", timeout=30).json()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def env_for(sandbox: Sandbox, warehouse: Path, per_second: int, per_minute: int, **extra) -> dict:
    env = dict(
        os.environ,
        DODO_PAYMENTS_API_KEY=KEY,
        DODO_PAYMENTS_ENVIRONMENT="test_mode",
        DODO_PAYMENTS_BASE_URL=sandbox.url,
        DODO_ANALYTICS_WAREHOUSE=str(warehouse),
        DODO_ANALYTICS_RATE_PER_SECOND=str(per_second),
        DODO_ANALYTICS_RATE_PER_MINUTE=str(per_minute),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_sync(env: dict, *args) -> tuple[float, float, str]:
    """Run `dodo-analytics sync` as its own process: (seconds, peak RSS in MB, output)."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dodo_cli", "sync", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sync failed:\n{output}")
    return time.perf_counter() - t, usage.ru_maxrss / 1024, output


def check_against_totals(warehouse: Path, totals: dict) -> tuple[int, int]:
    """(lost, duplicated) records over all resources, against the sandbox's own totals."""
    lost = duplicated = 0
    with connect(warehouse) as con:
        for name, r in RESOURCES.items():
            rows, distinct = con.execute(
                f"SELECT count(*), count(DISTINCT {r.key}) FROM {r.table}"
            ).fetchall()[0]
            lost += totals[name]["count"] - distinct
            duplicated += rows - distinct
    return lost, duplicated


def bench_rate(args) -> None:
    scale = args.scale
    per_second, per_minute = 100 * scale, 1000 * scale
    print(
        f"rate: sandbox of {args.size:,} payments, 150 ms added latency, limits {per_second}/s and {per_minute}/min "
        f"(the 100/s, 1000/min tier scaled x{scale})"
    )
    sandbox = Sandbox(args.size, per_second, per_minute, latency_ms=150)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            warehouse = Path(tmp) / "w.duckdb"
            env = env_for(sandbox, warehouse, per_second, per_minute)
            samples, done = [], threading.Event()

            def poll():  # the sandbox's request count once a second, for per-minute rates
                while not done.is_set():
                    samples.append((time.perf_counter(), sandbox.control("stats").get("requests", 0)))
                    time.sleep(1)

            poller = threading.Thread(target=poll)
            poller.start()
            seconds, peak, output = run_sync(env)
            done.set()
            poller.join()
            stats = sandbox.control("stats")
            first = next(t for t, n in samples if n > 0)
            minutes = []
            while True:
                inside = [
                    n for t, n in samples if first + 60 * len(minutes) <= t <= first + 60 * (len(minutes) + 1)
                ]
                if not inside or samples[-1][0] < first + 60 * (len(minutes) + 1):
                    break
                minutes.append(inside[-1] - inside[0])
            requests, limited = stats["requests"], stats.get("status:429", 0)
            lost, duplicated = check_against_totals(warehouse, sandbox.control("totals")["resources"])
            print(
                f"  first sync: {requests:,} requests in {seconds:.1f} s = {requests / seconds * 60:,.0f}/min "
                f"({requests / seconds * 60 / per_minute:.1%} of the per-minute limit); 429s {limited} "
                f"({limited / requests:.2%}); lost {lost}, duplicated {duplicated}; peak RSS {peak:.0f} MB"
            )
            for i, n in enumerate(minutes):
                print(
                    f"    minute {i + 1} after the first request: {n:,} requests ({n / per_minute:.1%} of the limit)"
                )
            seconds, _, output = run_sync(env)
            second = sandbox.control("stats")["requests"] - requests
            with connect(warehouse) as con:
                now = con.execute("SELECT max(data_through) FROM sync_runs").fetchall()[0][0]

                def pages(table, days=None):
                    where = (
                        "" if days is None else f"WHERE created_at >= ?::TIMESTAMPTZ - INTERVAL {days} DAY"
                    )
                    n = con.execute(
                        f"SELECT count(*) FROM {table} {where}", [] if days is None else [now]
                    ).fetchall()
                    return n[0][0] // 100 + 1

                lookback = pages("payments", 7) + pages("refunds", 30) + pages("disputes", 120)
                full = pages("subscriptions") + pages("customers") + 2
            details = int(output.split("payment details ")[1].split()[0].replace(",", ""))
            print(
                f"  second sync, nothing new: {second:,} requests in {seconds:.1f} s = look-back pages {lookback} "
                f"+ full-refresh pages {full} + payment details {details} (the per-run budget spent on older "
                f"payments) + {second - lookback - full - details} more"
            )
    finally:
        sandbox.stop()


def bench_compare(args) -> None:
    import dodopayments

    per_second, per_minute = 100, 1000
    print(
        f"compare: /payments of a {args.size:,}-payment sandbox, 150 ms latency, limits {per_second}/s, "
        f"{per_minute}/min"
    )
    sandbox = Sandbox(args.size, per_second, per_minute, latency_ms=150)
    try:
        total = sandbox.control("totals")["resources"]["payments"]["count"]

        def report(name, ids, seconds, note=""):
            print(
                f"  {name:34s} fetched {len(ids):>7,}  lost {total - len(ids):>6,}  {seconds:6.1f} s {note}"
            )

        t, ids, note = time.perf_counter(), set(), ""
        client = dodopayments.DodoPayments(bearer_token=KEY, base_url=sandbox.url)
        try:
            for p in client.payments.list(page_size=100):
                ids.add(p.payment_id)
        except dodopayments.APIError as exc:
            note = f"(stopped: {type(exc).__name__})"
        report("official SDK auto-pagination", ids, time.perf_counter() - t, note)
        time.sleep(61)  # a fresh minute for the next contender

        t, ids, page = time.perf_counter(), set(), 0
        with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
            while True:
                r = c.get("/payments", params={"page_size": 100, "page_number": page})
                if r.status_code == 429:
                    time.sleep(float(r.headers.get("retry-after", 1)))
                    continue
                items = r.json()["items"]
                ids |= {p["payment_id"] for p in items}
                if len(items) < 100:
                    break
                page += 1
        report("serial hand-written loop", ids, time.perf_counter() - t)
        time.sleep(61)

        with tempfile.TemporaryDirectory() as tmp:
            env = env_for(sandbox, Path(tmp) / "w.duckdb", per_second, per_minute)
            settings = Settings.from_env(env)
            con = wh.open_work(settings.warehouse)
            t = time.perf_counter()

            async def ours():
                async with DodoClient(settings) as client:
                    return await Sync(settings, client, Loader(con)).run(["payments"], details=False)

            asyncio.run(ours())
            seconds = time.perf_counter() - t
            ids = {i for (i,) in con.execute("SELECT payment_id FROM payments").fetchall()}
            con.close()
        report("this sync (windows, limiter)", ids, seconds, "(includes probing where history starts)")
    finally:
        sandbox.stop()


def bench_load(args) -> None:
    import gc

    import orjson

    from sandbox.clock import parse_iso
    from sandbox.data import SimulatedData
    from sandbox.shapes import LIST_SHAPE

    data = SimulatedData(1, args.size, parse_iso(NOW))
    bodies = {}
    for resource in ("payments", "ledger"):
        records = data.collections[resource].records[: args.size]
        bodies[resource] = [
            orjson.dumps({"items": [LIST_SHAPE[resource](r.full()) for r in records[i : i + 100]]})
            for i in range(0, len(records), 100)
        ]
    del data, records
    gc.collect()  # measure in a process that holds no simulation, like the sync
    settings = Settings.from_env({"DODO_PAYMENTS_API_KEY": KEY, "DODO_PAYMENTS_ENVIRONMENT": "test_mode"})
    for resource in ("payments", "ledger"):
        rates = []
        for _ in range(args.repeat):  # this machine's speed wanders by 10-30% from run to run
            rates.append(load_once(settings, resource, bodies[resource]))
        rates.sort()
        print(
            f"load: {resource}: median {rates[len(rates) // 2]:,.0f} records/s over {len(rates)} runs "
            f"(slowest {rates[0]:,.0f}, fastest {rates[-1]:,.0f})"
        )


def load_once(settings, resource: str, bodies: list[bytes]) -> float:
    import orjson

    t = time.perf_counter()
    pages = [orjson.loads(b)["items"] for b in bodies]  # what the client does with each body
    decode = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        con = wh.open_work(Path(tmp) / "w.duckdb")
        t = time.perf_counter()
        sync = asyncio.run(load_pages(settings, con, RESOURCES[resource], pages))
        seconds = time.perf_counter() - t
        t = time.perf_counter()
        con.execute("CHECKPOINT")
        checkpoint = time.perf_counter() - t
        count = con.execute(f"SELECT count(*) FROM {RESOURCES[resource].table}").fetchall()[0][0]
        con.close()
    print(
        f"  {count:,} {resource}: decoded pages -> committed DuckDB rows {count / seconds:,.0f} records/s "
        f"({seconds:.1f} s wall; the writer thread was busy {sync.writer.busy_seconds:.1f} s; "
        f"the final checkpoint took {checkpoint:.1f} s more); "
        f"decoding the HTTP bodies {count / decode:,.0f} records/s"
    )
    return count / seconds


async def load_pages(settings, con, resource, pages) -> Sync:
    """Windows of 10 pages through the sync's own commit path (parse on the event loop, insert on the
    writer thread), as many at a time as the sync has requests in flight."""
    sync = Sync(settings, None, Loader(con))
    sync.out = Outcome(1, None, fetched={resource.name: 0})
    windows = [[item for page in pages[w : w + 10] for item in page] for w in range(0, len(pages), 10)]
    sync.open_windows = {resource.name: len(windows)}
    sync.empty_tables = {resource.table}  # an empty table, as in a first backfill
    slots = asyncio.Semaphore(settings.concurrency)

    async def one(i, items):
        async with slots:
            await sync.commit(resource, Window(i, i), items, [])

    try:
        await asyncio.gather(*(one(i, items) for i, items in enumerate(windows)))
    finally:
        sync.writer.close()
    return sync


def bench_memory(args) -> None:
    per_second, per_minute = 10_000, 100_000  # the highest limits the settings accept
    print(
        f"memory: backfill of a {args.size:,}-payment sandbox (no latency, limits lifted), sync in its own process"
    )
    sandbox = Sandbox(args.size, per_second, per_minute)
    try:
        # kept (var/bench-1m.duckdb) for bench/views_bench.py, which times the metric tables on it
        warehouse = ROOT / "var" / f"bench-{args.size // 1_000_000}m.duckdb"
        for old in warehouse.parent.glob(warehouse.name + "*"):
            old.unlink()
        env = env_for(sandbox, warehouse, per_second, per_minute, DODO_ANALYTICS_DETAIL_BUDGET=0)
        seconds, peak, output = run_sync(env)
        lost, duplicated = check_against_totals(warehouse, sandbox.control("totals")["resources"])
        size = warehouse.stat().st_size / 2**20
        requests = sandbox.control("stats")["requests"]
        print(
            f"  {requests:,} requests in {seconds:.0f} s; peak RSS of the sync {peak:,.0f} MB; "
            f"lost {lost}, duplicated {duplicated}; warehouse {size:,.0f} MB"
        )
        print("  " + output.strip().replace("\n", "\n  "))
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="ETL benchmark")
    parser.add_argument("what", choices=["rate", "compare", "load", "memory"])
    parser.add_argument("--size", type=int)
    parser.add_argument("--scale", type=int, default=3, help="rate: multiply the 100/s, 1000/min limits")
    parser.add_argument(
        "--repeat", type=int, default=5, help="load: runs per resource (the median is reported)"
    )
    args = parser.parse_args()
    args.size = (
        args.size or {"rate": 20_000, "compare": 20_000, "load": 200_000, "memory": 1_000_000}[args.what]
    )
    {"rate": bench_rate, "compare": bench_compare, "load": bench_load, "memory": bench_memory}[args.what](
        args
    )


if __name__ == "__main__":
    main()
