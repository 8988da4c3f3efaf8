"""The warehouse file: its lock, its schema, idempotent bulk upserts, a sync's commits, and the atomic
publish (the sync's own records are `bookkeeping.py`'s).

The sync writes a working copy next to the published file and commits each completed window
together with its rows, so a killed sync resumes from the working copy. Publishing checkpoints and
closes the working copy, copies it beside the published file and `os.replace`s it into place: a
dashboard holding the old file open keeps reading the old inode, and never blocks the sync.
"""

import contextlib
import fcntl
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, NamedTuple

import duckdb
import pyarrow as pa

from core.errors import LockHeld, WarehouseError
from core.published import NO_EXTENSIONS, PRODUCT, SCHEMA_VERSION, foreign, lock_path, work_path

from . import bookkeeping
from .records import SQL_TYPES
from .resources import TABLES

# what to do about a warehouse that cannot be written, in every message that says so
WRITE_HELP = "free some disk space or make the folder writable by this user, then run the sync again"


@dataclass
class Lock:
    """The warehouse's lock, held for a run. The file names its holder (pid and start), so a run that
    finds the lock taken can say by whom, and one that finds a name in a free lock knows that sync
    died holding it (the kernel frees a dead process's lock; a finished run empties the file)."""

    handle: IO
    taken_over: str | None = None  # "pid 123, started ...": the sync that died holding it

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.truncate(0)
        self.handle.close()


def lock(published: Path, deadline_minutes: int | None = None) -> Lock:
    """Hold the warehouse's lock file for the process; raises LockHeld when another sync has it (naming
    it, and saying when it has held it longer than `deadline_minutes`), and WarehouseError when the lock
    file cannot be created. Without `deadline_minutes` (doctor's look), nothing is written to it."""
    try:
        published.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path(published), "a+")  # noqa: SIM115 (held for the run)
    except OSError as exc:
        raise WarehouseError(f"cannot create the lock next to {published}: {exc}; {WRITE_HELP}") from None
    handle.seek(0)
    holder = handle.read().strip()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise LockHeld(_held_by(handle.name, holder, deadline_minutes)) from None
    if deadline_minutes is None:
        return Lock(handle)
    with contextlib.suppress(OSError):  # a full disk: the lock holds all the same, only unnamed
        handle.seek(0)
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
        handle.flush()
    return Lock(handle, holder or None)


def _held_by(name: str, holder: str, deadline_minutes: int | None) -> str:
    said = f"another sync ({holder}) holds {name}" if holder else f"another sync holds {name}"
    started = re.search(r"started (\S+)", holder)
    pid = re.search(r"pid (\d+)", holder)
    if deadline_minutes and started and pid:
        age = datetime.now(UTC) - datetime.fromisoformat(started.group(1))
        if age > timedelta(minutes=deadline_minutes):
            said += (
                f", longer than the run deadline of {deadline_minutes} minutes: if it is hung, stop it "
                f"(kill {pid.group(1)}) and the next run takes over"
            )
    return said


def open_work(published: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating it from the published file when needed) the working copy, with the schema. A
    file that is not this product's warehouse is never written to: a published one is an error that
    says the way out; a damaged working copy is set aside (it holds nothing the next pass cannot
    fetch again) and made anew from the published file."""
    work = work_path(published)
    if published.is_dir():
        raise WarehouseError(
            f"{published} is a folder, not a warehouse file: point --warehouse (or DODO_ANALYTICS_WAREHOUSE) "
            "at a file such as var/warehouse.duckdb"
        )
    if published.exists() and (why := foreign(published)):
        raise WarehouseError(
            f"{published} {why}, so the sync leaves it alone. Move it aside (mv {published} "
            f"{published}.old) and run the sync again to build the warehouse anew from the API, or "
            "point --warehouse at another file"
        )
    try:
        published.parent.mkdir(parents=True, exist_ok=True)
        if work.exists() and foreign(work):
            os.replace(work, work.with_name(work.name + ".damaged"))
            work.with_name(work.name + ".wal").unlink(missing_ok=True)
        if not work.exists() and published.exists():
            _copy_into_place(published, work, ".copying")
        con = duckdb.connect(str(work), config=NO_EXTENSIONS)
    except (OSError, duckdb.Error) as exc:
        raise WarehouseError(f"cannot open the working warehouse {work}: {exc}; {WRITE_HELP}") from None
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = '512MB'")  # a backfill of any size stays small; DuckDB spills to disk
    # Checkpoint rarely while loading: below this, committed windows only append to the WAL, which is
    # several times faster than rewriting compressed blocks every 16 MB. Publishing checkpoints anyway.
    con.execute("SET checkpoint_threshold = '1GB'")
    for table, r in TABLES.items():
        typed = ", ".join(f"{c.name} {SQL_TYPES[c.kind]}" for c in r.columns)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table} ({typed}, {r.extra_columns}, synced_at TIMESTAMPTZ, "
            f"PRIMARY KEY ({r.key}))"
        )
    con.execute(bookkeeping.DDL)
    con.execute("CREATE TABLE IF NOT EXISTS warehouse_info (product VARCHAR, schema_version INTEGER)")
    con.execute(
        "INSERT INTO warehouse_info SELECT ?, ? WHERE NOT EXISTS (FROM warehouse_info)",
        [PRODUCT, SCHEMA_VERSION],
    )
    return con


def upsert(con, table: str, batch: pa.Table, synced_at, replace: bool = True) -> None:
    """Insert the rows of a `records.table` in bulk. `replace=False` is for rows not expected to be there
    yet (a first backfill): a plain INSERT is several times faster than INSERT OR REPLACE, and raises
    duckdb.ConstraintException if a key exists after all, for the caller to try again with replace."""
    kinds = {c.name: c.kind for c in TABLES[table].columns}
    select = [f"CAST({n} AS TIMESTAMPTZ)" if kinds.get(n) == "ts" else n for n in batch.column_names]
    _execute_over(
        con,
        f"INSERT {'OR REPLACE ' if replace else ''}INTO {table} ({', '.join(batch.column_names)}, "
        f"synced_at) SELECT {', '.join(select)}, ? FROM incoming_rows",
        [synced_at],
        incoming_rows=batch,
    )


def _execute_over(con, sql: str, params: list | None = None, *, incoming_rows: pa.Table) -> None:
    """Run `sql`, which reads the Arrow table `incoming_rows` by that name. DuckDB finds it as this
    function's argument (its replacement scan looks a name up among the caller's variables), which
    costs nothing; `con.register()` would add a catalog view per statement, about 0.4 ms each, 10 to
    25% of the load rate."""
    con.execute(sql, params)


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
    bookkeeping.reject(con, [row for c in changes for row in c.rejected])
    done = [(c.resource, w) for c in changes for w in c.done]
    if done:
        _execute_over(
            con,
            "DELETE FROM sync_windows s USING incoming_rows d WHERE s.resource = d.resource AND "
            "s.gte IS NOT DISTINCT FROM d.gte AND s.lte IS NOT DISTINCT FROM d.lte AND s.extra = d.extra",
            incoming_rows=bookkeeping.window_rows(done),
        )
    new = [(c.resource, w) for c in changes for w in c.new]
    if new:
        _execute_over(
            con,
            "INSERT INTO sync_windows (resource, gte, lte, extra) SELECT * FROM incoming_rows",
            incoming_rows=bookkeeping.window_rows(new),
        )
    for c in changes:
        if c.planned_through is not None:
            bookkeeping.set_planned(con, c.resource, c.planned_through)


# -- publish -------------------------------------------------------------------------------------
def publish(con, published: Path, keep_open: bool = False) -> None:
    """Checkpoint and close the working copy (or keep it open, with nothing else writing to it: a first
    sync's early publish), then swap a copy of it into place atomically."""
    work = work_path(published)
    con.execute("CHECKPOINT")  # everything is in the file, nothing in the write-ahead log
    if not keep_open:
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
    mode = target.stat().st_mode & 0o777 if target.exists() else None
    try:
        shutil.copyfile(source, staging)
        if mode is not None:
            os.chmod(staging, mode)  # a chmod of the published file outlives the publish
        with open(staging, "rb") as f:
            os.fsync(f.fileno())
        os.replace(staging, target)
    except OSError:
        staging.unlink(missing_ok=True)
        raise
