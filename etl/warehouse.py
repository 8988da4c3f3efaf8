"""The warehouse file: schema, idempotent bulk upserts, sync bookkeeping, and the atomic publish.

The sync writes a working copy next to the published file and commits each completed window
together with its rows, so a killed sync resumes from the working copy. Publishing checkpoints and
closes the working copy, copies it beside the published file and `os.replace`s it into place: a
dashboard holding the old file open keeps reading the old inode, and never blocks the sync.
"""

import fcntl
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa

from core.errors import LockHeld, WarehouseError

from .records import (
    CUSTOMERS,
    DISPUTES,
    LEDGER,
    PAYMENT_DETAIL,
    PAYMENT_LIST,
    PRODUCTS,
    REFUNDS,
    SQL_TYPES,
    SUBSCRIPTIONS,
)

# table -> (columns from the API, extra columns). Payment details live apart from the list rows, so a
# list re-read replaces the list row whole without touching what the detail added.
TABLES = {
    "payments": (PAYMENT_LIST, "raw JSON"),
    "payment_details": (PAYMENT_DETAIL, "raw JSON"),
    "subscriptions": (SUBSCRIPTIONS, "raw JSON"),
    "refunds": (REFUNDS, "raw JSON"),
    "disputes": (DISPUTES, "raw JSON"),
    "customers": (CUSTOMERS, "raw JSON"),
    "products": (PRODUCTS, "archived BOOLEAN, raw JSON"),
    "ledger_entries": (LEDGER, "raw JSON"),
}

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS sync_runs (
    run_id BIGINT PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
    data_through TIMESTAMPTZ, requests BIGINT, rate_limited BIGINT, retries BIGINT, rows JSON,
    skipped JSON, rejected BIGINT, error VARCHAR, settings JSON);
CREATE TABLE IF NOT EXISTS sync_state (
    resource VARCHAR PRIMARY KEY, complete_through TIMESTAMPTZ, planned_through TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS sync_windows (resource VARCHAR, gte BIGINT, lte BIGINT, extra VARCHAR);
CREATE TABLE IF NOT EXISTS rejected_records (
    run_id BIGINT, resource VARCHAR, record_id VARCHAR, reason VARCHAR);
"""


# what to do about a warehouse that cannot be written, in every message that says so
WRITE_HELP = "free some disk space or make the folder writable by this user, then run the sync again"


def work_path(published: Path) -> Path:
    return published.with_name(published.name + ".work")


def lock(published: Path):
    """Hold the warehouse's lock file for the process; raises LockHeld when another sync has it."""
    published.parent.mkdir(parents=True, exist_ok=True)
    handle = open(published.with_name(published.name + ".lock"), "a+")  # noqa: SIM115 (held for the run)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise LockHeld(f"another sync holds {handle.name}") from None
    return handle


def open_work(published: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating it from the published file when needed) the working copy, with the schema."""
    work = work_path(published)
    try:
        published.parent.mkdir(parents=True, exist_ok=True)
        if not work.exists() and published.exists():
            _copy_into_place(published, work, ".copying")
        con = duckdb.connect(str(work))
    except (OSError, duckdb.Error) as exc:
        raise WarehouseError(f"cannot open the working warehouse {work}: {exc}; {WRITE_HELP}") from None
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = '512MB'")  # a backfill of any size stays small; DuckDB spills to disk
    # Checkpoint rarely while loading: below this, committed windows only append to the WAL, which is
    # several times faster than rewriting compressed blocks every 16 MB. Publishing checkpoints anyway.
    con.execute("SET checkpoint_threshold = '1GB'")
    for table, (columns, extra) in TABLES.items():
        typed = ", ".join(f"{n} {SQL_TYPES[k]}" for n, k, *_ in columns)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table} ({typed}, {extra}, synced_at TIMESTAMPTZ, "
            f"PRIMARY KEY ({columns[0][0]}))"
        )
    con.execute(BOOKKEEPING)
    return con


def upsert(con, table: str, batch: pa.Table, synced_at, replace: bool = True) -> None:
    """Insert the rows of a `records.table` in bulk. `replace=False` is for rows not expected to be there
    yet (a first backfill): a plain INSERT is several times faster than INSERT OR REPLACE, and raises
    duckdb.ConstraintException if a key exists after all, for the caller to try again with replace."""
    kinds = {n: k for n, k, *_ in TABLES[table][0]}
    select = [f"CAST({n} AS TIMESTAMPTZ)" if kinds.get(n) == "ts" else n for n in batch.column_names]
    con.execute(
        f"INSERT {'OR REPLACE ' if replace else ''}INTO {table} ({', '.join(batch.column_names)}, "
        f"synced_at) SELECT {', '.join(select)}, ? FROM batch",
        [synced_at],
    )


class Change(NamedTuple):
    """What one commit of a sync writes, all or nothing: rows of one table, the records rejected on
    the way, and the plan of one resource: windows done, windows added, and how far it now reaches."""

    resource: str
    table: str = ""
    rows: pa.Table = pa.table({})
    replace: bool = True  # False: rows not expected to be there yet (see `upsert`)
    rejected: tuple = ()  # rows of rejected_records
    done: tuple = ()  # windows (pager.Window) out of the plan
    new: tuple = ()  # windows into the plan
    planned_through: datetime | None = None


def apply(con, changes: list[Change]) -> None:
    """Changes in the caller's transaction, written together: a statement per table, not per change
    (a statement costs a millisecond or more, whatever its size)."""
    together: dict[tuple[str, bool], list[pa.Table]] = {}
    for c in changes:
        if c.rows.num_rows:
            together.setdefault((c.table, c.replace), []).append(c.rows)
    synced_at = datetime.now(UTC)
    for (table, replace), batches in together.items():
        upsert(con, table, pa.concat_tables(batches), synced_at, replace)
    rejected = [row for c in changes for row in c.rejected]
    if rejected:
        con.executemany("INSERT INTO rejected_records VALUES (?, ?, ?, ?)", rejected)
    done_windows = _windows([(c.resource, w) for c in changes for w in c.done])
    if done_windows.num_rows:
        con.execute(
            "DELETE FROM sync_windows s USING done_windows d WHERE s.resource = d.resource "
            "AND s.gte IS NOT DISTINCT FROM d.gte AND s.lte IS NOT DISTINCT FROM d.lte AND s.extra = d.extra"
        )
    new_windows = _windows([(c.resource, w) for c in changes for w in c.new])
    if new_windows.num_rows:
        con.execute("INSERT INTO sync_windows (resource, gte, lte, extra) SELECT * FROM new_windows")
    for c in changes:
        if c.planned_through is not None:
            set_planned(con, c.resource, c.planned_through)


def _windows(pairs: list) -> pa.Table:
    return pa.table(
        {
            "resource": pa.array([r for r, _ in pairs], pa.string()),
            "gte": pa.array([w.gte for _, w in pairs], pa.int64()),
            "lte": pa.array([w.lte for _, w in pairs], pa.int64()),
            "extra": pa.array([json.dumps(w.extra) for _, w in pairs], pa.string()),
        }
    )


# -- bookkeeping ---------------------------------------------------------------------------------
def pending_windows(con, resource: str) -> list[tuple]:
    return con.execute(
        "SELECT gte, lte, extra FROM sync_windows WHERE resource = ? ORDER BY lte DESC NULLS FIRST",
        [resource],
    ).fetchall()


def state(con, resource: str) -> tuple:
    row = con.execute(
        "SELECT complete_through, planned_through FROM sync_state WHERE resource = ?", [resource]
    ).fetchall()
    return row[0] if row else (None, None)


def set_planned(con, resource: str, planned_through) -> None:
    con.execute(
        "INSERT INTO sync_state VALUES (?, NULL, ?) ON CONFLICT (resource) DO UPDATE SET "
        "planned_through = excluded.planned_through",
        [resource, planned_through],
    )


def _status_path(published: Path) -> Path:
    return published.with_name(published.name + ".status.json")


def write_status(published: Path, status: dict) -> None:
    """`<warehouse>.status.json`: how the last run ended, whether or not it published anything."""
    path = _status_path(published)
    staging = path.with_name(path.name + ".tmp")
    try:
        staging.write_text(json.dumps(status))
        os.replace(staging, path)
    except OSError:
        pass  # a full or read-only disk already failed the run with its own message


def read_status(published: Path) -> dict | None:
    """What `write_status` wrote for the last run, or None when there is none (or it is unreadable)."""
    try:
        return json.loads(_status_path(published).read_text())
    except (OSError, ValueError):
        return None


# -- publish -------------------------------------------------------------------------------------
def publish(con, published: Path) -> None:
    """Checkpoint and close the working copy, then swap a copy of it into place atomically."""
    work = work_path(published)
    con.execute("CHECKPOINT")
    con.close()
    try:
        _copy_into_place(work, published, ".publishing")
    except OSError as exc:
        raise WarehouseError(
            f"could not publish {published}: {exc}; the previous warehouse is unchanged: {WRITE_HELP}"
        ) from None


def _copy_into_place(source: Path, target: Path, suffix: str) -> None:
    """Copy beside `target`, flush, then rename over it: a copy cut short never passes for `target`."""
    staging = target.with_name(target.name + suffix)
    try:
        shutil.copyfile(source, staging)
        with open(staging, "rb") as f:
            os.fsync(f.fileno())
        os.replace(staging, target)
    except OSError:
        staging.unlink(missing_ok=True)
        raise
