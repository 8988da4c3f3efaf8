"""The dashboard's door to the warehouse: `core.published.read` (a fresh read-only connection per query,
so a publish is seen on the next rerun and an open dashboard never holds a lock a sync would need)
behind Streamlit's cache. Results are cached per (file identity, query, parameters): a publish
changes the identity, so nothing stale is served."""

import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core import published
from core.errors import NoWarehouse
from core.published import read  # the reader, also for other processes that read as the dashboard does
from core.settings import Settings
from reports import exports, writers
from reports.filters import Filters
from reports.query import Chart, bind
from reports.status import Status, describe

Identity = tuple[int, int, int]


def settings() -> Settings:
    """The dashboard's settings, read on every run: no API key, and a bad value raises SettingsError."""
    return Settings.from_env(api=False)


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(path: str, ident: Identity, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    return read(path, sql, params)


def _published() -> tuple[str, Identity]:
    """The published file and its identity, the key of every cached answer."""
    path = settings().warehouse
    ident = published.identity(path)
    if ident is None:
        raise NoWarehouse(f"No warehouse at {path} yet. Run `dodo-analytics sync` (or `make demo`) first.")
    return str(path), ident


def query(sql: str, values: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Rows of `sql`, given the `$names` it uses out of `values`."""
    return _cached(*_published(), sql, bind(sql, values or {}))


def rows(chart: Chart, filters: Filters, **more: Any) -> pd.DataFrame:
    """A chart's rows under the filters (and `more`, such as a split's `by`)."""
    return query(chart.sql, chart.values(filters, **more))


def status() -> Status:
    """What the published data describes: data_through, the last run and its age."""
    return describe(query, published.read_status(settings().warehouse), datetime.now(UTC))


@st.cache_data(max_entries=32, show_spinner=False)
def _export(
    path: str,
    ident: Identity,
    what: str,
    fmt: str,
    start: date | None,
    end: date,
    currency: str | None,
    timezone: str,
    products: tuple[str, ...],
) -> tuple[bytes, int, str | None]:
    with tempfile.TemporaryDirectory() as tmp, published.connect(path) as con:
        out = Path(tmp) / f"export.{fmt}"
        rows, note = writers.write(con, what, fmt, out, start, end, currency, timezone, list(products))
        return out.read_bytes(), rows, note


@st.cache_data(max_entries=32, show_spinner=False)
def _preview(
    path: str,
    ident: Identity,
    what: str,
    start: date | None,
    end: date,
    currency: str | None,
    timezone: str,
    products: tuple[str, ...],
) -> pd.DataFrame:
    with published.connect(path) as con:
        return writers.preview(con, what, start, end, currency, timezone, list(products))


def _report(what: str, filters: Filters) -> tuple:
    """A report's arguments under the filters: the currency only where the report has one."""
    currency = filters.currency if exports.EXPORTS[what].currency else None
    return what, filters.start, filters.end, currency, filters.timezone, filters.products


def export_file(what: str, fmt: str, filters: Filters) -> tuple[bytes, int, str | None]:
    """The Exports page's file, its row count and what it lacks; built once per published file,
    format and filter."""
    what, *rest = _report(what, filters)
    return _export(*_published(), what, fmt, *rest)


def export_preview(what: str, filters: Filters) -> pd.DataFrame:
    """The report's first rows as its CSV shows them, without building the file."""
    return _preview(*_published(), *_report(what, filters))
