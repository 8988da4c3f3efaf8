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
    with duckdb.connect(":memory:") as con:
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
