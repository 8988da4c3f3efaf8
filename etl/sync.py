"""One sync pass: plan windows per resource, fetch them in parallel under the rate limit, commit each
window with its rows, then fetch payment details. See docs/architecture.md §3."""

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from core.errors import ApiError, ForbiddenError
from core.settings import Settings

from . import bookkeeping, coverage, payment_details, records, stages, unsettled
from . import warehouse as wh
from .client import DodoClient
from .loader import Loader
from .pager import US_PER_DAY, Window, from_us, iso_us, next_step, page_params, split, to_us
from .resources import DETAILS, RESOURCES, Mode, Resource
from .stages import Stage


@dataclass
class Outcome:
    run_id: int
    data_through: datetime
    fetched: dict[str, int] = field(default_factory=dict)  # resource -> records read (re-reads included)
    new: dict[str, int] = field(default_factory=dict)  # resource -> rows added to the warehouse
    skipped: dict[str, str] = field(default_factory=dict)  # resource -> why
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (resource, id, reason)
    details: int = 0
    load_seconds: float = 0.0  # time spent turning fetched pages into committed rows (parse + commit)
    details_missing: int = 0  # payment details the API would not give this run (retried next run)
    reread: dict[str, int] = field(default_factory=dict)  # resource -> records not final, read again by id
    unplaced: int = 0  # loaded records the money tables had to leave out (listed in rejected_records)
    stage: str = ""  # what a first sync is reading (docs/architecture.md §3.10)
    publishes: list[str] = field(default_factory=list)  # a first sync's early publishes: stage (seconds in)
    notes: list[str] = field(default_factory=list)  # what the summary should tell, short of an error


class Sync:
    """One pass into the working copy. Everything it writes goes through `writer`, the working copy's
    writer thread, which `run` ends (waiting for what was handed over) before it returns."""

    def __init__(
        self,
        settings: Settings,
        client: DodoClient,
        writer: Loader,
        progress: Callable[[Outcome], None] | None = None,
        wall: Callable[[], float] = time.time,
        publish: Callable[[], Awaitable[None]] | None = None,
    ):
        self.settings, self.client, self.writer = settings, client, writer
        self.progress = progress or (lambda outcome: None)
        # a first sync publishes what it has while it loads: `publish` does it (on the writer thread)
        self.publish, self.wall = publish, wall
        self.last_publish: float | None = None  # when the last early publish began (None: none yet)
        self.staged = False  # a first sync, read in stages
        self.started = datetime.fromtimestamp(wall(), UTC)
        # run_id is 0 until sync_runs has the row (there may be no disk to write it on)
        self.out = Outcome(0, self.started)
        self.through_us = 0  # data_through in microseconds once pinned: where every window ends
        # tables empty before the pass (a first backfill) take plain INSERTs, much faster than upserts
        self.empty_tables: set[str] = set()
        self.queue: asyncio.Queue = asyncio.Queue()  # the work `drain` hands to its workers
        self.open_windows: dict[str, int] = {}  # resource -> windows of its plan not committed yet
        self.waiting: dict[str, list[Window]] = {}  # resource -> windows of its plan not queued yet

    # -- the pass ----------------------------------------------------------------------------------
    async def run(
        self,
        names: list[str],
        full_refresh: bool = False,
        since: datetime | None = None,
        details: bool = True,
    ) -> Outcome:
        try:
            return await self.run_pass(names, full_refresh, since, details)
        finally:
            self.writer.close()  # waits for the commits already handed over: none is cut short
            self.out.load_seconds += self.writer.busy_seconds

    async def run_pass(
        self, names: list[str], full_refresh: bool, since: datetime | None, details: bool
    ) -> Outcome:
        recorded = bookkeeping.recorded(self.settings)
        self.out.run_id = await self.writer.call(bookkeeping.start_run, self.started, recorded)
        await self.client.get("/products", {"page_size": 1})  # the server's clock pins the pass
        through, note = await self.writer.call(
            bookkeeping.pin, self.client.server_date, self.started, self.settings.trust_api_clock
        )
        self.out.data_through = through
        self.out.notes += [note] if note else []
        await self.writer.call(bookkeeping.set_data_through, self.out.run_id, through)
        self.through_us = to_us(through)
        before = {n: await self.count(RESOURCES[n].table) for n in names}
        self.empty_tables = {RESOURCES[n].table for n in names if before[n] == 0}

        async def plan(name):
            try:
                await self.plan(RESOURCES[name], full_refresh, since)
            except ForbiddenError as exc:
                await self.skip(name, exc)

        # a first sync (payments never complete) reads newest first, in stages, publishing as it goes
        self.staged = (
            self.publish is not None
            and "payments" in names
            and (await self.writer.call(bookkeeping.state, "payments"))[0] is None
        )
        # in parallel: probing where each resource's history starts takes a few requests each
        await asyncio.gather(*(plan(name) for name in names))
        if self.staged:
            await self.read_stages(names)
        else:
            await self.read_stage(Stage("every resource", None, tuple(names)), names)
        for name in names:
            self.out.new[name] = await self.count(RESOURCES[name].table) - before[name]
        self.out.stage = "records not final"
        await self.reread([n for n in names if n in unsettled.NOT_FINAL and n not in self.out.skipped])
        if details and "payments" in names and "payments" not in self.out.skipped:
            self.out.stage = "payment details"
            # a first sync reads the details that change a number (and is long enough as it is):
            # the budget of others, for settlement and country, starts with the next run
            await self.fetch_details(budget=0 if self.staged else None)
        return self.out

    async def count(self, table: str, where: str = "", params=()) -> int:
        return await self.writer.call(
            lambda con: con.execute(f"SELECT count(*) FROM {table} {where}", params).fetchall()[0][0]
        )

    async def skip(self, name: str, exc: Exception) -> None:
        self.out.skipped[name] = str(exc)
        self.open_windows[name] = 0
        await self.writer.call(bookkeeping.drop_plan, name)

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
        pending, (complete, planned) = await self.writer.call(bookkeeping.resumable, r.name, reset)
        complete = None if full_refresh else complete
        new: list[Window] = []
        if r.mode is Mode.ALL:
            new = [] if pending else [Window(None, None, params) for params in r.param_sets]
        elif pending:
            if (
                planned is not None and to_us(planned) < self.through_us
            ):  # a resumed plan, plus what is new since
                new = await self.windows(r, to_us(planned) + 1, self.through_us)
        else:
            start = None
            if r.mode is Mode.INCREMENTAL and complete is not None:
                start = to_us(complete) - self.settings.lookback_days.get(r.name, 0) * US_PER_DAY
            if since is not None:
                # never later than where the last complete run stopped: that would leave a hole
                start = to_us(since) if start is None else min(start, to_us(since))
            elif r.mode is Mode.FULL:
                start = await self.oldest_stored(r)
            if start is None:
                start = await self.probe_oldest(r)
            new = await self.windows(r, start, self.through_us) if start is not None else []
        await self.writer.commit(wh.Change(r.name, new=tuple(new), planned_through=from_us(self.through_us)))
        plan = pending + new
        self.open_windows[r.name] = len(plan)
        self.out.fetched.setdefault(r.name, 0)
        if not plan:
            await self.writer.call(bookkeeping.finish, r.name)
        self.waiting[r.name] = plan

    async def oldest_stored(self, r: Resource) -> int | None:
        row = await self.writer.call(
            lambda con: con.execute(f"SELECT min(created_at) FROM {r.table}").fetchall()[0][0]
        )
        return None if row is None else to_us(row)

    async def windows(self, r: Resource, start: int, end: int) -> list[Window]:
        """Split [start, end] in windows; about four pages each by what the warehouse already holds."""
        if start > end:
            return []
        # Nothing known yet (planning runs before any row of the pass lands): many windows, for
        # parallelism, or one for a first sync, whose stages cut it (read_stage); otherwise about
        # four pages a window.
        if r.table in self.empty_tables:
            return split(Window(start, end), 1 if self.staged else 16)
        stored = await self.count(r.table, "WHERE created_at BETWEEN ? AND ?", [from_us(start), from_us(end)])
        parts = max(1, min(16, math.ceil(stored / 400)))
        return split(Window(start, end), parts)

    async def probe_oldest(self, r: Resource) -> int | None:
        """The API has no count and no ascending order: find where history starts by asking whether
        anything exists before ever earlier instants, then narrowing by halves."""

        async def any_before(t: int) -> bool:
            data = await self.client.get(r.path, {"page_size": 1, "created_at_lte": iso_us(t)})
            return bool(data.get("items"))

        if not await any_before(self.through_us):
            return None
        span = US_PER_DAY
        while await any_before(self.through_us - span):
            if span > 40 * 365 * US_PER_DAY:
                return 0
            span *= 4
        # nothing at or before lo; something at or before hi
        lo, hi = self.through_us - span, self.through_us - span // 4
        for _ in range(6):
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if await any_before(mid) else (mid, hi)
        return lo

    # -- a first sync's stages (docs/architecture.md §3.10) -----------------------------------------
    async def read_stages(self, names: list[str]) -> None:
        for stage in stages.OPENING:
            await self.read_stage(stage, names)
        mrr_days = await self.writer.call(coverage.mrr_days, self.settings.grace_days)
        ends = [w.lte for n in names for w in self.waiting.get(n, []) if w.lte is not None]
        for stage in stages.history(mrr_days, min(ends, default=None), self.through_us):
            await self.read_stage(stage, names)

    async def read_stage(self, stage: Stage, names: list[str]) -> None:
        """Queue the stage's windows (cutting those across its horizon), read them, then the details
        that decide whether its payments count (and its failed payments', when it asks); publish
        when it is a milestone of a first sync."""
        self.out.stage = stage.name
        horizon = None if stage.days is None else self.through_us - stage.days * US_PER_DAY
        for name in names:
            r, plan = RESOURCES[name], self.waiting.get(name, [])
            if r.mode is Mode.INCREMENTAL:
                parts = await self.parts(r, horizon)
                now, later, cuts = stages.take(plan, horizon, parts)
                for old, new in cuts:
                    await self.writer.commit(wh.Change(name, done=(old,), new=tuple(new)))
                    self.open_windows[name] += len(new) - 1
            elif name in stage.whole:
                now, later = plan, []
            else:
                continue
            self.waiting[name] = later
            for w in now:
                self.queue.put_nowait((r, w))
        await self.drain(self.fetch_window)
        if not self.staged or "payments" in self.out.skipped:
            return  # (a later pass fetches its details after the re-reads only)
        since = None if horizon is None else from_us(horizon)
        await self.fetch_details(since, stage.failed_details, budget=0)
        if stage.milestone or self.publish_due():
            await self.publish_now()

    async def parts(self, r: Resource, horizon: int | None) -> int:
        """How many windows the newer part of a window cut at a stage's horizon becomes: about 20
        pages each by the density of what is loaded, one when nothing is (the pager splits a deep
        window itself; each window more costs its last, short page)."""
        if horizon is None:
            return 1  # nothing is cut
        count, oldest = await self.writer.call(
            lambda con: con.execute(f"SELECT count(*), min(created_at) FROM {r.table}").fetchall()[0]
        )
        if not count:
            return 1
        per_us = count / max(1, self.through_us - to_us(oldest))
        return max(1, min(16, math.ceil(per_us * (self.through_us - horizon) / 2000)))

    def publish_due(self) -> bool:
        """A first sync published early DODO_ANALYTICS_PUBLISH_MINUTES ago or more (always, with 0)."""
        minutes = self.settings.publish_minutes
        return self.last_publish is not None and self.wall() - self.last_publish >= minutes * 60

    async def publish_if_due(self) -> None:
        """Between windows and detail batches: publish when the timer says (with 0 minutes, only
        at the end of each stage, read_stage)."""
        if self.settings.publish_minutes and self.publish_due():
            await self.publish_now()

    async def publish_now(self) -> None:
        """Publish what is committed (pipeline's early publish); the workers go on meanwhile, their
        commits waiting behind it on the writer thread."""
        assert self.publish is not None
        self.last_publish = self.wall()  # set first: workers that see it due meanwhile do not publish too
        await self.publish()
        self.out.publishes.append(f"{self.out.stage} ({self.wall() - self.started.timestamp():.0f} s)")

    # -- fetching ----------------------------------------------------------------------------------
    async def fetch_window(self, r: Resource, w: Window) -> None:
        if r.name in self.out.skipped:
            return
        page, items, oldest, previous = 0, [], None, None
        while True:
            data = await self.client.get(r.path, page_params(w, page))
            batch = data.get("items") if isinstance(data, dict) else None
            if not isinstance(batch, list):
                raise ApiError(
                    f"GET {r.path} answered without an items list; is DODO_PAYMENTS_BASE_URL the API?"
                )
            if batch and batch == previous:  # else a server that ignores page_number is paged forever
                raise ApiError(
                    f"GET {r.path} answered page {page} with the same records as page {page - 1}: the "
                    "server ignores page_number; is DODO_PAYMENTS_BASE_URL the Dodo API?"
                )
            previous = batch
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
            await self.writer.call(bookkeeping.finish, r.name)
        self.progress(self.out)
        await self.publish_if_due()

    async def store(self, r: Resource, batch: pa.Table, bad: list, w: Window | None = None, rest=()) -> None:
        """The rows, the rejected records and the window's place in the plan, in one commit."""
        rejected = tuple((self.out.run_id, r.name, record_id, reason) for record_id, reason in bad)
        change = wh.Change(
            r.name, r.table, batch, rejected=rejected, done=() if w is None else (w,), new=tuple(rest)
        )
        if r.table in self.empty_tables:
            try:
                return await self.writer.commit(change._replace(replace=False))
            except duckdb.ConstraintException:
                pass  # a record read twice (split windows share an instant): replace it after all
        await self.writer.commit(change)

    # -- records not final yet ---------------------------------------------------------------------
    async def reread(self, names: list[str]) -> None:
        for name in names:
            record_ids = await self.writer.call(unsettled.ids, name, self.started)
            for start in range(0, len(record_ids), payment_details.BATCH):
                self.queue.put_nowait((RESOURCES[name], record_ids[start : start + payment_details.BATCH]))
        await self.drain(self.reread_batch)

    async def reread_batch(self, r: Resource, record_ids: list[str]) -> None:
        try:
            got, missing = await unsettled.fetch(self.client, r.name, record_ids)
        except ForbiddenError:
            note = f"the key may not read {unsettled.NOT_FINAL[r.name][0]}: {r.name} not final are not read again"
            self.out.notes += [] if note in self.out.notes else [note]
            return
        into = unsettled.target(r.name)
        batch, bad = records.table(into.columns, got)
        await self.store(into, batch, bad + missing)
        if r.name == "payments":
            await self.writer.call(lambda con: con.execute(unsettled.PAYMENT_STATUS, [record_ids]))
        self.out.reread[r.name] = self.out.reread.get(r.name, 0) + batch.num_rows
        self.out.rejected += [(r.name, i, why) for i, why in bad]

    # -- payment details ---------------------------------------------------------------------------
    async def fetch_details(
        self, since: datetime | None = None, failed: bool = True, budget: int | None = None
    ):
        budget = self.settings.detail_budget if budget is None else budget
        ids = await self.writer.call(payment_details.stale, budget, since, failed)
        for start in range(0, len(ids), payment_details.BATCH):
            self.queue.put_nowait((RESOURCES["payments"], ids[start : start + payment_details.BATCH]))
        await self.drain(self.fetch_detail_batch)

    async def fetch_detail_batch(self, r: Resource, ids: list[str]) -> None:
        """A detail that cannot be had (404, 403, or still failing after the retries) is noted in
        rejected_records and left for the next run: the list row is there, only its extras are missing."""
        if payment_details.SKIPPED in self.out.skipped:
            return
        got, missing = await payment_details.fetch(self.client, ids, self.out.skipped)
        batch, bad = records.table(DETAILS.columns, got)
        await self.store(DETAILS, batch, bad + missing)
        self.out.details_missing += len(missing)
        self.out.details += batch.num_rows
        self.out.rejected += [("payment_details", i, why) for i, why in bad]
        self.progress(self.out)
        await self.publish_if_due()
