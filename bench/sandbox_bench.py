"""Sandbox benchmark: simulation time and memory for N payments, and page latency over real HTTP.

    .venv/bin/python bench/sandbox_bench.py [--payments 1000000] [--requests 300]

1. Builds the simulated business in this process and reports wall time and peak memory (what
   `dodo-analytics sandbox --size N` does before it serves).
2. Starts `dodo-analytics sandbox` as a separate process (uvicorn on 127.0.0.1) with the same size,
   waits until it answers, then sends sequential keep-alive requests from this process: 100-item
   pages at the head, deep in created_at windows, with status/customer filters, and detail reads.
   Reports the client-side latency (p50, p95, max) per kind of request.
"""

import argparse
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sandbox.clock import iso, parse_iso  # noqa: E402
from sandbox.data import SimulatedData  # noqa: E402

NOW = "2026-06-30T00:00:00Z"
KEY = "sk_test_sandbox_readonly"


def build(payments: int) -> None:
    t = time.perf_counter()
    data = SimulatedData(1, payments, parse_iso(NOW))
    seconds = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = {k: len(v) for k, v in data.collections.items()}
    print(f"build: {counts['payments']:,} payments ({counts}) in {seconds:.1f} s, peak RSS {peak_mb:,.0f} MB")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_measure(payments: int, requests: int) -> None:
    port = free_port()
    flags = f"--size {payments} --port {port} --now {NOW} --per-second 100000 --per-minute 10000000"
    cmd = [sys.executable, "-m", "dodo_cli", "sandbox", *flags.split()]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {KEY}"}
        ) as c:
            while True:
                try:
                    c.get("/_sandbox/clock")
                    break
                except httpx.TransportError:
                    if proc.poll() is not None:
                        raise SystemExit(proc.stderr.read().decode()) from None
                    time.sleep(0.2)
            print(
                f"server: answering after {time.perf_counter() - t:.1f} s (simulation, indexes, uvicorn start)"
            )
            head = c.get("/payments", params={"page_size": 100}).json()["items"]
            customer = head[0]["customer"]["customer_id"]
            ids = [p["payment_id"] for p in head]
            start, now = parse_iso(NOW) - 700 * 86_400_000, parse_iso(NOW)
            kinds = {
                "page 0, no filter": lambda i: c.get("/payments", params={"page_size": 100}),
                "page 40 of a 30-day window": lambda i: c.get(
                    "/payments",
                    params={
                        "page_size": 100,
                        "page_number": i % 40,
                        "created_at_gte": iso(start + (i % 20) * 30 * 86_400_000),
                        "created_at_lte": iso(start + (i % 20 + 1) * 30 * 86_400_000),
                    },
                ),
                "status=failed, page 5": lambda i: c.get(
                    "/payments",
                    params={
                        "page_size": 100,
                        "page_number": 5,
                        "status": "failed",
                        "created_at_lte": iso(now),
                    },
                ),
                "customer_id filter": lambda i: c.get(
                    "/payments", params={"page_size": 100, "customer_id": customer}
                ),
                "subscriptions page": lambda i: c.get(
                    "/subscriptions", params={"page_size": 100, "page_number": i % 50}
                ),
                "payment detail": lambda i: c.get(f"/payments/{ids[i % len(ids)]}"),
            }
            for name, call in kinds.items():
                times = []
                for i in range(requests):
                    t0 = time.perf_counter()
                    r = call(i)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 200, r.text
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                print(
                    f"  {name:28s} p50 {statistics.median(times):6.2f} ms  p95 {p95:6.2f} ms  max {times[-1]:6.2f} ms"
                )
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print(f"sandbox benchmark, {args.payments:,} payments, on {subprocess.getoutput('nproc')} cores")
    build(args.payments)
    serve_and_measure(args.payments, args.requests)


if __name__ == "__main__":
    main()
