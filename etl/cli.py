"""`dodo-analytics sync`: one cron-friendly pass. Exit codes: 0 ok, 1 failed (nothing published, or
records rejected), 2 usage or settings, 75 another sync holds the lock (EX_TEMPFAIL: try later)."""

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime

import duckdb

from core.errors import ApiError, LockHeld, SettingsError, TieOutError, WarehouseError
from core.settings import Settings

from . import metrics
from . import warehouse as wh
from .client import DodoClient
from .sync import RESOURCES, Sync

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sync",
        help="copy the Dodo account into the warehouse (one pass, cron-friendly)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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


class Progress:
    """One line rewritten in place on a terminal; a plain log line per ~5 s otherwise (cron mail)."""

    def __init__(self, client: DodoClient, stream=sys.stderr):
        self.client, self.stream, self.tty = client, stream, stream.isatty()
        self.started = self.last = time.monotonic()

    def __call__(self, out) -> None:
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        s = self.client.stats
        parts = ", ".join(f"{n} {c:,}" for n, c in out.fetched.items())
        line = (
            f"[{now - self.started:5.0f}s] {parts}; details {out.details:,}; requests {s['requests']:,} "
            f"({s['requests'] / max(now - self.started, 1e-9):.1f}/s), 429s {s['rate_limited']}"
        )
        self.stream.write(("\r" + line[:150].ljust(150)) if self.tty else line + "\n")
        self.stream.flush()


def run(args, client_factory=DodoClient, stdout=None, stderr=None) -> int:
    """The sync verb. Tests pass a `client_factory(settings)` that reaches an in-process sandbox."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        settings = Settings.from_env(warehouse=args.warehouse)
        names, since = _resources(args.resources), _since(args.since)
    except SettingsError as exc:
        print(f"dodo-analytics sync: {exc}", file=stderr)
        return EXIT_USAGE
    try:
        held = wh.lock(settings.warehouse)
    except LockHeld as exc:
        print(f"dodo-analytics sync: {exc}; exiting (code 75)", file=stderr)
        return EXIT_LOCKED
    except OSError as exc:
        print(
            f"dodo-analytics sync: cannot create the lock next to {settings.warehouse}: {exc}; {wh.WRITE_HELP}",
            file=stderr,
        )
        return EXIT_FAILED
    try:
        code, problem = _run_locked(settings, names, args.full_refresh, since, client_factory, stdout, stderr)
        # The dashboard reads this to warn about a failed run, which never reaches the published file.
        wh.write_status(
            settings.warehouse,
            {"finished_at": datetime.now(UTC).isoformat(), "exit_code": code, "problem": problem},
        )
        return code
    finally:
        held.close()


def _run_locked(
    settings, names, full_refresh, since, client_factory, stdout, stderr
) -> tuple[int, str | None]:
    started = time.monotonic()
    try:
        con = wh.open_work(settings.warehouse)
    except WarehouseError as exc:
        print(f"dodo-analytics sync: {exc}", file=stderr)
        return EXIT_FAILED, str(exc)
    client = client_factory(settings)
    sync = Sync(settings, client, con, progress=Progress(client, stderr))
    error, out = None, None
    try:
        out = asyncio.run(_pass(sync, client, names, full_refresh, since))
    except ApiError as exc:
        error = str(exc)
    except (OSError, duckdb.Error) as exc:
        error = _cannot_write(settings, exc)
    except Exception as exc:  # noqa: BLE001 (reported as one line; the working copy keeps committed windows)
        error = f"unexpected {type(exc).__name__}: {exc}"
    if stderr.isatty():
        stderr.write("\n")
    out = out or getattr(sync, "out", None)
    if not error:
        try:
            metrics.rebuild(
                con, settings.timezone, settings.grace_days, settings.recovery_days, out.data_through
            )
            metrics.tie_out(con)
        except TieOutError as exc:
            error = f"the metrics do not tie out: {exc}"
        except duckdb.Error as exc:
            error = "rebuilding the metric tables failed: " + _cannot_write(settings, exc)
    status = "failed" if error else ("ok_with_rejects" if out and out.rejected else "ok")
    s = client.stats
    try:
        if out is not None:
            con.execute(
                "UPDATE sync_runs SET finished_at = ?, status = ?, requests = ?, rate_limited = ?, retries = ?, "
                "rows = ?, skipped = ?, rejected = ?, error = ? WHERE run_id = ?",
                [
                    datetime.now(UTC),
                    status,
                    s["requests"],
                    s["rate_limited"],
                    s["retries"],
                    _json(
                        {n: {"fetched": out.fetched.get(n, 0), "new": out.new.get(n, 0)} for n in out.fetched}
                    ),
                    _json(out.skipped),
                    len(out.rejected),
                    error,
                    out.run_id,
                ],
            )
        if not error:
            wh.publish(con, settings.warehouse)
    except WarehouseError as exc:
        error = str(exc)
    except (OSError, duckdb.Error) as exc:
        error = _cannot_write(settings, exc)
    finally:
        con.close()  # (publish closed it already; closing twice is harmless)
    if error:
        print(f"dodo-analytics sync: failed: {error}", file=stderr)
        print("Nothing was published; the next run resumes from the windows already saved.", file=stderr)
        return EXIT_FAILED, error
    _summary(out, s, time.monotonic() - started, settings, stdout)
    for resource, record_id, reason in out.rejected[:20]:
        print(f"rejected {resource} {record_id}: {reason}", file=stderr)
    if out.rejected:
        print(
            f"{len(out.rejected)} records could not be loaded (table rejected_records); exit code 1",
            file=stderr,
        )
        return EXIT_FAILED, f"{len(out.rejected)} records could not be loaded (the rest was published)"
    return EXIT_OK, None


async def _pass(sync, client, names, full_refresh, since):
    async with client:
        return await sync.run(names, full_refresh, since)


def _cannot_write(settings, exc: Exception) -> str:
    return (
        f"the working warehouse {wh.work_path(settings.warehouse)} could not be written ({exc}): {wh.WRITE_HELP}; "
        "it resumes from the last committed window"
    )


def _json(obj) -> str:
    return json.dumps(obj, sort_keys=True)


def _summary(out, stats, seconds, settings, stdout) -> None:
    print(
        f"Synced into {settings.warehouse} in {seconds:.1f} s; data through {out.data_through:%Y-%m-%d %H:%M:%S} UTC",
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
    for note in notes:
        print(f"  note: {note}", file=stdout)
    missing = f", {out.details_missing:,} not available (see rejected_records)" if out.details_missing else ""
    print(f"  payment details {out.details:,} fetched{missing}", file=stdout)
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
