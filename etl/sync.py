"""One sync pass: plan windows per resource, fetch them in parallel under the rate limit, commit each
window with its rows, then fetch payment details. See DESIGN.md "Sync strategy"."""

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import duckdb
import pyarrow as pa

from core.errors import ApiError, ForbiddenError

from . import records
from . import warehouse as wh
from .client import DodoClient
from .loader import Loader
from .pager import Window, iso_us, next_step, page_params, split

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_DAY = 86_400_000_000
DETAIL_BATCH = 100
SKEW = timedelta(minutes=5)  # how far the API's clock may be ahead of this machine's


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    table: str
    # "incremental": new records plus a look-back; "full": every record every run; "all": no time filter;
    # "detail": one GET per record, for records the list already gave
    mode: str
    extras: tuple = ((),)

    @property
    def columns(self) -> tuple:
        return wh.TABLES[self.table][0]  # the warehouse table says which API fields become columns


RESOURCES = {
    "products": Resource(
        "products", "/products", "products", "all", extras=((("archived", "false"),), (("archived", "true"),))
    ),
    "customers": Resource("customers", "/customers", "customers", "full"),
    "subscriptions": Resource("subscriptions", "/subscriptions", "subscriptions", "full"),
    "payments": Resource("payments", "/payments", "payments", "incremental"),
    "refunds": Resource("refunds", "/refunds", "refunds", "incremental"),
    "disputes": Resource("disputes", "/disputes", "disputes", "incremental"),
    "ledger": Resource("ledger", "/balances/ledger", "ledger_entries", "incremental"),
}
DETAILS = Resource("payment_details", "/payments/{id}", "payment_details", "detail")


def to_us(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1)


def from_us(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + timedelta(microseconds=us)


@dataclass
class Outcome:
    run_id: int
    data_through: datetime
    fetched: dict = field(default_factory=dict)  # resource -> records read (re-reads included)
    new: dict = field(default_factory=dict)  # resource -> rows added to the warehouse
    skipped: dict = field(default_factory=dict)  # resource -> why
    rejected: list = field(default_factory=list)  # (resource, id, reason)
    details: int = 0
    load_seconds: float = 0.0  # time spent turning fetched pages into committed rows (parse + commit)
    details_missing: int = 0  # payment details the API would not give this run (retried next run)
    notes: list = field(default_factory=list)  # what the summary should tell, short of an error


class Sync:
    def __init__(self, settings, client: DodoClient, con, progress=lambda outcome: None, wall=time.time):
        self.settings, self.client, self.con, self.progress, self.wall = settings, client, con, progress, wall

    # -- the pass ----------------------------------------------------------------------------------
    async def run(
        self,
        names: list[str],
        full_refresh: bool = False,
        since: datetime | None = None,
        details: bool = True,
    ) -> Outcome:
        self.db = Loader(self.con)
        try:
            return await self.run_pass(names, full_refresh, since, details)
        finally:
            self.db.close()  # waits for the commits already handed over: none is cut short
            self.out.load_seconds += self.db.busy_seconds

    async def run_pass(self, names, full_refresh, since, details) -> Outcome:
        started = datetime.fromtimestamp(self.wall(), UTC)
        self.out = Outcome(0, started)  # (0 until sync_runs has the row: there may be no disk to write it on)
        self.out.run_id = await self.db.call(start_run, started, self.recorded_settings())
        await self.client.get("/products", {"page_size": 1})  # the server's clock pins the pass
        through, note = await self.db.call(pin, self.client.server_date, started)
        self.out.data_through = through
        self.out.notes += [note] if note else []
        await self.db.call(
            lambda con: con.execute(
                "UPDATE sync_runs SET data_through = ? WHERE run_id = ?", [through, self.out.run_id]
            )
        )
        self.pin = to_us(through)
        before = {n: await self.count(RESOURCES[n].table) for n in names}
        # tables empty before the pass (a first backfill) take plain INSERTs, much faster than upserts
        self.fresh = {RESOURCES[n].table for n in names if before[n] == 0}
        self.queue: asyncio.Queue = asyncio.Queue()
        self.open_windows: dict[str, int] = {}

        async def plan(name):
            try:
                await self.plan(RESOURCES[name], full_refresh, since)
            except ForbiddenError as exc:
                await self.skip(name, exc)

        # in parallel: probing where each resource's history starts takes a few requests each
        await asyncio.gather(*(plan(name) for name in names))
        await self.drain(self.fetch_window)
        for name in names:
            self.out.new[name] = await self.count(RESOURCES[name].table) - before[name]
        if details and "payments" in names and "payments" not in self.out.skipped:
            await self.fetch_details()
        return self.out

    def recorded_settings(self) -> dict:
        s = self.settings
        return {
            "environment": s.environment,
            "timezone": s.timezone,
            "grace_days": s.grace_days,
            "recovery_days": s.recovery_days,
            "lookback_days": s.lookback_days,
            "detail_budget": s.detail_budget,
            "per_second": s.per_second,
            "per_minute": s.per_minute,
        }

    async def count(self, table: str, where: str = "", params=()) -> int:
        return await self.db.call(
            lambda con: con.execute(f"SELECT count(*) FROM {table} {where}", params).fetchall()[0][0]
        )

    async def skip(self, name: str, exc: Exception) -> None:
        self.out.skipped[name] = str(exc)
        self.open_windows[name] = 0
        await self.db.call(lambda con: con.execute("DELETE FROM sync_windows WHERE resource = ?", [name]))

    async def drain(self, work) -> None:
        """Run `work` over the queue with as many workers as requests may be in flight."""
        failure: list[BaseException] = []

        async def worker():
            while True:
                item = await self.queue.get()
                try:
                    if not failure:
                        await work(*item)
                except ForbiddenError as exc:
                    await self.skip(item[0].name, exc)
                except BaseException as exc:  # re-raised below, once every worker has stopped
                    failure.append(exc)
                finally:
                    self.queue.task_done()

        workers = [asyncio.create_task(worker()) for _ in range(self.settings.concurrency)]
        await self.queue.join()
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if failure:
            raise failure[0]

    # -- planning ----------------------------------------------------------------------------------
    async def plan(self, r: Resource, full_refresh: bool, since: datetime | None) -> None:
        reset = full_refresh or since is not None  # a new starting point replaces any resumed plan
        pending, (complete, planned) = await self.db.call(resumable, r.name, reset)
        complete = None if full_refresh else complete
        new: list[Window] = []
        if r.mode == "all":
            new = [] if pending else [Window(None, None, extra) for extra in r.extras]
        elif pending:
            if planned is not None and to_us(planned) < self.pin:  # a resumed plan, plus what is new since
                new = await self.windows(r, to_us(planned) + 1, self.pin)
        else:
            start = None
            if r.mode == "incremental" and complete is not None:
                start = to_us(complete) - self.settings.lookback_days.get(r.name, 0) * US_PER_DAY
            if since is not None:
                # never later than where the last complete run stopped: that would leave a hole
                start = to_us(since) if start is None else min(start, to_us(since))
            elif r.mode == "full":
                start = await self.oldest_stored(r)
            if start is None:
                start = await self.probe_oldest(r)
            new = await self.windows(r, start, self.pin) if start is not None else []
        await self.db.commit(wh.Change(r.name, new=tuple(new), planned_through=from_us(self.pin)))
        plan = pending + new
        self.open_windows[r.name] = len(plan)
        self.out.fetched.setdefault(r.name, 0)
        if not plan:
            await self.db.call(finish, r.name)
        for w in plan:
            self.queue.put_nowait((r, w))

    async def oldest_stored(self, r: Resource) -> int | None:
        row = await self.db.call(
            lambda con: con.execute(f"SELECT min(created_at) FROM {r.table}").fetchall()[0][0]
        )
        return None if row is None else to_us(row)

    async def windows(self, r: Resource, start: int, end: int) -> list[Window]:
        """Split [start, end] in windows; about four pages each by what the warehouse already holds."""
        if start > end:
            return []
        # Nothing known yet (planning runs before any row of the pass lands): many windows, for
        # parallelism; otherwise about four pages a window.
        if r.table in self.fresh:
            return split(Window(start, end), 16)
        stored = await self.count(r.table, "WHERE created_at BETWEEN ? AND ?", [from_us(start), from_us(end)])
        parts = max(1, min(16, math.ceil(stored / 400)))
        return split(Window(start, end), parts)

    async def probe_oldest(self, r: Resource) -> int | None:
        """The API has no count and no ascending order: find where history starts by asking whether
        anything exists before ever earlier instants, then narrowing by halves."""

        async def any_before(t: int) -> bool:
            data = await self.client.get(r.path, {"page_size": 1, "created_at_lte": iso_us(t)})
            return bool(data.get("items"))

        if not await any_before(self.pin):
            return None
        span = US_PER_DAY
        while await any_before(self.pin - span):
            if span > 40 * 365 * US_PER_DAY:
                return 0
            span *= 4
        lo, hi = self.pin - span, self.pin - span // 4  # nothing at or before lo; something at or before hi
        for _ in range(6):
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if await any_before(mid) else (mid, hi)
        return lo

    # -- fetching ----------------------------------------------------------------------------------
    async def fetch_window(self, r: Resource, w: Window) -> None:
        if r.name in self.out.skipped:
            return
        page, items, oldest = 0, [], None
        while True:
            data = await self.client.get(r.path, page_params(w, page))
            batch = data.get("items") if isinstance(data, dict) else None
            if not isinstance(batch, list):
                raise ApiError(
                    f"GET {r.path} answered without an items list; is DODO_PAYMENTS_BASE_URL the API?"
                )
            items += batch
            for item in batch:
                try:
                    t = to_us(datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")))
                except (TypeError, KeyError, ValueError, AttributeError):
                    continue  # reported when the record is parsed
                oldest = t if oldest is None else min(oldest, t)
            step, rest = next_step(w, page, batch, oldest)
            if step == "next":
                page += 1
                continue
            await self.commit(r, w, items, rest)
            for part in rest:
                self.queue.put_nowait((r, part))
            return

    async def commit(self, r: Resource, w: Window, items: list, rest: list[Window]) -> None:
        """Parse here, on the event loop, while the writer thread inserts what came before."""
        started = time.perf_counter()
        batch, bad = records.table(r.columns, items)
        if r.name == "products":
            archived = dict(w.extra).get("archived") == "true"
            batch = batch.append_column("archived", pa.array([archived] * batch.num_rows))
        self.out.load_seconds += time.perf_counter() - started
        await self.store(r, batch, bad, w, rest)
        self.out.fetched[r.name] += batch.num_rows
        self.out.rejected += [(r.name, i, why) for i, why in bad]
        self.open_windows[r.name] += len(rest) - 1
        if self.open_windows[r.name] == 0:  # every window of the plan is committed: none can still fail
            await self.db.call(finish, r.name)
        self.progress(self.out)

    async def store(self, r: Resource, batch: pa.Table, bad: list, w: Window | None = None, rest=()) -> None:
        """The rows, the rejected records and the window's place in the plan, in one commit."""
        rejected = tuple((self.out.run_id, r.name, record_id, reason) for record_id, reason in bad)
        change = wh.Change(
            r.name, r.table, batch, rejected=rejected, done=() if w is None else (w,), new=tuple(rest)
        )
        if r.table in self.fresh:
            try:
                return await self.db.commit(change._replace(replace=False))
            except duckdb.ConstraintException:
                pass  # a record read twice (split windows share an instant): replace it after all
        await self.db.commit(change)

    # -- payment details ---------------------------------------------------------------------------
    async def fetch_details(self) -> None:
        """Every failed payment's detail (decline code and message), then others newest first within
        the per-run budget; a detail is fetched again when the payment's status has moved since."""
        ids = await self.db.call(stale_details, self.settings.detail_budget)
        for start in range(0, len(ids), DETAIL_BATCH):
            self.queue.put_nowait((RESOURCES["payments"], ids[start : start + DETAIL_BATCH]))
        await self.drain(self.fetch_detail_batch)

    async def fetch_detail_batch(self, r: Resource, ids: list[str]) -> None:
        """A detail that cannot be had (404, 403, or still failing after the retries) is noted in
        rejected_records and left for the next run: the list row is there, only its extras are missing."""
        if "payment details" in self.out.skipped:
            return
        missing = []

        async def one(payment_id):
            try:
                return await self.client.get(f"/payments/{payment_id}")
            except ForbiddenError:
                self.out.skipped["payment details"] = "the key may not read /payments/{id} (403)"
            except ApiError as exc:
                missing.append((payment_id, str(exc)[:200]))
            return None

        got = [d for d in await asyncio.gather(*(one(i) for i in ids)) if d is not None]
        batch, bad = records.table(DETAILS.columns, got)
        await self.store(DETAILS, batch, bad + missing)
        self.out.details_missing += len(missing)
        self.out.details += batch.num_rows
        self.out.rejected += [("payment_details", i, why) for i, why in bad]
        self.progress(self.out)


# -- what the writer thread runs (each gets the connection first) -------------------------------------
def start_run(con, started: datetime, settings: dict) -> int:
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM sync_runs").fetchall()[0][0]
    con.execute("UPDATE sync_runs SET status = 'interrupted' WHERE status = 'running'")
    con.execute(
        "INSERT INTO sync_runs (run_id, started_at, status, settings) VALUES (?, ?, 'running', ?)",
        [run_id, started, json.dumps(settings)],
    )
    return run_id


def pin(con, date_header: str | None, started: datetime) -> tuple[datetime, str | None]:
    """data_through for this pass: the API's clock (its Date header), with two guards. Never later than
    this machine's clock by more than SKEW: a server clock ahead would pin the pass in the future, and
    the ledger (read on from where the last pass stopped, with no look-back) would then skip what is
    created until then. Never earlier than a previous pass's: a server clock that jumped back would
    move data_through backwards and shift every "as of" number. Either way, the earlier instant is the
    safe one: what it leaves out, the next pass reads."""
    try:
        server = parsedate_to_datetime(date_header).astimezone(UTC)
    except (TypeError, ValueError):
        server, note = started, "the API sent no usable Date header: this machine's clock dates the pass"
    else:
        note = None
        if server > started + SKEW:
            server, note = (
                started,
                (
                    f"the API's clock ({date_header}) is ahead of this machine's: this machine's "
                    "clock dates the pass"
                ),
            )
    (last,) = con.execute("SELECT max(data_through) FROM sync_runs WHERE status LIKE 'ok%'").fetchall()[0]
    if last is not None and server < last:
        whose = "the API's" if note is None else "this machine's"
        return last, (
            f"{whose} clock ({server:%Y-%m-%d %H:%M:%S} UTC) is behind the last sync's data through "
            f"({last:%Y-%m-%d %H:%M:%S} UTC): data through stays there"
        )
    return server, note


def resumable(con, resource: str, reset: bool) -> tuple[list[Window], tuple]:
    """The windows a killed pass left to fetch (none when `reset`: a new starting point replaces
    them), and the resource's (complete_through, planned_through)."""
    if reset:
        con.execute("DELETE FROM sync_windows WHERE resource = ?", [resource])
    pending = [
        Window(g, lte, tuple(map(tuple, json.loads(e)))) for g, lte, e in wh.pending_windows(con, resource)
    ]
    return pending, wh.state(con, resource)


def finish(con, resource: str) -> None:
    con.execute("UPDATE sync_state SET complete_through = planned_through WHERE resource = ?", [resource])


def stale_details(con, budget: int) -> list[str]:
    stale = (
        "FROM payments p LEFT JOIN payment_details d USING (payment_id) "
        "WHERE (d.payment_id IS NULL OR d.detail_status IS DISTINCT FROM p.status)"
    )
    failed = con.execute(
        f"SELECT payment_id {stale} AND p.status = 'failed' ORDER BY p.created_at DESC"
    ).fetchall()
    others = con.execute(
        f"SELECT payment_id {stale} AND p.status IS DISTINCT FROM 'failed' "
        "ORDER BY p.created_at DESC LIMIT ?",
        [budget],
    ).fetchall()
    return [i for (i,) in failed + others]
