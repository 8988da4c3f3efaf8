"""The one thread that touches the working warehouse during a sync pass.

Fetching runs on asyncio; DuckDB releases the GIL while it inserts. Handing every statement to one
writer thread lets the next pages be parsed while the previous ones are inserted (both cores busy),
keeps the connection on a single thread, and runs statements in the order they were asked for.
Window commits that queue up while the writer is busy share one transaction: fewer, larger commits,
each still holding whole windows together with their plan changes, so a kill loses no more than
the commits in flight and never half a window. Their rows for one table go in as one statement: a
statement takes the GIL several times while it runs (DuckDB checks for Ctrl-C between tasks), and
each time it waits for the event loop to let go, so a few large statements go much faster than
many small ones while pages are being parsed.
"""

import asyncio
import contextlib
import queue
import threading
import time
from concurrent.futures import Future
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from . import warehouse as wh

MAX_BATCH_ROWS = 20_000  # enough to amortise a commit; small enough to keep memory and kill losses low
_STOP = object()


class Loader:
    def __init__(self, con):
        self.con = con
        self.busy_seconds = 0.0  # time spent in window commits (inserting rows and updating the plan)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        # One DuckDB thread while the writer works: inserts of a window or two gain nothing from more,
        # and the other core is parsing the next pages (measured: 20-40% more rows/s here).
        con.execute("SET threads = 1")
        self._thread = threading.Thread(target=self._work, name="warehouse-writer", daemon=True)
        self._thread.start()

    async def call(self, fn, *args):
        """`fn(con, *args)` on the writer thread, on its own; its result, or its exception."""
        return await self._submit(fn, args, None)

    async def commit(self, fn, *args, rows: tuple[str, pa.Table, bool] | None = None):
        """`fn(con, *args)` inside a transaction, maybe shared with other commits queued behind it,
        together with `rows` = (table, Arrow table, replace) for `warehouse.upsert`."""
        return await self._submit(fn, args, rows or ("", pa.table({}), False))

    def close(self) -> None:
        """Finish what was asked, then stop the thread: the connection is the caller's again."""
        self._jobs.put(_STOP)
        self._thread.join()
        self.con.execute("RESET threads")  # the metric tables rebuilt next use every core

    def _submit(self, fn, args, rows):
        future: Future = Future()
        self._jobs.put((fn, args, rows, future))
        return asyncio.wrap_future(future)

    def _work(self) -> None:
        held = None
        while True:
            job = held if held is not None else self._jobs.get()
            held = None
            if job is _STOP:
                return
            if job[2] is None:
                self._run([job], transaction=False)
                continue
            batch, rows = [job], job[2][1].num_rows
            while rows < MAX_BATCH_ROWS:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP or more[2] is None:
                    held = more  # runs after this batch, in its turn
                    break
                batch.append(more)
                rows += more[2][1].num_rows
            started = time.perf_counter()
            self._run(batch, transaction=True)
            self.busy_seconds += time.perf_counter() - started

    def _run(self, batch: list, transaction: bool) -> None:
        con = self.con
        try:
            if transaction:
                con.begin()
                _insert(con, [job[2] for job in batch])
            results = [fn(con, *args) for fn, args, _, _ in batch]
            if transaction:
                con.commit()
        except BaseException as exc:  # noqa: BLE001 (handed to the caller through its future)
            if transaction:
                with contextlib.suppress(duckdb.Error):  # a failed COMMIT has ended the transaction already
                    con.rollback()
            if len(batch) > 1:  # one bad commit must not take the others down: each on its own
                for job in batch:
                    self._run([job], transaction=True)
                return
            batch[0][3].set_exception(exc)
            return
        for (*_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


def _insert(con, rows: list[tuple[str, pa.Table, bool]]) -> None:
    """The rows of the commits in one transaction: one statement per table and way of inserting."""
    together: dict[tuple[str, bool], list[pa.Table]] = {}
    for table, batch, replace in rows:
        if batch.num_rows:
            together.setdefault((table, replace), []).append(batch)
    synced_at = datetime.now(UTC)
    for (table, replace), batches in together.items():
        wh.upsert(con, table, pa.concat_tables(batches), synced_at, replace)
