"""One sync as a library call, for the command line, the demo, the tests and the benchmarks: take the
warehouse's lock, open the working copy, run the pass, rebuild and tie out the metric tables, finish
the run's row in sync_runs, publish, and write the status file. It prints nothing: the caller says
what happened (`etl/cli.py` is where a result becomes text)."""

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from core.errors import ApiError, ExitCode, MetricsError, TieOutError, WarehouseError
from core.published import work_path
from core.settings import Settings

from . import bookkeeping, coverage, metrics
from . import warehouse as wh
from .bookkeeping import RunStatus
from .client import DodoClient
from .loader import Loader
from .resources import RESOURCES
from .sync import Outcome, Sync

# called with what the pass has done so far and the client's counters, as windows and details land
OnProgress = Callable[[Outcome, Counter], None]
# called on the working copy once the run's tables are final, before the publish (or after a failure,
# with its error): the alerts' check (alerts/check.py). Its notes join the summary; it never raises.
AfterRun = Callable[[duckdb.DuckDBPyConnection, Settings, str | None], list[str]]


@dataclass(frozen=True)
class SyncRequest:
    resources: tuple[str, ...] = tuple(RESOURCES)  # names from RESOURCES, in its (dependency) order
    full_refresh: bool = False  # re-read every record, not only what is new
    since: datetime | None = None  # re-read records created at or after this instant


@dataclass(frozen=True)
class SyncResult:
    status: RunStatus  # OK, OK_WITH_REJECTS (published without some records) or FAILED (nothing published)
    warehouse: Path  # the published file
    outcome: Outcome | None  # what the pass did; None when the working copy could not even be opened
    error: str | None = None  # why it failed, as sync_runs and the status file say
    stats: Counter = field(default_factory=Counter)  # the client's: requests, rate_limited, retries, ...
    seconds: float = 0.0

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.status is RunStatus.OK else ExitCode.FAILED

    @property
    def problem(self) -> str | None:
        """What the status file says went wrong, if anything."""
        if self.status is RunStatus.OK_WITH_REJECTS and self.outcome is not None:
            return f"{len(self.outcome.rejected)} records could not be loaded (the rest was published)"
        return self.error


def run_sync(
    settings: Settings,
    request: SyncRequest,
    *,
    client_factory: Callable[[Settings], DodoClient] = DodoClient,
    progress: OnProgress | None = None,
    after: AfterRun | None = None,
) -> SyncResult:
    """One pass, published unless it failed. Raises LockHeld when another sync holds the lock and
    WarehouseError when the lock cannot even be created; any later failure is in the result (and
    in the status file beside the warehouse). `client_factory(settings)` makes the API client (tests
    pass one that reaches an in-process sandbox)."""
    if settings.warehouse.is_symlink():  # publish into the file the link names; never replace the link
        settings = settings.with_warehouse(settings.warehouse.resolve())
    # The warehouse holds customers' names and e-mails: every file the sync creates is this user's
    # only (a published file keeps the mode it has, so a deliberate chmod survives each publish).
    umask = os.umask(0o077)
    try:
        held = wh.lock(settings.warehouse, settings.run_deadline_minutes)
        try:
            result = _locked(settings, request, client_factory, progress, held.taken_over, after)
            bookkeeping.write_status(settings.warehouse, result.exit_code, result.problem)
            return result
        finally:
            held.release()
    finally:
        os.umask(umask)


def _locked(
    settings: Settings,
    request: SyncRequest,
    client_factory: Callable[[Settings], DodoClient],
    progress: OnProgress | None,
    taken_over: str | None,
    after: AfterRun | None = None,
) -> SyncResult:
    started = time.monotonic()
    try:
        con = wh.open_work(settings.warehouse)
    except WarehouseError as exc:
        return SyncResult(RunStatus.FAILED, settings.warehouse, None, str(exc))
    client = client_factory(settings)

    def report(out: Outcome) -> None:
        if progress is not None:
            progress(out, client.stats)

    async def publish_early() -> None:
        note = await sync.writer.call(_publish_loading, settings, sync.out, client.stats)
        sync.out.notes += [note] if note and note not in sync.out.notes else []

    sync = Sync(settings, client, Loader(con), progress=report, publish=publish_early)
    out = sync.out
    if taken_over:  # the kernel freed its lock when it died; the working copy keeps what it committed
        out.notes.append(f"took over the lock of a sync that ended without finishing ({taken_over})")
    error = _pass(settings, sync, request)
    if not error and out.publishes:
        error, con = _reopened(settings, con)
    if not error:
        error = _rebuild_metrics(settings, con, out)
    if after is not None:
        out.notes += after(con, settings, error)
    status = RunStatus.FAILED if error else (RunStatus.OK_WITH_REJECTS if out.rejected else RunStatus.OK)
    try:
        bookkeeping.finish_run(
            con,
            out.run_id,
            status,
            client.stats,
            fetched=out.fetched,
            new=out.new,
            skipped=out.skipped,
            rejected=len(out.rejected),
            error=error,
        )
        if not error:
            wh.publish(con, settings.warehouse)
    except WarehouseError as exc:
        error = str(exc)
    except (OSError, duckdb.Error) as exc:
        error = _cannot_write(settings, exc)
    finally:
        con.close()  # (publish closed it already; closing twice is harmless)
    return SyncResult(
        RunStatus.FAILED if error else status,
        settings.warehouse,
        out,
        error,
        client.stats,
        time.monotonic() - started,
    )


def _pass(settings: Settings, sync: Sync, request: SyncRequest) -> str | None:
    """The pass; what ended it early, if anything (the working copy keeps the committed windows)."""

    async def fetch() -> Outcome:
        async with sync.client:
            return await sync.run(list(request.resources), request.full_refresh, request.since)

    try:
        asyncio.run(fetch())
    except ApiError as exc:
        return str(exc)
    except (OSError, duckdb.Error) as exc:
        return _cannot_write(settings, exc)
    except Exception as exc:  # noqa: BLE001 (reported as one line; the working copy keeps committed windows)
        return f"unexpected {type(exc).__name__}: {exc}"
    return None


def _reopened(settings: Settings, con) -> tuple[str | None, duckdb.DuckDBPyConnection]:
    """The working copy on a fresh connection, for the final rebuild of a first sync that published
    early. Measured: on the long-lived connection of a 1,000,000-payment backfill, the rebuild ran
    out of the 512 MB DuckDB may use; on a fresh one, the same rebuild of the same file fits."""
    try:
        con.execute("CHECKPOINT")
        con.close()
        return None, wh.open_work(settings.warehouse)
    except WarehouseError as exc:
        return str(exc), con
    except (OSError, duckdb.Error) as exc:
        return _cannot_write(settings, exc), con


def _publish_loading(con, settings: Settings, out: Outcome, stats: Counter) -> str | None:
    """A first sync's early publish, on the writer thread between commits (so the plan says exactly
    which windows are in): the metric tables and sync_coverage from what is committed, the run's row
    as `loading`, then a copy swapped into place; the working copy stays open and the pass goes on.
    A failure is a note: the pass goes on, and the final publish says what is wrong."""
    con.execute("RESET threads")  # the metric tables use every core (the writer's inserts use one)
    try:
        if error := _rebuild_metrics(settings, con, out, final=False):
            return f"an early publish was skipped: {error}"
        bookkeeping.finish_run(
            con,
            out.run_id,
            RunStatus.LOADING,
            stats,
            fetched=out.fetched,
            new={},
            skipped=out.skipped,
            rejected=len(out.rejected),
            error=None,
        )
        wh.publish(con, settings.warehouse, keep_open=True)
    except (WarehouseError, OSError, duckdb.Error) as exc:
        return f"an early publish failed: {exc}"
    finally:
        bookkeeping.resume_run(con, out.run_id)
        con.execute("SET threads = 1")
    return None


def _rebuild_metrics(settings: Settings, con, out: Outcome, final: bool = True) -> str | None:
    """The metric tables and sync_coverage rebuilt and tied out; the final rebuild also lists in
    rejected_records what the money tables left out (an early one would list what a later window
    places, a refund whose payment is older, say). What went wrong, if anything."""
    try:
        metrics.rebuild(con, settings.timezone, settings.grace_days, settings.recovery_days, out.data_through)
        metrics.tie_out(con)
        coverage.build(con, settings.grace_days, tuple(out.skipped))
        if final:
            out.unplaced = bookkeeping.list_unplaced(con, out.run_id)
    except TieOutError as exc:
        return f"the metrics do not tie out: {exc}"
    except MetricsError as exc:
        return f"{exc}. The data was kept; please report this message"
    except duckdb.Error as exc:
        return "rebuilding the metric tables failed: " + _cannot_write(settings, exc)
    return None


def _cannot_write(settings: Settings, exc: Exception) -> str:
    published, work = settings.warehouse, work_path(settings.warehouse)
    if "Could not read enough bytes" in str(exc):  # a file cut short, which the disk did not cause
        return (
            f"the working warehouse {work} is cut short ({exc}), and so may be {published}, which it "
            f"was copied from. Move it aside (mv {published} {published}.old; rm {work}) and run the "
            "sync again to build the warehouse anew from the API"
        )
    return f"the working warehouse {work} could not be written ({exc}): {wh.WRITE_HELP}; it resumes from the last committed window"
