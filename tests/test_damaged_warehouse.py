"""A warehouse path holding something else (garbage, a cut-short file, a folder, another program's
DuckDB or SQLite file) is never written to and never blamed on the disk: the message says what it
is and the way out. A damaged working copy is set aside and made anew."""

import sqlite3

import duckdb
import pytest

from core.published import PRODUCT, SCHEMA_VERSION, work_path
from harness import Harness
from helpers import make_api


@pytest.fixture
def h(tmp_path):
    harness = Harness(make_api(120), tmp_path)
    harness.path.parent.mkdir(parents=True)
    return harness


def refused(h, *said: str) -> str:
    before = h.path.read_bytes() if h.path.is_file() else None
    assert h.sync() == 1
    message = h.stderr.getvalue()
    for text in said:
        assert text in message, message
    assert "disk space" not in message  # the old message blamed the disk for all of these
    assert "Move it aside" in message or "is a folder" in message
    if before is not None:
        assert h.path.read_bytes() == before  # left alone
    return message


def test_garbage_is_not_a_duckdb_file(h, reliability):
    h.path.write_bytes(b"\x00garbage" * 1000)
    refused(h, "is not a DuckDB file", f"mv {h.path} {h.path}.old")
    reliability(
        "A published file that is garbage",
        "8 KB of junk at the warehouse path",
        1,
        "refused, with the way out",
    )


def test_a_sqlite_file_is_not_opened_through_an_extension(h):
    with sqlite3.connect(h.path) as con:
        con.execute("CREATE TABLE payments (id TEXT)")
    refused(h, "is not a DuckDB file")


def test_another_programs_duckdb_file_is_left_alone(h):
    with duckdb.connect(str(h.path)) as con:
        con.execute("CREATE TABLE payments (id INTEGER, amount DOUBLE)")
    refused(h, "is a DuckDB file of another program")


def test_a_warehouse_cut_short_is_damaged(h):
    assert h.sync() == 0
    data = h.path.read_bytes()
    h.path.write_bytes(data[: len(data) // 3])
    work_path(h.path).unlink()
    refused(h, str(h.path))


def test_a_folder_is_not_a_warehouse(h):
    h.path.mkdir()
    refused(h, "is a folder, not a warehouse file")


def test_a_damaged_working_copy_is_set_aside_and_the_sync_goes_on(h):
    assert h.sync() == 0
    work_path(h.path).write_bytes(b"\x00garbage" * 1000)
    assert h.sync(full_refresh=True) == 0, h.stderr.getvalue()
    assert work_path(h.path).with_name(h.path.name + ".work.damaged").exists()
    assert h.query("SELECT product, schema_version FROM warehouse_info") == [(PRODUCT, SCHEMA_VERSION)]
