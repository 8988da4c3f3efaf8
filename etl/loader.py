"""The one thread that touches the working warehouse during a sync pass.

Fetching runs on asyncio; DuckDB releases the GIL for most of an insert. Handing every statement to one
writer thread lets the next pages be parsed while the previous ones are inserted (both cores busy),
keeps the connection on a single thread, and runs statements in the order they were asked for.
Changes (a window's rows, its rejected records, its plan update) that queue up while the writer is
busy share one transaction: fewer, larger commits, each still holding whole windows together with
their plan changes, so a kill loses no more than the commits in flight and never half a window.
The changes of a transaction are written together, a statement per table rather than per window:
each statement costs a millisecond or more, and takes the GIL several times while it runs (DuckDB
checks for Ctrl-C between tasks), waiting each time for the event loop to let go of it.
"""

import asyncio
import contextlib
import queue
import sys
import threading
import time
from concurrent.futures import Future

import duckdb

from . import warehouse as wh

MAX_BATCH_ROWS = 20_000  # enough to amortise a commit; small enough to keep memory and kill losses low
SWITCH_SECONDS = 0.0002
_STOP = object()


class Loader:
    def __init__(self, con):
        self.con = con
        self.busy_seconds = 0.0  # time spent writing changes (rows and plan updates)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        # One DuckDB thread while the writer works: inserts of a window or two gain nothing from more,
        # and the other core is parsing the next pages (measured: 20-40% more rows/s here).
        con.execute("SET threads = 1")
        # The writer waits for the GIL many times per statement while the event loop parses pages:
        # hand it over every 0.2 ms rather than every 5 (measured: 15-25% more rows/s).
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_SECONDS)
        self._thread = threading.Thread(target=self._work, name="warehouse-writer", daemon=True)
        self._thread.start()

    async def call(self, fn, *args):
        """`fn(con, *args)` on the writer thread, on its own; its result, or its exception."""
        return await self._submit((fn, args))

    async def commit(self, change: wh.Change) -> None:
        """`change` written in a transaction, maybe shared with other changes queued behind it."""
        await self._submit(change)

    def close(self) -> None:
        """Finish what was asked, then stop the thread: the connection is the caller's again."""
        self._jobs.put(_STOP)
        self._thread.join()
        sys.setswitchinterval(self._switch)
        self.con.execute("RESET threads")  # the metric tables rebuilt next use every core

    def _submit(self, work) -> asyncio.Future:
        future: Future = Future()
        self._jobs.put((work, future))
        return asyncio.wrap_future(future)

    def _work(self) -> None:
        held = None
        while True:
            job = held if held is not None else self._jobs.get()
            held = None
            if job is _STOP:
                return
            if not isinstance(job[0], wh.Change):
                self._call(*job)
                continue
            batch, rows = [job], job[0].rows.num_rows
            while rows < MAX_BATCH_ROWS:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP or not isinstance(more[0], wh.Change):
                    held = more  # runs after this batch, in its turn
                    break
                batch.append(more)
                rows += more[0].rows.num_rows
            started = time.perf_counter()
            self._commit(batch)
            self.busy_seconds += time.perf_counter() - started

    def _call(self, work, future: Future) -> None:
        fn, args = work
        try:
            result = fn(self.con, *args)
        except BaseException as exc:  # noqa: BLE001 (handed to the caller through its future)
            future.set_exception(exc)
        else:
            future.set_result(result)

    def _commit(self, batch: list) -> None:
        con = self.con
        try:
            con.begin()
            wh.apply(con, [change for change, _ in batch])
            con.commit()
        except BaseException as exc:  # noqa: BLE001 (handed to the caller through its future)
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has ended the transaction already
                con.rollback()
            if len(batch) > 1:  # one bad change must not take the others down: each on its own
                for job in batch:
                    self._commit([job])
                return
            batch[0][1].set_exception(exc)
            return
        for _, future in batch:
            future.set_result(None)
