"""A report written to a file: CSV for spreadsheets, XLSX with typed cells, Parquet with typed columns;
and every warehouse table as Parquet for data teams.

DuckDB writes CSV and Parquet itself (a million rows in seconds); the columns are shaped in SQL first:
- CSV: money in major units with its currency's decimals ("12.34", "1234" for JPY), timestamps in UTC
  as Dodo writes them ("2026-03-10 00:10:00.000000"), booleans true/false, missing values empty,
  text neutralised for spreadsheets, UTF-8 with a BOM so spreadsheets read it as UTF-8.
- XLSX: the same values as typed cells: money a number shown with its currency's decimals, times
  as date-times (UTC), the header frozen.
- Parquet: money DECIMAL(38,3) in major units, times TIMESTAMPTZ, text as it came.

A file is written next to its destination and renamed over it once whole: a failed export never
leaves a partial file over a good one, and a destination that is a symbolic link is refused."""

import contextlib
import os
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from reports.exports import CELL_LIMIT, CUT, EXPORTS, Export, q, select
from reports.money import THREE_DECIMAL, ZERO_DECIMAL, exponent

FORMATS = ("csv", "xlsx", "parquet")
SHEET_ROWS = 1_048_575  # an Excel sheet's rows, less the header
BATCH = 10_000
LARGE = 100_000  # a table with more rows than this is written as one file per month


def _codes(currencies: frozenset[str]) -> str:
    return ", ".join(f"'{c}'" for c in sorted(currencies))


MACROS = [
    f"""CREATE OR REPLACE TEMP MACRO minor_digits(c) AS
        CASE WHEN c IN ({_codes(ZERO_DECIMAL)}) THEN 0 WHEN c IN ({_codes(THREE_DECIMAL)}) THEN 3 ELSE 2 END""",
    "CREATE OR REPLACE TEMP MACRO minor_per_major(c) AS [1, 10, 100, 1000][minor_digits(c) + 1]::HUGEINT",
    # minor units as exact major-unit text: -5 USD -> '-0.05'
    """CREATE OR REPLACE TEMP MACRO major_text(a, c) AS
        CASE WHEN a IS NULL THEN NULL WHEN minor_digits(c) = 0 THEN a::HUGEINT::VARCHAR
             ELSE concat(CASE WHEN a < 0 THEN '-' ELSE '' END, (abs(a::HUGEINT) // minor_per_major(c))::VARCHAR, '.',
                         lpad((abs(a::HUGEINT) % minor_per_major(c))::VARCHAR, minor_digits(c), '0')) END""",
    """CREATE OR REPLACE TEMP MACRO major_num(a, c) AS
        (a::HUGEINT::DECIMAL(38, 3) / minor_per_major(c)::DECIMAL(38, 3))::DECIMAL(38, 3)""",
    # a spreadsheet runs text that starts like a formula, even behind blanks: quote it; drop NUL
    # bytes; cut a cell past Excel's limit, saying so (as exports.neutralise does for the tables)
    "CREATE OR REPLACE TEMP MACRO no_nul(x) AS replace(x::VARCHAR, chr(0), '')",
    r"""CREATE OR REPLACE TEMP MACRO quoted(v) AS
        CASE WHEN regexp_matches(v, '^[\s\x0b]*[=+\-@\t\r]') THEN '''' || v ELSE v END""",
    f"""CREATE OR REPLACE TEMP MACRO neutral(x) AS
        CASE WHEN length(quoted(no_nul(x))) > {CELL_LIMIT}
             THEN left(quoted(no_nul(x)), {CELL_LIMIT - len(CUT)}) || '{CUT}'
             ELSE quoted(no_nul(x)) END""",
]


class ExportError(Exception):
    """What the user asked cannot be written; the message says what to do."""


def shaped(con, export: Export, sql: str, params: dict[str, Any], fmt: str) -> str:
    """`sql` with each column in the form `fmt` writes it."""
    for macro in MACROS:
        con.execute(macro)
    columns = con.execute(f"DESCRIBE {sql}", params).fetchall()
    out = []
    for name, kind, *_ in columns:
        c = q(name)
        if name in export.money:
            fixed = export.fixed_currency(name)
            currency = f"'{fixed}'" if fixed else q(export.money[name])
            amount = f"round_even({c}, 0)" if kind in ("DOUBLE", "FLOAT") else c  # MRR: unrounded minor units
            out.append(f"{'major_text' if fmt == 'csv' else 'major_num'}({amount}, {currency}) AS {c}")
        elif kind.startswith("TIMESTAMP") and fmt != "parquet":
            utc = f"timezone('UTC', {c})"
            out.append(f"strftime({utc}, '%Y-%m-%d %H:%M:%S.%f') AS {c}" if fmt == "csv" else f"{utc} AS {c}")
        elif kind in ("VARCHAR", "JSON") and fmt != "parquet":
            out.append(f"neutral({c}) AS {c}")
        elif kind == "HUGEINT":  # Parquet has no 128-bit integer (DuckDB would write a lossy DOUBLE)
            out.append(f"{c}::DECIMAL(38, 0) AS {c}")
        else:
            out.append(c)
    return f"SELECT {', '.join(out)} FROM ({sql})"


@contextlib.contextmanager
def replacing(out: Path) -> Iterator[Path]:
    """A private file (0600) next to `out`, renamed over it once the block ends without an error."""
    if out.is_symlink():
        raise ExportError(f"{out} is a symbolic link: give the path of the file itself")
    if out.is_dir():
        raise ExportError(f"{out} is a directory: give a file name")
    if not out.parent.is_dir():
        raise ExportError(f"{out.parent} is not a directory: create it first")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600))
    try:
        yield tmp
        os.chmod(tmp, 0o600)  # customers' names and e-mails: this user's only, whatever wrote the file
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _csv(con, sql: str, params: dict[str, Any], tmp: Path) -> int:
    body = tmp.with_name(tmp.name + ".body")
    try:
        os.close(os.open(body, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600))
        rows = con.execute(f"COPY ({sql}) TO '{_path(body)}' (FORMAT csv, HEADER)", params).fetchall()[0][0]
        with open(tmp, "wb") as f, open(body, "rb") as b:
            f.write(b"\xef\xbb\xbf")  # the BOM makes spreadsheets read UTF-8
            shutil.copyfileobj(b, f, 1 << 20)
    finally:
        body.unlink(missing_ok=True)
    return int(rows)


def _parquet(con, sql: str, params: dict[str, Any], tmp: Path) -> int:
    return int(con.execute(f"COPY ({sql}) TO '{_path(tmp)}' (FORMAT parquet)", params).fetchall()[0][0])


def _xlsx(con, sql: str, params: dict[str, Any], tmp: Path, sheet: str, export: Export) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    # each money column's currency: a fixed code, or the index of the column that holds it
    currency_of = {
        i: export.fixed_currency(n) or names.index(export.money[n])
        for i, n in enumerate(names)
        if n in export.money
    }
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    ws.append([_cell(ws, WriteOnlyCell, name, font=bold) for name in names])
    rows = 0
    while batch := cursor.fetchmany(BATCH):
        rows += len(batch)
        if rows > SHEET_ROWS:
            ws.close()  # ends the sheet's open temporary file before giving up
            raise ExportError(
                f"{rows:,}+ rows do not fit in one Excel sheet ({SHEET_ROWS:,}): narrow the period, "
                "or use --format csv or parquet"
            )
        for row in batch:
            cells = []
            for i, value in enumerate(row):
                if i in currency_of and value is not None:
                    ref = currency_of[i]
                    digits = exponent((ref if isinstance(ref, str) else row[ref]) or "")
                    cells.append(
                        _cell(
                            ws, WriteOnlyCell, value, number_format="0" if not digits else "0." + "0" * digits
                        )
                    )
                elif isinstance(value, datetime):
                    cells.append(_cell(ws, WriteOnlyCell, value, number_format="yyyy-mm-dd hh:mm:ss"))
                elif isinstance(value, date):
                    cells.append(_cell(ws, WriteOnlyCell, value, number_format="yyyy-mm-dd"))
                elif isinstance(value, str):
                    cells.append(_cell(ws, WriteOnlyCell, ILLEGAL_CHARACTERS_RE.sub("", value), text=True))
                else:
                    cells.append(value)
            ws.append(cells)
    book.save(tmp)
    return rows


def _cell(ws, factory, value, number_format: str | None = None, font=None, text: bool = False):
    cell = factory(ws, value=value)
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    if text:
        cell.data_type = "s"  # a string, even one starting with "=": never a formula
    return cell


def _path(path: Path) -> str:
    return str(path).replace("'", "''")


def checked(
    con, what: str, fmt: str, start: date | None, end: date | None, currency: str | None, products: list[str]
) -> str | None:
    """The request made sure before anything is written: the currency as the warehouse spells it
    (matched case-insensitively), known products, a period that does not end before it starts. An
    ExportError says what is wrong."""
    if what == "all" and fmt != "parquet":
        raise ExportError("--what all writes every warehouse table as Parquet: add --format parquet")
    if start and end and end < start:
        raise ExportError(f"the period ends ({end}) before it starts ({start}): swap --from and --to")
    if currency:
        known = [
            c
            for (c,) in con.execute(
                "SELECT DISTINCT currency FROM payments WHERE currency IS NOT NULL UNION "
                "SELECT DISTINCT currency FROM ledger_entries ORDER BY 1"
            ).fetchall()
        ]
        match = [c for c in known if c.upper() == currency.strip().upper()]
        if not match:
            raise ExportError(
                f"no record is in the currency {currency!r}; the warehouse has {', '.join(known)}"
            )
        currency = match[0]
    if products:
        known_ids = {
            p
            for (p,) in con.execute(
                "SELECT product_id FROM products UNION SELECT product_id FROM subscriptions "
                "UNION SELECT product_id FROM payment_details"
            ).fetchall()
        }
        if unknown := [p for p in products if p not in known_ids]:
            raise ExportError(
                f"no product {', '.join(map(repr, unknown))} in the warehouse: `dodo-analytics export "
                "--what sales` lists the product ids"
            )
    return currency


def lacking(con, what: str, sql: str, params: dict[str, Any]) -> str | None:
    """What the written rows lack that a reader should be told, or None."""
    if what != "payments":
        return None
    rows, without = con.execute(
        f'SELECT count(*), count(*) FILTER ("Settlement Currency" IS NULL) FROM ({sql})', params
    ).fetchall()[0]
    if not without:
        return None
    return (
        f"{without:,} of {rows:,} rows lack the settlement columns: Dodo gives them in a payment's "
        "detail, which the sync reads for failed payments and card updates first, then others newest "
        "first within DODO_ANALYTICS_DETAIL_BUDGET per run"
    )


def write(
    con,
    what: str,
    fmt: str,
    out: Path,
    start: date | None = None,
    end: date | None = None,
    currency: str | None = None,
    timezone: str = "UTC",
    products: list[str] | None = None,
) -> tuple[int, str | None]:
    """Write one report to `out`: the rows written, and what they lack that a reader should be told."""
    export = EXPORTS[what]
    sql, params = select(what, start, end, currency, timezone, products)
    final = shaped(con, export, sql, params, fmt)
    with replacing(Path(out)) as tmp:
        if fmt == "csv":
            rows = _csv(con, final, params, tmp)
        elif fmt == "parquet":
            rows = _parquet(con, final, params, tmp)
        else:
            rows = _xlsx(con, final, params, tmp, what, export)
    return rows, lacking(con, what, sql, params)


def preview(
    con,
    what: str,
    start: date | None,
    end: date | None,
    currency: str | None,
    timezone: str,
    products: list[str] | None = None,
    n: int = 20,
) -> pd.DataFrame:
    """The first `n` rows of a report as its CSV writes them, without writing it."""
    sql, params = select(what, start, end, currency, timezone, products)
    return con.execute(f"{shaped(con, EXPORTS[what], sql, params, 'csv')} LIMIT {int(n)}", params).fetchdf()


def write_tables(con, out: Path) -> dict[str, int]:
    """Every warehouse table as Parquet under the directory `out`: `<table>.parquet`, or for a table
    of more than LARGE rows with a created_at, `<table>/month=YYYY-MM/*.parquet` (Hive partitions,
    which BigQuery, Snowflake, Spark and DuckDB read as one table). Written into a new directory that
    then takes the place of `out`. {table: rows}."""
    out = Path(out)
    if out.is_symlink():
        raise ExportError(f"{out} is a symbolic link: give the path of the directory itself")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file: give a directory for --what all")
    if not out.parent.is_dir():
        raise ExportError(f"{out.parent} is not a directory: create it first")
    new = out.with_name(f".{out.name}.{os.getpid()}.partial")
    old = out.with_name(f".{out.name}.{os.getpid()}.old")
    shutil.rmtree(new, ignore_errors=True)
    os.mkdir(new, 0o700)
    written: dict[str, int] = {}
    try:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
            ).fetchall()
        ]
        for table in tables:
            columns = con.execute(f"DESCRIBE {q(table)}").fetchall()
            cast = ", ".join(
                f"{q(n)}::DECIMAL(38, 0) AS {q(n)}" if kind == "HUGEINT" else q(n) for n, kind, *_ in columns
            )
            rows = con.execute(f"SELECT count(*) FROM {q(table)}").fetchall()[0][0]
            if rows > LARGE and "created_at" in {n for n, *_ in columns}:
                sql = (
                    f"SELECT {cast}, strftime(timezone('UTC', created_at), '%Y-%m') AS month FROM {q(table)}"
                )
                con.execute(f"COPY ({sql}) TO '{_path(new / table)}' (FORMAT parquet, PARTITION_BY (month))")
            else:
                con.execute(
                    f"COPY (SELECT {cast} FROM {q(table)}) TO '{_path(new / (table + '.parquet'))}' (FORMAT parquet)"
                )
            written[table] = rows
        if out.exists():
            os.replace(out, old)
        os.replace(new, out)
    finally:
        shutil.rmtree(new, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return written
