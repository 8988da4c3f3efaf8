"""A first sync publishes early, newest first, and each early publish holds exactly what its
sync_coverage claims: checked against the sandbox's own records and against the finished sync."""

from datetime import UTC, datetime, timedelta

import pytest

from core.published import connect
from etl.resources import RESOURCES, Mode
from harness import Watching, assert_complete
from helpers import make_api
from test_dashboard import PAGES, metric, open_page

INCREMENTAL = [n for n, r in RESOURCES.items() if r.mode is Mode.INCREMENTAL]


@pytest.fixture(scope="module")
def first_sync(tmp_path_factory):
    api = make_api(4000, seed=11)
    h = Watching(api, tmp_path_factory.mktemp("first"))
    h.env["DODO_ANALYTICS_PUBLISH_MINUTES"] = "0"  # after every stage, the older history's chunks too
    assert h.sync() == 0, h.stderr.getvalue()
    assert_complete(h)
    return h


def rows(path, sql, params=()):
    with connect(path) as con:
        return con.execute(sql, params).fetchall()


def test_the_first_publish_comes_after_the_last_7_days_and_says_so(first_sync):
    h = first_sync
    assert len(h.copies) >= 4, h.stdout.getvalue()
    first = h.copies[0]
    assert rows(first, "SELECT status FROM sync_runs WHERE status <> 'running'") == [("loading",)]
    (through,) = rows(first, "SELECT data_through FROM sync_runs WHERE status = 'loading'")[0]
    coverage = dict(rows(first, "SELECT resource, complete_from FROM sync_coverage WHERE state = 'partial'"))
    for name in ("payments", "ledger", "refunds", "disputes"):
        assert coverage[name] <= through - timedelta(days=7), name
    states = dict(rows(first, "SELECT resource, state FROM sync_coverage"))
    assert states["products"] == "complete" and states["subscriptions"] == "loading"
    assert states["mrr"] == "loading"  # MRR needs every subscription: not claimed yet
    assert "first sync, published early" in h.stdout.getvalue()


def test_every_early_publish_holds_exactly_the_records_it_claims(first_sync):
    h = first_sync
    collections = h.api.data.collections
    for copy in h.copies:
        (through,) = rows(copy, "SELECT data_through FROM sync_runs WHERE status = 'loading'")[0]
        end_ms = int(through.timestamp() * 1000)
        for name, state, start in rows(copy, "SELECT resource, state, complete_from FROM sync_coverage"):
            if name == "mrr" or state == "loading":
                continue
            r = RESOURCES[name]
            start_ms = 0 if start is None else int(start.timestamp() * 1000)
            truth = {x.id for x in collections[name].records if start_ms <= x.created <= end_ms}
            got = {
                i
                for (i,) in rows(
                    copy,
                    f"SELECT {r.key} FROM {r.table} WHERE created_at >= coalesce(?, '-infinity'::TIMESTAMPTZ)",
                    [start],
                )
            }
            assert got == truth, (copy.name, name, len(got ^ truth))


def test_every_early_publishs_complete_days_and_months_equal_the_finished_syncs(first_sync):
    h = first_sync
    final = h.path
    checked_days = checked_months = 0
    for copy in h.copies:
        coverage = {
            n: (s, f) for n, s, f in rows(copy, "SELECT resource, state, complete_from FROM sync_coverage")
        }
        lists = [coverage[n] for n in INCREMENTAL]
        if any(state == "loading" for state, _ in lists):
            continue
        start = max((f for _, f in lists if f is not None), default=None)
        (through,) = rows(copy, "SELECT data_through FROM sync_runs WHERE status = 'loading'")[0]
        day = "day > coalesce(?::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)::DATE"
        sql = f"SELECT * FROM revenue_daily WHERE {day} ORDER BY day, currency"
        early = rows(copy, sql, [start])
        assert early == rows(final, sql, [start]), copy.name
        checked_days += len(early)
        state, mrr_from = coverage["mrr"]
        if state == "loading":
            continue
        # MRR at each month's ends (t0, and t1: the next month's start or now) from where it is right
        sql = (
            "SELECT month, currency, round(mrr_start, 6), customers_start FROM mrr_monthly WHERE month >= $from "
            "UNION ALL SELECT month, currency, round(mrr_end, 6), customers_end FROM mrr_monthly "
            "WHERE least(month + INTERVAL 1 MONTH, $through) >= $from ORDER BY ALL"
        )
        params = {"from": mrr_from or datetime.min.replace(tzinfo=UTC), "through": through}
        early = rows(copy, sql, params)
        assert early == rows(final, sql, params), copy.name
        checked_months += len(early)
    assert checked_days > 30 and checked_months > 0  # the checks above compared something


def test_the_finished_sync_says_everything_is_complete(first_sync):
    states = rows(first_sync.path, "SELECT DISTINCT state FROM sync_coverage")
    assert states == [("complete",)]
    assert rows(first_sync.path, "SELECT DISTINCT status FROM sync_runs") == [("ok",)]


@pytest.mark.parametrize("mrr", ["loading", "partial"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_a_partial_history_and_says_so(first_sync, monkeypatch, mrr, page):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(first_sync.early(mrr)))
    at = open_page(page)
    infos = " ".join(i.value for i in at.info)
    assert "The first sync is still loading the history" in infos
    assert "history" in infos and "% loaded" in infos
    # "All time" reaches before what is loaded: said
    assert "its totals are incomplete" in " ".join(w.value for w in at.warning)
    if page == "views/subscriptions.py":
        assert ("MRR, churn and cohorts appear once" in infos) == (mrr == "loading")
        assert ("Cohorts appear once the whole history is loaded" in infos) == (mrr == "partial")


def test_mrr_now_shows_once_it_is_right_and_equals_the_finished_syncs(first_sync, monkeypatch):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(first_sync.path))
    final = metric(open_page(PAGES[0]), "MRR")
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(first_sync.early("loading")))
    assert metric(open_page(PAGES[0]), "MRR") == "loading"
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(first_sync.early("partial")))
    assert metric(open_page(PAGES[0]), "MRR") == final != "n/a"


def test_an_export_of_an_early_publish_says_what_it_cannot_hold_yet(first_sync, tmp_path, capsys):
    import dodo_cli

    copy = first_sync.early("partial")
    first = rows(
        copy, "SELECT max(complete_from) FROM sync_coverage WHERE state = 'partial' AND resource <> 'mrr'"
    )
    args = ["export", "--what", "payments", "--currency", "USD", "--warehouse", str(copy)]
    assert dodo_cli.main([*args, "--out", str(tmp_path / "all.csv")]) == 0
    said = capsys.readouterr().out
    assert "The first sync is still loading the history" in said
    day = (first[0][0] - timedelta(microseconds=1)).date() + timedelta(days=1)  # the first whole UTC day
    assert f"the rows before {day} are incomplete" in said
    later = ["--from", str(day), "--out", str(tmp_path / "later.csv")]
    assert dodo_cli.main([*args, *later]) == 0
    assert "are incomplete" not in capsys.readouterr().out  # a period inside what is whole
    # and the finished sync's export says nothing of the kind
    assert dodo_cli.main([*args[:-1], str(first_sync.path), "--out", str(tmp_path / "final.csv")]) == 0
    assert "still loading" not in capsys.readouterr().out
