"""CSV cells a spreadsheet would misread: formulas behind blanks, NUL bytes, cells past Excel's limit."""

import pandas as pd

from reports import exports


def test_a_formula_behind_blanks_or_a_newline_is_neutralised(reliability):
    for dtype in ("string", object):
        out = list(
            exports.neutralise(pd.Series([" =1+1", '\n=HYPERLINK("x")', "  @SUM(A1)", " plain"], dtype=dtype))
        )
        assert out == ["' =1+1", '\'\n=HYPERLINK("x")', "'  @SUM(A1)", " plain"]
    reliability(
        "CSV formula injection behind blanks",
        "cells with spaces or a newline before = and @, under 2 pandas string dtypes",
        2,
        "every one written as text",
    )


def test_nul_bytes_are_dropped_and_a_cell_past_the_limit_is_cut_saying_so():
    long = "x" * 40_000
    out = list(exports.neutralise(pd.Series(["a\x00b", long, "y" * exports.CELL_LIMIT])))
    assert out[0] == "ab"
    assert len(out[1]) == exports.CELL_LIMIT and out[1].endswith(
        "[cut at the spreadsheet limit of 32,767 characters]"
    )
    assert out[1].startswith("x" * 30_000)
    assert out[2] == "y" * exports.CELL_LIMIT  # exactly at the limit: whole


HOSTILE = [
    " =1+1",
    '\n=HYPERLINK("x")',
    "  @SUM(A1)",
    " plain",
    "-1",
    "\tx",
    "a\x00b",
    "x" * 40_000,
    "y" * 32_767,
]


def test_the_files_neutralise_text_as_the_tables_do(tmp_path):
    """The writers neutralise in SQL (a million rows stay fast); the dashboard's tables in pandas. Both
    give the same cells, and a written CSV holds them so."""
    import duckdb

    from reports import writers

    con = duckdb.connect()
    for macro in writers.MACROS:
        con.execute(macro)
    in_sql = [v for (v,) in con.execute("SELECT neutral(unnest($x))", {"x": HOSTILE}).fetchall()]
    assert in_sql == list(exports.neutralise(pd.Series(HOSTILE)))
    con.execute("CREATE TABLE t AS SELECT unnest($x) AS note", {"x": HOSTILE})
    out = tmp_path / "t.csv"
    export = exports.Export('SELECT note AS "Note" FROM t', when=None, currency=None)
    with writers.replacing(out) as tmp:
        writers._csv(con, writers.shaped(con, export, export.sql, {}, "csv"), {}, tmp)
    body = out.read_bytes()
    assert b"\x00" not in body
    assert list(pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)["Note"]) == in_sql
