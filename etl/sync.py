"""One sync pass: plan windows per resource, fetch them in parallel under the rate limit, commit each
window with its rows, then fetch payment details. See DESIGN.md "Sync strategy"."""

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from . import warehouse as wh
from .client import ApiError, DodoClient, ForbiddenError
from .pager import Window, iso_us, next_step, page_params, split
from .records import parse as parse_records

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_DAY = 86_400_000_000
DETAIL_BATCH = 100


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    table: str
    mode: str  # "incremental": new records plus a look-back; "full": every record every run; "all": no time filter
    extras: tuple = ((),)

    @property
    def columns(self) -> tuple:
        return wh.TABLES[self.table][0]  # the warehouse table says which API fields become columns


RESOURCES = {
    "products": Resource("products", "/products", "products", "all",
                         extras=((("archived", "false"),), (("archived", "true"),))),
    "customers": Resource("customers", "/customers", "customers", "full"),
    "subscriptions": Resource("subscriptions", "/subscriptions", "subscriptions", "full"),
    "payments": Resource("payments", "/payments", "payments", "incremental"),
    "refunds": Resource("refunds", "/refunds", "refunds", "incremental"),
    "disputes": Resource("disputes", "/disputes", "disputes", "incremental"),
    "ledger": Resource("ledger", "/balances/ledger", "ledger_entries", "incremental"),
}  # fmt: skip


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
    load_seconds: float = 0.0  # time spent turning fetched pages into committed rows
    details_missing: int = 0  # payment details the API would not give this run (retried next run)


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
        con = self.con
        run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM sync_runs").fetchall()[0][0]
        con.execute("UPDATE sync_runs SET status = 'interrupted' WHERE status = 'running'")
        started = datetime.fromtimestamp(self.wall(), UTC)
        self.out = Outcome(run_id, started)
        con.execute("INSERT INTO sync_runs (run_id, started_at, status, settings) VALUES (?, ?, 'running', ?)",
                    [run_id, started, json.dumps(self.recorded_settings())])  # fmt: skip
        await self.client.get("/products", {"page_size": 1})  # the server's clock pins the pass
        date = self.client.server_date
        through = parsedate_to_datetime(date).astimezone(UTC) if date else started
        self.out.data_through = through
        con.execute("UPDATE sync_runs SET data_through = ? WHERE run_id = ?", [through, run_id])
        self.pin = to_us(through)
        before = {n: self.count(RESOURCES[n].table) for n in names}
        self.queue: asyncio.Queue = asyncio.Queue()
        self.open_windows: dict[str, int] = {}

        async def plan(name):
            try:
                await self.plan(RESOURCES[name], full_refresh, since)
            except ForbiddenError as exc:
                self.skip(name, exc)

        # in parallel: probing where each resource's history starts takes a few requests each
        await asyncio.gather(*(plan(name) for name in names))
        await self.drain(self.fetch_window)
        for name in names:
            self.out.new[name] = self.count(RESOURCES[name].table) - before[name]
        if details and "payments" in names and "payments" not in self.out.skipped:
            await self.fetch_details()
        return self.out

    def recorded_settings(self) -> dict:
        s = self.settings
        return {"environment": s.environment, "timezone": s.timezone, "grace_days": s.grace_days,
                "recovery_days": s.recovery_days, "lookback_days": s.lookback_days, "detail_budget": s.detail_budget,
                "per_second": s.per_second, "per_minute": s.per_minute}  # fmt: skip

    def count(self, table: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]

    def skip(self, name: str, exc: Exception) -> None:
        self.out.skipped[name] = str(exc)
        self.con.execute("DELETE FROM sync_windows WHERE resource = ?", [name])
        self.open_windows[name] = 0

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
                    self.skip(item[0].name, exc)
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
        con = self.con
        if full_refresh or since is not None:  # a new starting point replaces any resumed plan
            con.execute("DELETE FROM sync_windows WHERE resource = ?", [r.name])
        pending = [
            Window(g, lte, tuple(map(tuple, json.loads(e)))) for g, lte, e in wh.pending_windows(con, r.name)
        ]
        complete, planned = wh.state(con, r.name)
        complete = None if full_refresh else complete
        new: list[Window] = []
        if r.mode == "all":
            new = [] if pending else [Window(None, None, extra) for extra in r.extras]
        elif pending:
            if planned is not None and to_us(planned) < self.pin:
                new = self.windows(r, to_us(planned) + 1, self.pin)  # a resumed plan, plus what is new since
        else:
            start = None
            if r.mode == "incremental" and complete is not None:
                start = to_us(complete) - self.settings.lookback_days.get(r.name, 0) * US_PER_DAY
            if since is not None:
                # never later than where the last complete run stopped: that would leave a hole
                start = to_us(since) if start is None else min(start, to_us(since))
            elif r.mode == "full":
                start = self.oldest_stored(r)
            if start is None:
                start = await self.probe_oldest(r)
            new = self.windows(r, start, self.pin) if start is not None else []
        with wh.transaction(con):
            wh.replace_window(con, r.name, None, new)
            wh.set_planned(con, r.name, from_us(self.pin))
        plan = pending + new
        self.open_windows[r.name] = len(plan)
        self.out.fetched.setdefault(r.name, 0)
        if not plan:
            self.finish(r)
        for w in plan:
            self.queue.put_nowait((r, w))

    def oldest_stored(self, r: Resource) -> int | None:
        row = self.con.execute(f"SELECT min(created_at) FROM {r.table}").fetchall()[0][0]
        return None if row is None else to_us(row)

    def windows(self, r: Resource, start: int, end: int) -> list[Window]:
        """Split [start, end] in windows; about four pages each by what the warehouse already holds."""
        if start > end:
            return []
        stored = self.con.execute(f"SELECT count(*) FROM {r.table} WHERE created_at BETWEEN ? AND ?",
                                  [from_us(start), from_us(end)]).fetchall()[0][0]  # fmt: skip
        first_time = self.con.execute(f"SELECT count(*) = 0 FROM {r.table}").fetchall()[0][0]
        # Nothing known yet: many windows, for parallelism; otherwise about four pages a window.
        parts = 16 if first_time else max(1, min(16, math.ceil(stored / 400)))
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
            self.commit(r, w, items, rest)
            for part in rest:
                self.queue.put_nowait((r, part))
            return

    def commit(self, r: Resource, w: Window, items: list, rest: list[Window]) -> None:
        started = time.perf_counter()
        values, bad = parse_records(r.columns, items)
        extra = None
        if r.name == "products":
            archived = dict(w.extra).get("archived") == "true"
            extra = {"archived": ("bool", [archived] * len(values["raw"]))}
        con = self.con
        with wh.transaction(con):
            if values["raw"]:
                wh.upsert(con, r.table, values, datetime.now(UTC), extra)
            for record_id, reason in bad:
                con.execute(
                    "INSERT INTO rejected_records VALUES (?, ?, ?, ?)",
                    [self.out.run_id, r.name, record_id, reason],
                )
            wh.replace_window(con, r.name, w, rest)
        self.out.load_seconds += time.perf_counter() - started
        self.out.fetched[r.name] += len(values["raw"])
        self.out.rejected += [(r.name, i, why) for i, why in bad]
        self.open_windows[r.name] += len(rest) - 1
        if self.open_windows[r.name] == 0:
            self.finish(r)
        self.progress(self.out)

    def finish(self, r: Resource) -> None:
        self.con.execute(
            "UPDATE sync_state SET complete_through = planned_through WHERE resource = ?", [r.name]
        )

    # -- payment details ---------------------------------------------------------------------------
    async def fetch_details(self) -> None:
        """Every failed payment's detail (decline code and message), then others newest first within
        the per-run budget; a detail is fetched again when the payment's status has moved since."""
        stale = ("FROM payments p LEFT JOIN payment_details d USING (payment_id) "
                 "WHERE (d.payment_id IS NULL OR d.detail_status IS DISTINCT FROM p.status)")  # fmt: skip
        failed = self.con.execute(f"SELECT payment_id {stale} AND p.status = 'failed' "
                                  "ORDER BY p.created_at DESC").fetchall()  # fmt: skip
        others = self.con.execute(f"SELECT payment_id {stale} AND p.status IS DISTINCT FROM 'failed' "
                                  "ORDER BY p.created_at DESC LIMIT ?", [self.settings.detail_budget]).fetchall()  # fmt: skip
        ids = [i for (i,) in failed + others]
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
        values, bad = parse_records(wh.TABLES["payment_details"][0], got)
        with wh.transaction(self.con):
            if values["raw"]:
                wh.upsert(self.con, "payment_details", values, datetime.now(UTC))
            for record_id, reason in bad + missing:
                self.con.execute("INSERT INTO rejected_records VALUES (?, ?, ?, ?)",
                                 [self.out.run_id, "payment_details", record_id, reason])  # fmt: skip
        self.out.details_missing += len(missing)
        self.out.details += len(values["raw"])
        self.out.rejected += [("payment_details", i, why) for i, why in bad]
        self.progress(self.out)
