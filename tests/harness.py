"""The in-process sync harness shared by the sync tests and the fault storms: the sandbox reached
through its httpx transport, clocks and sleeps fake, `run_sync` doing the work and the command line's
own functions printing what it prints."""

import asyncio
import io
import shutil

import httpx

from core.errors import DodoError
from core.published import connect
from core.settings import Settings
from etl import cli
from etl.client import DodoClient
from etl.pipeline import run_sync
from etl.resources import RESOURCES, TABLES
from helpers import RO_KEY, FakeClock
from sandbox.server import AsyncSandboxTransport


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs (BaseException escapes every handler)."""


class Harness:
    def __init__(self, api, tmp_path, key=RO_KEY, budget=0, kill_after=None):
        """The harness's settings come from `env`, its own stand-in for the environment, never from the
        process's."""
        self.api, self.path, self.kill_after = api, tmp_path / "wh" / "warehouse.duckdb", kill_after
        self.clock = FakeClock(1000.0)
        self.requests = 0
        self.env = {
            "DODO_PAYMENTS_API_KEY": key,
            "DODO_PAYMENTS_ENVIRONMENT": "test_mode",
            "DODO_PAYMENTS_BASE_URL": "http://sandbox.test",
            "DODO_ANALYTICS_DETAIL_BUDGET": str(budget),
        }
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        self.after = None  # the alerts' check, when a test switches it on

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

    def sync(self, resources: str | None = None, full_refresh: bool = False, since: str | None = None) -> int:
        """`dodo-analytics sync [--resources ...] [--full-refresh] [--since ...]` on this warehouse: its
        exit code; what it printed is in `stdout` and `stderr`."""
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        try:
            settings = Settings.from_env(self.env, warehouse=self.path)
            request = cli.request_from(resources, full_refresh, since)
            result = run_sync(
                settings,
                request,
                client_factory=self.client,
                progress=cli.Progress(self.stderr),
                after=self.after,
            )
        except DodoError as exc:
            return cli.refused(exc, self.stderr)
        return cli.report(result, self.stdout, self.stderr)

    def query(self, sql, params=()):
        with connect(self.path) as con:
            return con.execute(sql, params).fetchall()


class Watching(Harness):
    """Copies the published file aside each time a request finds it changed: every early publish."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.copies, self.seen = [], None

    def transport(self):
        inner, harness = super().transport(), self

        class Copying(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request):
                harness.copy_if_published()
                return await inner.handle_async_request(request)

        return Copying()

    def copy_if_published(self):
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return
        if (st.st_ino, st.st_mtime_ns) != self.seen:
            self.seen = (st.st_ino, st.st_mtime_ns)
            copy = self.path.with_name(f"early-{len(self.copies)}.duckdb")
            shutil.copyfile(self.path, copy)
            self.copies.append(copy)

    def early(self, mrr: str):
        """The first early publish whose MRR is in state `mrr` (loading; partial: right now only)."""
        for copy in self.copies:
            with connect(copy) as con:
                if con.execute("SELECT state FROM sync_coverage WHERE resource = 'mrr'").fetchall() == [
                    (mrr,)
                ]:
                    return copy
        raise AssertionError(f"no early publish with MRR {mrr}")


def totals(api):
    return api.data.totals()["resources"]


def assert_complete(h: Harness):
    for resource, entry in totals(h.api).items():
        if resource == "payouts":
            continue
        table = RESOURCES[resource].table
        assert h.query(f"SELECT count(*) FROM {table}")[0][0] == entry["count"], resource
        if "by_status" in entry and resource != "disputes":
            got = dict(h.query(f"SELECT status, count(*) FROM {table} GROUP BY 1"))
            assert got == entry["by_status"], resource


def snapshot(path, tables=None) -> dict:
    """Every row of the tables, minus the column that records when a row was fetched; doubles rounded
    (sums of doubles in the metric tables depend on the order of addition)."""
    out = {}
    with connect(path) as con:
        for table in tables or TABLES:
            cols = [
                f"round({c}, 6)" if t == "DOUBLE" else c
                for c, t in con.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?", [table]
                ).fetchall()
                if c != "synced_at"
            ]
            out[table] = sorted(map(str, con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()))
    return out
