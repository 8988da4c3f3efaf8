"""The dashboard's only door to the warehouse: a fresh in-memory DuckDB per query that ATTACHes the
published file READ_ONLY and closes it again, so a publish (an atomic file swap) is seen on the
next rerun and an open dashboard never holds a lock a sync would need. Results are cached per
(file identity, query, parameters): a publish changes the identity, so nothing stale is served."""

import os
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from core.errors import NoWarehouse
from core.settings import DEFAULT_WAREHOUSE
from dashboard import exports
from etl.warehouse import read_status  # the sync's record of how its last run ended

EPOCH_DAY = date(1970, 1, 1)  # "all time" starts here


def warehouse_path() -> Path:
    return Path(os.environ.get("DODO_ANALYTICS_WAREHOUSE", "").strip() or DEFAULT_WAREHOUSE)


def identity(path: Path) -> tuple | None:
    """(inode, mtime, size) of the published file: changes with every publish."""
    try:
        s = path.stat()
    except FileNotFoundError:
        return None
    return (s.st_ino, s.st_mtime_ns, s.st_size)


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(path: str, ident: tuple, sql: str, params: tuple) -> pd.DataFrame:
    return read(path, sql, params)


def read(path: str, sql: str, params: tuple = ()) -> pd.DataFrame:
    """Run one read-only query; values always travel as parameters, never inside the SQL text. A
    publish swapping the file while it is being opened fails the read with an IOException: read again,
    which opens the new file. (Every reader comes through here: pages, exports, other processes.)"""
    try:
        return _read(path, sql, params)
    except duckdb.IOException:
        return _read(path, sql, params)


def _read(path: str, sql: str, params: tuple) -> pd.DataFrame:
    with duckdb.connect(":memory:") as con:
        con.execute("SET TimeZone = 'UTC'")
        # product_ok(product, selected): true for every product when nothing is selected (the product filter)
        con.execute("CREATE TEMP MACRO product_ok(p, sel) AS (len(sel) = 0 OR list_contains(sel, p))")
        con.execute("ATTACH ? AS w (READ_ONLY)", [path])
        con.execute("USE w")
        return con.execute(sql, list(params)).fetchdf()


def _published() -> tuple[str, tuple]:
    """The published file and its identity, the key of every cached answer."""
    path = warehouse_path()
    ident = identity(path)
    if ident is None:
        raise NoWarehouse(f"No warehouse at {path} yet. Run `dodo-analytics sync` (or `make demo`) first.")
    return str(path), ident


def query(sql: str, params: tuple = ()) -> pd.DataFrame:
    return _cached(*_published(), sql, tuple(params))


def status() -> dict:
    """What the published data describes: data_through, the last run and its age."""
    runs = query(
        "SELECT data_through, finished_at, status, error FROM sync_runs WHERE status <> 'running' "
        "ORDER BY run_id DESC LIMIT 1"
    )
    settings = query("SELECT * FROM metric_settings")
    if runs.empty:
        raise NoWarehouse("The warehouse has no completed sync yet. Run `dodo-analytics sync`.")
    row = runs.iloc[0].to_dict()
    last = read_status(warehouse_path())
    if last and last.get("exit_code") and last.get("finished_at", "") > str(row["finished_at"].isoformat()):
        row["status"], row["error"] = "failed", last.get("problem")  # a later run failed: nothing published
    through = row["data_through"].to_pydatetime()
    return {
        "data_through": through,
        "status": row["status"],
        "error": row["error"],
        "age_hours": (datetime.now(UTC) - through).total_seconds() / 3600,
        "timezone": settings["timezone"].iloc[0],
        "grace_days": int(settings["grace_days"].iloc[0]),
        "recovery_days": int(settings["recovery_days"].iloc[0]),
    }


@st.cache_data(max_entries=32, show_spinner=False)
def _export(
    path: str, ident: tuple, what: str, start, end, currency, timezone: str, products: tuple
) -> bytes:
    return exports.build(
        what,
        lambda sql, params: read(path, sql, tuple(params)),
        start,
        end,
        currency,
        timezone,
        list(products),
    )


def export_csv(what: str, start, end, currency, timezone: str, products) -> bytes:
    """The Exports page's file, built once per published file and filter (a CSV of the whole set)."""
    return _export(*_published(), what, start, end, currency, timezone, tuple(products))
