"""`dodo-analytics demo`: the whole product with zero credentials. Starts the sandbox (a simulated
business) on 127.0.0.1, syncs it into var/demo.duckdb, opens the dashboard on 127.0.0.1 and prints
its URL, and keeps the sandbox serving so the sync can be run again (after moving its clock:
POST /_sandbox/advance?days=7)."""

import argparse
import os
import signal
import socket
import sys
import time

from core.errors import DodoError
from core.settings import Settings
from dashboard.server import Dashboard, DashboardError
from etl import cli as etl_cli
from etl.pipeline import SyncRequest, run_sync
from sandbox import cli as sandbox_cli
from sandbox.server import serve_in_thread

DEMO_KEY = "sk_test_sandbox_readonly"
# The demo lifts the sandbox's rate limit (and the sync's) so that it starts in seconds; the
# benchmarks and tests use the real tiers.
DEMO_LIMITS = ("2000", "100000")


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def run(warehouse: str = "var/demo.duckdb", port: int = 8765, size: str = "demo") -> int:
    started = time.monotonic()
    port = free_port(port)
    args = argparse.Namespace(
        **{
            **vars(_sandbox_defaults()),
            "size": size,
            "port": port,
            "per_second": int(DEMO_LIMITS[0]),
            "per_minute": int(DEMO_LIMITS[1]),
        }
    )
    api = sandbox_cli.build_api(args)
    try:
        server = serve_in_thread(api, port)
    except OSError as exc:
        print(f"dodo-analytics demo: {exc}; try --port", file=sys.stderr)
        return 1
    url = f"http://127.0.0.1:{port}"
    print(
        f"Sandbox: {len(api.data.collections['payments']):,} payments, serving {url} ({time.monotonic() - started:.0f} s)"
    )
    code = _sync(url, warehouse)
    if code != 0:
        server.should_exit = True
        return code
    try:
        # the sync's mode, for the dashboard's "Mode: TEST" caption (the key stays with the sync)
        dashboard = Dashboard(
            warehouse, port=free_port(8501), settings={"DODO_PAYMENTS_ENVIRONMENT": "test_mode"}
        )
    except DashboardError as exc:
        server.should_exit = True
        print(f"dodo-analytics demo: {exc}", file=sys.stderr)
        return 1
    print(
        f"Demo ready in {time.monotonic() - started:.0f} s. Dashboard: {dashboard.url}  Warehouse: {warehouse}"
    )
    print(f"Move time:   curl -X POST '{url}/_sandbox/advance?days=7'")
    # the sandbox's clock is then ahead of this machine's: the sync is told to date the pass by it
    print(
        f"Sync again:  DODO_PAYMENTS_BASE_URL={url} DODO_PAYMENTS_API_KEY={DEMO_KEY} "
        f"DODO_PAYMENTS_ENVIRONMENT=test_mode DODO_ANALYTICS_TRUST_API_CLOCK=1 "
        f".venv/bin/dodo-analytics sync --warehouse {warehouse}"
    )
    print("Ctrl+C stops the demo.", flush=True)
    # a `kill` stops it as Ctrl+C does, so the dashboard it started does not outlive it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        dashboard.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.stop()
        server.should_exit = True
    return 0


def _sync(url: str, warehouse: str) -> int:
    """Sync the sandbox into `warehouse` as `dodo-analytics sync` would, with the demo's key, address
    and limits over the other settings of the environment; what the sync prints, and its exit code."""
    demo = {
        "DODO_PAYMENTS_API_KEY": DEMO_KEY,
        "DODO_PAYMENTS_ENVIRONMENT": "test_mode",
        "DODO_PAYMENTS_BASE_URL": url,
        "DODO_ANALYTICS_RATE_PER_SECOND": DEMO_LIMITS[0],
        "DODO_ANALYTICS_RATE_PER_MINUTE": DEMO_LIMITS[1],
    }
    try:
        settings = Settings.from_env({**os.environ, **demo}, warehouse=warehouse)
        result = run_sync(settings, SyncRequest(), progress=etl_cli.Progress(sys.stderr))
    except DodoError as exc:
        return etl_cli.refused(exc, sys.stderr)
    return etl_cli.report(result, sys.stdout, sys.stderr)


def _sandbox_defaults() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    sandbox_cli.add_parser(sub)
    return parser.parse_args(["sandbox"])


if __name__ == "__main__":
    sys.exit(run())
