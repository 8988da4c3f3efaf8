"""The published warehouse as every reader sees it: the files beside it, and the one way to read it.

A reader opens a fresh in-memory DuckDB, ATTACHes the published file READ_ONLY, runs its query and
closes it again. A publish is an atomic file swap, so the next read sees it, and an open reader never
holds a lock a sync would need. The dashboard, the exports, `doctor`, the tests and the benchmarks
all read through `connect` or `read`.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

Params = Sequence[Any] | Mapping[str, Any]

# Never fetch or load a DuckDB extension on the fly: a file of another kind (SQLite, say) must be an
# error, not a download. The extensions this product uses (json, parquet, icu) are built in.
NO_EXTENSIONS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
PRODUCT = "dodo-analytics"
SCHEMA_VERSION = 1  # warehouse_info.schema_version: raised when a change needs a newer reader


def work_path(published: Path) -> Path:
    """The sync's working copy: written during a pass, copied over the published file at the end."""
    return published.with_name(published.name + ".work")


def lock_path(published: Path) -> Path:
    return published.with_name(published.name + ".lock")


def status_path(published: Path) -> Path:
    """How the last sync ended (a failed run publishes nothing, so the warehouse cannot say)."""
    return published.with_name(published.name + ".status.json")


def identity(path: Path) -> tuple[int, int, int] | None:
    """(inode, mtime, size) of the published file: changes with every publish."""
    try:
        s = path.stat()
    except FileNotFoundError:
        return None
    return (s.st_ino, s.st_mtime_ns, s.st_size)


@contextmanager
def connect(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the published file, read-only, its tables in the default schema."""
    with duckdb.connect(":memory:", config=NO_EXTENSIONS) as con:
        con.execute("SET TimeZone = 'UTC'")
        # product_ok(product, selected): true for every product when nothing is selected (the product filter)
        con.execute("CREATE TEMP MACRO product_ok(p, sel) AS (len(sel) = 0 OR list_contains(sel, p))")
        con.execute("ATTACH ? AS w (READ_ONLY)", [str(path)])
        con.execute("USE w")
        yield con


def read(path: Path | str, sql: str, params: Params = ()) -> pd.DataFrame:
    """One read-only query; values travel as parameters (`?` or `$name`), never inside the SQL text.
    A publish swapping the file while it is being opened fails the read with an IOException: read
    again, which opens the new file."""
    try:
        return _read(path, sql, params)
    except duckdb.IOException:
        return _read(path, sql, params)


def _read(path: Path | str, sql: str, params: Params) -> pd.DataFrame:
    with connect(path) as con:
        return con.execute(sql, params if isinstance(params, Mapping) else list(params)).fetchdf()


def read_status(published: Path) -> dict | None:
    """How the last sync ended, as it wrote it, or None when there is none (or it is unreadable)."""
    try:
        return json.loads(status_path(published).read_text())
    except (OSError, ValueError):
        return None


def foreign(path: Path) -> str | None:
    """Why the existing file `path` is not a warehouse of this product, as the end of a sentence that
    starts with its name; None when it is one (or an empty DuckDB file, which the sync can fill)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if head[8:12] != b"DUCK":  # every DuckDB file carries this magic at byte 8
        return "is not a DuckDB file (it is damaged, cut short, or another program's)"
    try:
        with duckdb.connect(":memory:", config=NO_EXTENSIONS) as con:
            con.execute("ATTACH ? AS w (READ_ONLY)", [str(path)])
            tables = {
                t
                for (t,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = 'w'"
                ).fetchall()
            }
            info = (
                con.execute("SELECT product, schema_version FROM w.warehouse_info").fetchall()
                if "warehouse_info" in tables
                else []
            )
    except duckdb.Error as exc:
        return f"is a damaged DuckDB file ({str(exc).splitlines()[0]})"
    if info and info[0][0] != PRODUCT:
        return f"is a warehouse of another product ({info[0][0]})"
    if info and info[0][1] > SCHEMA_VERSION:
        return f"was written by a newer version of {PRODUCT} (schema {info[0][1]}; this one reads {SCHEMA_VERSION})"
    if tables and "sync_runs" not in tables:  # (warehouses from before the marker have sync_runs)
        return "is a DuckDB file of another program (it has no sync_runs table)"
    return None
