"""The sync end to end against the in-process sandbox: complete, incremental, resumable, robust, silent
about the key. The sandbox is reached through its httpx transport; clocks and sleeps are fake."""

import argparse
import gc
import hashlib
import json
import math
import os
from datetime import timedelta

import httpx
import pytest

from core.published import status_path, work_path
from etl import warehouse as wh
from etl.pager import PAGE_SIZE, Window, next_step, page_params, sdk_next_page
from harness import Harness, Killed, assert_complete, snapshot, totals
from helpers import RO_KEY, make_api
from sandbox.faults import FaultConfig, Faults


@pytest.fixture(scope="module")
def api_1500():
    return make_api(1500, seed=5)


def test_full_sync_loads_exactly_what_the_sandbox_holds(api_1500, tmp_path):
    h = Harness(api_1500, tmp_path, budget=50)
    assert h.sync() == 0, h.stderr.getvalue()
    assert_complete(h)
    run = h.query("SELECT status, data_through, requests, rows, error FROM sync_runs")
    assert len(run) == 1 and run[0][0] == "ok" and run[0][4] is None
    assert run[0][1].astimezone().isoformat().startswith("2026-06-30") and run[0][2] == h.requests
    # every failed payment has its decline code; the payments not final yet have their details, read
    # as they are read again by id; the budget of others (50) waits for the next run
    failed_without_code = "SELECT count(*) FROM payments LEFT JOIN payment_details USING (payment_id) "
    assert h.query(failed_without_code + "WHERE status = 'failed' AND error_code IS NULL")[0][0] == 0
    others = "SELECT count(*) FROM payments JOIN payment_details USING (payment_id) WHERE status <> 'failed'"
    not_final = h.query(
        "SELECT count(*) FROM payments WHERE status = 'processing' OR status LIKE 'requires_%'"
    )[0][0]
    assert not_final > 0 and h.query(others)[0][0] == not_final
    assert f"read again by id (not final yet): payments {not_final}" in h.stdout.getvalue()
    first_output = h.stdout.getvalue()
    assert h.sync() == 0
    assert h.query(others)[0][0] == 50 + not_final  # newest first
    newest = "SELECT max(created_at) FROM payments WHERE status <> 'failed' AND payment_id NOT IN "
    assert (
        h.query(newest + "(SELECT payment_id FROM payment_details)")[0][0]
        < h.query(
            "SELECT min(p.created_at) FROM payments p JOIN payment_details d USING (payment_id) "
            "WHERE p.status NOT IN ('failed', 'processing') AND p.status NOT LIKE 'requires_%'"
        )[0][0]
    )
    types = dict(h.query("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'payments'"))
    assert types["total_amount"] == "BIGINT" and types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert (
        h.query("SELECT count(*) FROM disputes WHERE amount > 0")[0][0]
        == totals(api_1500)["disputes"]["count"]
    )
    assert "data through 2026-06-30 00:00:00 UTC" in first_output
    assert not work_path(h.path).with_name(h.path.name + ".publishing").exists()


def test_second_sync_with_nothing_new_costs_lookback_and_full_pages_only(api_1500, tmp_path):
    h = Harness(api_1500, tmp_path)
    assert h.sync() == 0
    first = h.requests
    h.requests = 0
    assert h.sync() == 0
    assert_complete(h)
    now = h.query("SELECT max(data_through) FROM sync_runs")[0][0]

    def pages(table, days=None):
        where = "" if days is None else f"WHERE created_at >= ?::TIMESTAMPTZ - INTERVAL {days} DAY"
        n = h.query(f"SELECT count(*) FROM {table} {where}", [] if days is None else [now])[0][0]
        return math.ceil((n + 1) / PAGE_SIZE)

    bound = (
        pages("payments", 7)
        + pages("refunds", 30)
        + pages("disputes", 120)
        + pages("ledger_entries", 0)
        + pages("subscriptions")
        + pages("customers")
        + 2
    )
    windows = 16 * 6  # each planned window may end on one short page
    assert h.requests <= bound + windows + 5
    assert h.requests < first / 5
    assert h.query("SELECT count(*) FROM sync_runs WHERE status = 'ok'")[0][0] == 2


def test_advancing_the_clock_then_syncing_catches_changes_to_old_records(tmp_path):
    api = make_api(1200, seed=9)
    h = Harness(api, tmp_path)
    assert h.sync() == 0
    before = dict(h.query("SELECT subscription_id, status FROM subscriptions"))
    report = api.data.advance(int(timedelta(days=12).total_seconds() * 1000))
    assert report["status_changed"]["subscriptions"] > 0
    assert h.sync() == 0
    assert_complete(h)
    after = dict(h.query("SELECT subscription_id, status FROM subscriptions"))
    changed = {k for k in before if before[k] != after[k]}
    assert len(changed) == report["status_changed"]["subscriptions"]
    assert h.query("SELECT max(data_through) FROM sync_runs")[0][0].isoformat().startswith("2026-07-12")


@pytest.fixture(scope="module")
def reference_sync(api_1500, tmp_path_factory):
    """One uninterrupted sync of api_1500 (details of failed payments only): what every resumed sync must equal."""
    h = Harness(api_1500, tmp_path_factory.mktemp("reference"))
    assert h.sync() == 0
    return h


@pytest.mark.parametrize("moment", [0.002, 0.05, 0.3, 0.6, 0.85, 0.97])
def test_a_killed_sync_resumes_without_holes_or_duplicates(api_1500, reference_sync, tmp_path, moment):
    """Killed at a share of the requests of a whole sync: planning, windows, splits, payment details."""
    reference = reference_sync
    h = Harness(api_1500, tmp_path / "killed", kill_after=int(reference.requests * moment))
    with pytest.raises(Killed):
        h.sync()
    gc.collect()  # the dead run's connection goes away, as it would with the process
    if h.path.exists():  # only a first sync's early publish, which says it is one
        assert h.query("SELECT status FROM sync_runs WHERE status <> 'running'") == [("loading",)]
    h.kill_after = None
    assert h.sync() == 0, h.stderr.getvalue()
    assert snapshot(h.path) == snapshot(reference.path)
    statuses = [s for (s,) in h.query("SELECT status FROM sync_runs ORDER BY run_id")]
    assert statuses[-1] == "ok" and statuses[0] in ("interrupted", "ok")


def test_faults_are_survived_and_the_result_is_complete(tmp_path):
    config = FaultConfig(error_rate=0.15, truncate_rate=0.05, hang_rate=0.03, rate_429=0.05, seed=4)
    api = make_api(800, seed=3, faults=Faults(config))
    h = Harness(api, tmp_path)
    assert h.sync() == 0, h.stderr.getvalue()
    assert_complete(h)
    requests, limited, retries = h.query("SELECT requests, rate_limited, retries FROM sync_runs")[0]
    assert limited > 0 and retries > limited


def test_an_outage_fails_clearly_and_keeps_the_published_warehouse(tmp_path):
    api = make_api(500, seed=2)
    h = Harness(api, tmp_path)
    assert h.sync() == 0
    digest = hashlib.sha256(h.path.read_bytes()).hexdigest()
    api.faults.config.error_rate = 1.0
    assert h.sync() == 1
    err = h.stderr.getvalue()
    assert "failed after 7 attempts" in err and "Nothing was published" in err and "Traceback" not in err
    assert hashlib.sha256(h.path.read_bytes()).hexdigest() == digest
    status = json.loads(status_path(h.path).read_text())
    assert status["exit_code"] == 1 and "failed after 7 attempts" in status["problem"]
    api.faults.config.error_rate = 0.0
    assert h.sync() == 0
    assert [s for (s,) in h.query("SELECT status FROM sync_runs ORDER BY run_id")] == ["ok", "failed", "ok"]


def test_a_resource_the_key_may_not_read_is_skipped_and_recorded(tmp_path):
    api = make_api(400, seed=4, ro_denied=("balances/ledger",))
    h = Harness(api, tmp_path)
    assert h.sync() == 0, h.stderr.getvalue()
    assert "ledger         skipped: The API key may not read /balances/ledger (403)" in h.stdout.getvalue()
    assert h.query("SELECT count(*) FROM ledger_entries")[0][0] == 0
    assert h.query("SELECT count(*) FROM payments")[0][0] == totals(api)["payments"]["count"]
    assert "/balances/ledger" in h.query("SELECT skipped FROM sync_runs")[0][0]


def test_a_refused_key_gets_a_message_about_test_and_live_keys(tmp_path):
    h = Harness(make_api(300), tmp_path, key="sk_live_wrong_key_123456")
    assert h.sync() == 1
    err = h.stderr.getvalue()
    assert "refused the key (401" in err and "test and live keys differ" in err
    assert "sk_live_wrong_key_123456" not in err + h.stdout.getvalue()


def test_the_api_key_never_reaches_output_logs_or_the_warehouse(tmp_path, reliability):
    key = "sk_test_SECRETSECRET_0123456789"
    api = make_api(400, seed=6)
    api.keys[key] = "ro"
    h = Harness(api, tmp_path, key=key, budget=20)
    api.faults.config.error_rate = 0.1
    assert h.sync() == 0
    api.faults.config.error_rate = 1.0
    assert h.sync() == 1  # a failing run too
    for text in (h.stdout.getvalue(), h.stderr.getvalue()):
        assert key not in text
    import dodo_cli

    for what in ("payments", "subscriptions", "customers"):  # exports are files finance passes around
        assert (
            dodo_cli.main(
                [
                    "export",
                    "--what",
                    what,
                    "--out",
                    str(h.path.parent / f"{what}.csv"),
                    "--warehouse",
                    str(h.path),
                ]
            )
            == 0
        )
    files = list(h.path.parent.iterdir())  # warehouse, working copy, status, lock, exports
    assert len(files) >= 6
    for path in files:
        assert key.encode() not in path.read_bytes(), path
    assert key not in str(h.query("SELECT * FROM sync_runs"))
    reliability(
        "Key never leaks (sync)",
        "a distinctive key grepped in stdout, stderr, every file beside the "
        "warehouse (published, working copy, status, 3 CSV exports) and sync_runs, after an ok and a failed run",
        2,
        "0 occurrences",
    )


def test_only_get_requests_are_ever_sent(api_1500, tmp_path, reliability):
    api = make_api(300, seed=8)
    h = Harness(api, tmp_path, budget=30)
    assert h.sync() == 0
    stats = api.stats
    assert stats["requests"] == stats["method:GET"] == h.requests
    reliability(
        "GET only",
        "a full sync with details, every request counted by the sandbox by method",
        stats["requests"],
        "0 requests other than GET",
    )


def test_a_second_sync_exits_75_while_the_lock_is_held(tmp_path):
    h = Harness(make_api(300), tmp_path)
    held = wh.lock(h.path, 240)
    try:
        assert h.sync() == 75
        assert f"another sync (pid {os.getpid()}, started " in h.stderr.getvalue()
        assert "longer than the run deadline" not in h.stderr.getvalue()
    finally:
        held.release()
    assert h.sync() == 0


def test_a_lock_held_past_the_deadline_says_how_to_stop_its_holder(tmp_path):
    h = Harness(make_api(300), tmp_path)
    held = wh.lock(h.path, 240)
    try:
        held.handle.truncate(0)
        held.handle.write("pid 4242, started 2026-01-01T00:00:00Z")  # as if held for months
        held.handle.flush()
        assert h.sync() == 75
        said = h.stderr.getvalue()
        assert "longer than the run deadline of 240 minutes" in said and "kill 4242" in said, said
    finally:
        held.release()


def test_the_lock_of_a_sync_that_died_is_taken_over_and_said(tmp_path):
    h = Harness(make_api(300), tmp_path)
    h.path.parent.mkdir(parents=True)
    # a sync killed while it held the lock: the kernel freed the lock, its name stays in the file
    (h.path.parent / "warehouse.duckdb.lock").write_text("pid 4242, started 2026-01-01T00:00:00Z")
    assert h.sync() == 0, h.stderr.getvalue()
    assert "took over the lock of a sync that ended without finishing (pid 4242" in h.stdout.getvalue()
    assert (h.path.parent / "warehouse.duckdb.lock").read_text() == ""  # a finished run leaves it empty
    assert h.sync() == 0 and "took over" not in h.stdout.getvalue()


def test_settings_problems_exit_2_with_one_line(tmp_path):
    h = Harness(make_api(300), tmp_path)
    h.env["DODO_PAYMENTS_ENVIRONMENT"] = "production"
    assert h.sync() == 2
    assert h.stderr.getvalue().count("\n") == 1 and "DODO_PAYMENTS_ENVIRONMENT" in h.stderr.getvalue()
    h.env["DODO_PAYMENTS_ENVIRONMENT"] = "test_mode"
    assert h.sync(resources="payments,invoices") == 2 and "invoices" in h.stderr.getvalue()


def test_sdk_style_paging_loses_a_page_where_ours_does_not(api_1500):
    """Regression: the official SDKs' `(page_number or 1) + 1` skips page 1 (docs/dodo-api.md §3)."""
    from sandbox.server import SandboxTransport

    with httpx.Client(
        transport=SandboxTransport(api_1500),
        base_url="http://s",
        headers={"Authorization": f"Bearer {RO_KEY}"},
    ) as c:
        window = Window(None, None)

        def read(next_page):
            seen, page = set(), None
            while True:
                params = page_params(window, page or 0)
                if page is None:
                    del params["page_number"]
                items = c.get("/payments", params=params).json()["items"]
                if not items:
                    return seen
                seen |= {i["payment_id"] for i in items}
                page = next_page(page)

        total = totals(api_1500)["payments"]["count"]
        assert total > 2 * PAGE_SIZE  # enough for page 1 to matter
        assert len(read(sdk_next_page)) == total - PAGE_SIZE

        ours, page = set(), 0
        while True:
            items = c.get("/payments", params=page_params(window, page)).json()["items"]
            ours |= {i["payment_id"] for i in items}
            step, _ = next_step(window, page, items, None)
            if step == "done":
                break
            page += 1
        assert len(ours) == total


def test_doctor_says_what_the_key_can_read(tmp_path):
    from etl import doctor

    api = make_api(300, ro_denied=("balances/ledger",))
    h = Harness(api, tmp_path)
    lines = []
    assert doctor.run(argparse.Namespace(warehouse=str(h.path)), h.client, lines.append, env=h.env) == 1
    text = "\n".join(lines)
    assert (
        "ok   the key can read /payments" in text
        and "FAIL the key may not read /balances/ledger (403)" in text
    )
    assert "no warehouse at" in text
    assert h.sync() == 0
    lines.clear()
    api.ro_denied = frozenset()
    assert doctor.run(argparse.Namespace(warehouse=str(h.path)), h.client, lines.append, env=h.env) == 0
    assert "last published sync ok, data through 2026-06-30" in "\n".join(lines)
    api.faults.config.error_rate = 1.0
    assert h.sync() == 1  # nothing published, but doctor knows from <warehouse>.status.json
    api.faults.config.error_rate = 0.0
    lines.clear()
    assert doctor.run(argparse.Namespace(warehouse=str(h.path)), h.client, lines.append, env=h.env) == 1
    assert "FAIL the last sync" in "\n".join(lines) and "failed after 7 attempts" in "\n".join(lines)
    h.env["DODO_PAYMENTS_API_KEY"] = "sk_test_wrong"
    lines.clear()
    assert doctor.run(argparse.Namespace(warehouse=str(h.path)), h.client, lines.append, env=h.env) == 1
    assert "test and live keys differ" in "\n".join(lines) and "sk_test_wrong" not in "\n".join(lines)


def test_a_server_clock_jumping_back_never_moves_data_through_back(tmp_path):
    api = make_api(600, seed=8)
    h = Harness(api, tmp_path)
    assert h.sync() == 0
    api.data.advance(int(timedelta(days=1).total_seconds() * 1000))
    api.faults.config.date_back_rate, api.faults.config.date_back_s = 1.0, 3 * 86400
    assert h.sync() == 0, h.stderr.getvalue()
    assert (
        "note: the API's clock (" in h.stdout.getvalue() and "data through stays there" in h.stdout.getvalue()
    )
    first, second = [t for (t,) in h.query("SELECT data_through FROM sync_runs ORDER BY run_id")]
    assert second == first
    api.faults.config.date_back_rate = 0.0
    assert h.sync() == 0
    assert_complete(h)


def test_a_refund_or_dispute_that_settles_long_after_it_was_created_is_caught(tmp_path):
    """A refund pending since 45 days before the first sync succeeds afterwards, a dispute opened 150
    days before is lost, a payment processing for 20 days succeeds: each is older than its look-back
    (30, 120 and 7 days), so no list re-read sees it; the next sync reads them again by id because
    they were not final."""
    api = make_api(3000, seed=4)
    now = api.data.now
    refund = next(
        r for r in api.data.sim.refunds if now - r.created > 45 * 86_400_000 and r.status == "succeeded"
    )
    dispute = next(d for d in api.data.sim.disputes if now - d.created > 150 * 86_400_000)
    payment = next(
        p for p in api.data.sim.payments if now - p.created > 20 * 86_400_000 and p.status == "succeeded"
    )
    refund.status, dispute.status, payment.status = "pending", "dispute_opened", "processing"
    h = Harness(api, tmp_path)
    assert h.sync() == 0
    refund.status, dispute.status, payment.status = "succeeded", "dispute_lost", "succeeded"
    assert h.sync() == 0
    assert h.query("SELECT status FROM payments WHERE payment_id = ?", [payment.id]) == [("succeeded",)]
    assert h.query("SELECT status FROM refunds WHERE refund_id = ?", [refund.id]) == [("succeeded",)]
    assert h.query("SELECT dispute_status FROM disputes WHERE dispute_id = ?", [dispute.id]) == [
        ("dispute_lost",)
    ]
    assert "read again by id (not final yet): refunds 1, disputes" in h.stdout.getvalue()
    assert h.sync() == 0  # both final now: not read again
    assert "refunds" not in h.stdout.getvalue().split("read again by id", 1)[-1].split("\n")[0]


def test_the_demos_follow_up_sees_every_new_payment(tmp_path):
    """The demo's printed steps: its sandbox's clock is now; "move time" advances it 7 days, ahead of
    this machine's; "sync again" (with DODO_ANALYTICS_TRUST_API_CLOCK=1, as printed) reads all of it.
    Without the setting the sync keeps to this machine's clock and says so."""
    from datetime import UTC, datetime

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    api = make_api(800, seed=2, now=now)
    h = Harness(api, tmp_path)
    assert h.sync() == 0
    api.data.advance(7 * 86_400_000)
    assert h.sync() == 0 and "ahead of this machine's" in h.stdout.getvalue()
    h.env["DODO_ANALYTICS_TRUST_API_CLOCK"] = "1"
    assert h.sync() == 0 and "ahead of this machine's" not in h.stdout.getvalue()
    assert_complete(h)
