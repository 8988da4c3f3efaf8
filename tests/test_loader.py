"""etl/loader.py: the writer thread, its shared transactions and what a failed commit leaves."""

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import duckdb
import pytest

from core.settings import Settings
from etl import bookkeeping
from etl import sync as etl_sync
from etl import warehouse as wh
from etl.loader import Loader
from etl.records import LEDGER, table
from etl.resources import RESOURCES

KEY = "sk_test_Zq9XUNIQUEkeyVALUE4711"  # distinctive, so a leak is easy to spot


def test_loader_keeps_order_batches_commits_and_fails_only_the_bad_one(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    release = threading.Event()
    entry = {
        "created_at": "2026-01-01T00:00:00Z",
        "amount": 100,
        "currency": "USD",
        "event_type": "payment",
        "is_credit": True,
    }

    def blocked(con):
        release.wait(5)  # the writer is busy: the commits below queue up and share transactions

    def change(n):
        rows = table(LEDGER, [dict(entry, id=f"led_{n // 10}")])[0]
        return wh.Change("ledger", "ledger_entries", rows, False, rejected=((n, "ledger", str(n), ""),))

    async def queued_behind_a_busy_writer(loader, ns):
        release.clear()
        first = asyncio.ensure_future(loader.call(blocked))
        await asyncio.sleep(0.05)
        jobs = [asyncio.ensure_future(loader.commit(change(n))) for n in ns]
        await asyncio.sleep(0.05)
        release.set()
        await first
        return await asyncio.gather(*jobs, return_exceptions=True)

    async def go():
        loader = Loader(con)
        try:
            # led_3 is inserted twice: that change alone fails (its rejected record with it), the others commit
            failing = await queued_behind_a_busy_writer(loader, (10, 20, 30, 31, 40))
            clean = await queued_behind_a_busy_writer(loader, (50, 60, 70))
            return failing, clean
        finally:
            loader.close()

    failing, clean = asyncio.run(go())
    assert [type(r).__name__ for r in failing] == [
        "NoneType",
        "NoneType",
        "NoneType",
        "ConstraintException",
        "NoneType",
    ]
    assert clean == [None, None, None]
    assert con.execute("SELECT id FROM ledger_entries ORDER BY id").fetchall() == [
        (f"led_{n}",) for n in range(1, 8)
    ]
    assert con.execute("SELECT run_id FROM rejected_records ORDER BY 1").fetchall() == [
        (n,) for n in (10, 20, 30, 40, 50, 60, 70)
    ]
    # the clean changes queued together went in as one transaction and one statement: one synced_at
    stamps = con.execute(
        "SELECT count(DISTINCT synced_at) FROM ledger_entries WHERE id IN ('led_5', 'led_6', 'led_7')"
    )
    assert stamps.fetchall() == [(1,)]
    assert con.execute("SELECT current_setting('threads')").fetchall()[0][0] > 1  # reset for the metrics


def test_store_replaces_a_record_read_twice_in_a_first_backfill(tmp_path):
    """A first backfill inserts without replacing (fast); a record read again (split windows share an
    instant) must replace its row, not fail the window."""
    con = wh.open_work(tmp_path / "w.duckdb")
    sync = etl_sync.Sync(
        Settings.from_env({"DODO_PAYMENTS_API_KEY": KEY, "DODO_PAYMENTS_ENVIRONMENT": "test_mode"}), None, con
    )
    sync.out, sync.empty_tables = etl_sync.Outcome(1, None), {"ledger_entries"}
    entry = {
        "id": "led_1",
        "created_at": "2026-01-01T00:00:00Z",
        "amount": 100,
        "currency": "USD",
        "event_type": "payment",
        "is_credit": True,
    }
    ledger = RESOURCES["ledger"]

    async def go():
        sync.writer = Loader(con)
        try:
            for amount in (100, 250):
                await sync.store(ledger, *table(LEDGER, [dict(entry, amount=amount)]))
        finally:
            sync.writer.close()

    asyncio.run(go())
    assert con.execute("SELECT id, amount FROM ledger_entries").fetchall() == [("led_1", 250)]


@pytest.mark.parametrize("header", [None, "", "not a date", "Thu, 99 Nov 2026 25:61:00 GMT"])
def test_pin_falls_back_to_this_machines_clock_without_a_usable_date_header(header):
    con = duckdb.connect()
    con.execute(bookkeeping.DDL)
    started = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    through, note = bookkeeping.pin(con, header, started)
    assert through == started and "no usable Date header" in note


def test_pin_never_trusts_a_server_clock_ahead_of_this_machines():
    con = duckdb.connect()
    con.execute(bookkeeping.DDL)
    started = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    ahead = format_datetime(started + timedelta(days=1), usegmt=True)
    through, note = bookkeeping.pin(con, ahead, started)
    assert through == started and "ahead of this machine's" in note
    near = format_datetime(started + timedelta(minutes=2), usegmt=True)  # ordinary skew: the API's clock
    assert bookkeeping.pin(con, near, started) == (started + timedelta(minutes=2), None)
