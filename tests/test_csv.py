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
    csv = exports.to_csv(pd.DataFrame({"note": exports.neutralise(pd.Series(["a\x00b"]))}))
    assert b"\x00" not in csv
