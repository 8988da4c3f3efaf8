"""`dodo-analytics sync`: one cron-friendly pass. Exit codes: 0 ok, 1 failed (nothing published, or
records rejected), 2 usage or settings, 75 another sync holds the lock (EX_TEMPFAIL: try later)."""

import argparse
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TextIO

from core.errors import DodoError, LockHeld, SettingsError
from core.settings import Settings

from .bookkeeping import RunStatus
from .pipeline import AfterRun, SyncRequest, SyncResult, run_sync
from .resources import RESOURCES
from .sync import Outcome


def add_parser(subparsers) -> None:
    summary = "copy the Dodo account into the warehouse (one pass, cron-friendly)"
    p = subparsers.add_parser(
        "sync", help=summary, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--warehouse",
        help="the published DuckDB file (default $DODO_ANALYTICS_WAREHOUSE or var/warehouse.duckdb)",
    )
    p.add_argument("--resources", help=f"comma-separated subset of: {', '.join(RESOURCES)}")
    p.add_argument("--full-refresh", action="store_true", help="re-read every record, not only what is new")
    p.add_argument("--since", help="re-read records created on or after this date (YYYY-MM-DD, UTC)")


def _resources(text: str | None) -> list[str]:
    if not text:
        return list(RESOURCES)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in RESOURCES]
    if unknown:
        raise SettingsError(f"--resources: unknown {', '.join(unknown)}; choose from {', '.join(RESOURCES)}")
    return [n for n in RESOURCES if n in names]  # in dependency order


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        since = datetime.fromisoformat(text)
        return since if since.tzinfo else since.replace(tzinfo=UTC)  # a date or a naive time is UTC
    except ValueError:
        raise SettingsError(f"--since must be a date such as 2026-01-31 (got {text!r})") from None


def request_from(resources: str | None, full_refresh: bool, since: str | None) -> SyncRequest:
    """The request the command line's --resources, --full-refresh and --since ask for."""
    return SyncRequest(tuple(_resources(resources)), full_refresh, _since(since))


class Progress:
    """One line rewritten in place on a terminal; a plain log line per ~5 s otherwise (cron mail)."""

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream, self.tty = stream, stream.isatty()
        self.started = self.last = time.monotonic()

    def __call__(self, out: Outcome, stats: Counter) -> None:
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        parts = ", ".join(f"{n} {c:,}" for n, c in out.fetched.items())
        stage = f"{out.stage}: " if out.stage else ""
        line = (
            f"[{now - self.started:5.0f}s] {stage}{parts}; details {out.details:,}; requests {stats['requests']:,} "
            f"({stats['requests'] / max(now - self.started, 1e-9):.1f}/s), 429s {stats['rate_limited']}"
        )
        self.stream.write(("\r" + line[:150].ljust(150)) if self.tty else line + "\n")
        self.stream.flush()


def run(args: argparse.Namespace, after: AfterRun | None = None) -> int:
    """The sync verb; `after` runs on the working copy before the publish (the alerts' check)."""
    progress = Progress(sys.stderr)
    try:
        settings = Settings.from_env(warehouse=args.warehouse)
        request = request_from(args.resources, args.full_refresh, args.since)
        result = run_sync(settings, request, progress=progress, after=after)
    except DodoError as exc:
        return refused(exc, sys.stderr)
    return report(result, sys.stdout, sys.stderr)


def refused(exc: DodoError, stderr: TextIO) -> int:
    """A sync that could not start (settings, arguments, the lock): one line, and its exit code."""
    then = f"; exiting (code {exc.exit_code.value})" if isinstance(exc, LockHeld) else ""
    print(f"dodo-analytics sync: {exc}{then}", file=stderr)
    return int(exc.exit_code)


def report(result: SyncResult, stdout: TextIO, stderr: TextIO) -> int:
    """What a sync prints when it is over: the summary, or why it failed; and its exit code."""
    out = result.outcome
    if out is None:  # the working copy could not be opened: the error says where and what to do
        print(f"dodo-analytics sync: {result.error}", file=stderr)
        return int(result.exit_code)
    if stderr.isatty():
        stderr.write("\n")  # ends the progress line
    if result.status is RunStatus.FAILED:
        print(f"dodo-analytics sync: failed: {result.error}", file=stderr)
        print("Nothing was published; the next run resumes from the windows already saved.", file=stderr)
        return int(result.exit_code)
    _summary(result, out, stdout)
    for resource, record_id, reason in out.rejected[:20]:
        print(f"rejected {resource} {record_id}: {reason}", file=stderr)
    if out.rejected:
        print(
            f"{len(out.rejected)} records could not be loaded (table rejected_records); exit code 1",
            file=stderr,
        )
    return int(result.exit_code)


def _summary(result: SyncResult, out: Outcome, stdout: TextIO) -> None:
    stats = result.stats
    print(
        f"Synced into {result.warehouse} in {result.seconds:.1f} s; "
        f"data through {out.data_through:%Y-%m-%d %H:%M:%S} UTC",
        file=stdout,
    )
    for name, fetched in sorted(out.fetched.items(), key=lambda item: list(RESOURCES).index(item[0])):
        print(f"  {name:14s} {fetched:>9,} read, {out.new.get(name, 0):>9,} new", file=stdout)
    for name, why in out.skipped.items():
        print(f"  {name:14s} skipped: {why}", file=stdout)
    notes = out.notes + (
        [f"{stats['invalid_utf8']} answers held bytes that are not UTF-8: loaded with U+FFFD in their place"]
        if stats.get("invalid_utf8")
        else []
    )
    if out.unplaced:
        notes.append(f"{out.unplaced:,} records are left out of the money tables (see rejected_records)")
    for note in notes:
        print(f"  note: {note}", file=stdout)
    if out.publishes:
        print(
            f"  first sync, published early {len(out.publishes)} times: {', '.join(out.publishes)}",
            file=stdout,
        )
    missing = f", {out.details_missing:,} not available (see rejected_records)" if out.details_missing else ""
    print(f"  payment details {out.details:,} fetched{missing}", file=stdout)
    if out.reread:
        again = ", ".join(f"{name} {n:,}" for name, n in out.reread.items())
        print(f"  read again by id (not final yet): {again}", file=stdout)
    loaded = sum(out.fetched.values())
    print(
        f"  loading {loaded:,} list records took {out.load_seconds:.1f} s "
        f"({loaded / max(out.load_seconds, 1e-9):,.0f} records/s)",
        file=stdout,
    )
    print(
        f"  requests {stats['requests']:,}, 429s {stats['rate_limited']}, retries {stats['retries']}",
        file=stdout,
    )
