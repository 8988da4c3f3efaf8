"""The in-process sync harness shared by the sync tests and the fault storms: the sandbox reached
through its httpx transport, clocks and sleeps fake, the CLI's own `run` doing the work."""

import argparse
import asyncio
import io

import duckdb
import httpx

from conftest import RO_KEY, FakeClock
from etl import cli
from etl.client import DodoClient
from sandbox.server import AsyncSandboxTransport

TABLE_OF = {
    "payments": "payments",
    "payment_details": "payment_details",
    "subscriptions": "subscriptions",
    "refunds": "refunds",
    "disputes": "disputes",
    "customers": "customers",
    "products": "products",
    "ledger": "ledger_entries",
}


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs (BaseException escapes every handler)."""


class Harness:
    def __init__(self, api, tmp_path, monkeypatch, key=RO_KEY, budget=0, kill_after=None):
        self.api, self.path, self.kill_after = api, tmp_path / "wh" / "warehouse.duckdb", kill_after
        self.clock = FakeClock(1000.0)
        self.requests = 0
        monkeypatch.setenv("DODO_PAYMENTS_API_KEY", key)
        monkeypatch.setenv("DODO_PAYMENTS_ENVIRONMENT", "test_mode")
        monkeypatch.setenv("DODO_PAYMENTS_BASE_URL", "http://sandbox.test")
        monkeypatch.setenv("DODO_ANALYTICS_DETAIL_BUDGET", str(budget))
        self.stdout, self.stderr = io.StringIO(), io.StringIO()

    async def fake_sleep(self, seconds):
        self.clock.advance(seconds)
        await asyncio.sleep(0)

    def transport(self) -> httpx.AsyncBaseTransport:
        """What the client talks to: the sandbox; a subclass may change what it answers."""
        return AsyncSandboxTransport(self.api, sleep=self.fake_sleep)

    def client(self, settings):
        harness, inner = self, self.transport()

        class Counting(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request):
                harness.requests += 1
                if harness.kill_after is not None and harness.requests > harness.kill_after:
                    raise Killed()
                return await inner.handle_async_request(request)

        return DodoClient(settings, transport=Counting(), clock=self.clock, sleep=self.fake_sleep)

    def sync(self, **flags) -> int:
        args = argparse.Namespace(warehouse=str(self.path), resources=None, full_refresh=False, since=None)
        vars(args).update(flags)
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        return cli.run(args, client_factory=self.client, stdout=self.stdout, stderr=self.stderr)

    def query(self, sql, params=()):
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql, params).fetchall()


def totals(api):
    return api.data.totals()["resources"]


def assert_complete(h: Harness):
    for resource, entry in totals(h.api).items():
        if resource == "payouts":
            continue
        table = TABLE_OF[resource]
        assert h.query(f"SELECT count(*) FROM {table}")[0][0] == entry["count"], resource
        if "by_status" in entry and resource != "disputes":
            got = dict(h.query(f"SELECT status, count(*) FROM {table} GROUP BY 1"))
            assert got == entry["by_status"], resource


def snapshot(path, tables=None) -> dict:
    """Every row of the tables, minus the column that records when a row was fetched; doubles rounded
    (sums of doubles in the metric tables depend on the order of addition)."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for table in tables or TABLE_OF.values():
            cols = [
                f"round({c}, 6)" if t == "DOUBLE" else c
                for c, t in con.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?", [table]
                ).fetchall()
                if c != "synced_at"
            ]
            out[table] = sorted(map(str, con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()))
    return out
