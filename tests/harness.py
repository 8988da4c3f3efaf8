"""The in-process sync harness shared by the sync tests and the fault storms: the sandbox reached
through its httpx transport, clocks and sleeps fake, the CLI's own `run` doing the work."""

import argparse
import asyncio
import io

import duckdb

from conftest import RO_KEY, FakeClock
from etl import cli
from etl.client import DodoClient
from sandbox.server import AsyncSandboxTransport

TABLE_OF = {"payments": "payments", "payment_details": "payment_details", "subscriptions": "subscriptions", "refunds": "refunds", "disputes": "disputes",
            "customers": "customers", "products": "products", "ledger": "ledger_entries"}  # fmt: skip


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

    def client(self, settings):
        harness = self

        class Transport(AsyncSandboxTransport):
            async def handle_async_request(self, request):
                harness.requests += 1
                if harness.kill_after is not None and harness.requests > harness.kill_after:
                    raise Killed()
                return await super().handle_async_request(request)

        return DodoClient(settings, transport=Transport(self.api, sleep=self.fake_sleep), clock=self.clock,
                          sleep=self.fake_sleep)  # fmt: skip

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


def snapshot(path) -> dict:
    """Every row of every raw table, minus the columns that record when something was fetched."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for table in TABLE_OF.values():
            cols = [c for (c,) in con.execute(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}'")
                    .fetchall() if c not in ("synced_at", "detail_fetched_at")]  # fmt: skip
            out[table] = sorted(con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall(), key=str)
    return out
