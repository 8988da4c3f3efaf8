"""The pure parts of a first sync's early publishes, with literal inputs: the stages' order and cuts,
what sync_coverage claims from the plan, and which monthly figures a page may show."""

from datetime import UTC, date, datetime

import pandas as pd

from etl import coverage, stages
from etl.pager import US_PER_DAY, Window, to_us
from reports.coverage import Coverage

DAY = US_PER_DAY
THROUGH = to_us(datetime(2026, 6, 30, tzinfo=UTC))


def test_a_stage_reads_the_windows_reaching_past_its_horizon_and_cuts_the_one_across_it():
    plan = [Window(THROUGH - 40 * DAY, THROUGH), Window(THROUGH - 100 * DAY, THROUGH - 40 * DAY - 1)]
    now, later, cuts = stages.take(plan, THROUGH - 7 * DAY, parts=2)
    assert now == [
        Window(THROUGH - 7 * DAY, THROUGH - 7 * DAY // 2 - 1),
        Window(THROUGH - 7 * DAY // 2, THROUGH),
    ]
    older = Window(THROUGH - 40 * DAY, THROUGH - 7 * DAY - 1)
    assert later == [older, plan[1]]
    assert cuts == [(plan[0], [older, *now])]  # the plan swaps the window for its parts, nothing lost
    everything, nothing, _ = stages.take(later, None, parts=2)
    assert everything == later and nothing == []


def test_the_stages_after_the_opening_reach_mrr_then_go_back_by_chunks():
    names = [s.name for s in stages.history(396, THROUGH - 730 * DAY, THROUGH)]
    assert names == [
        "MRR now (the last 396 days)",
        "decline reasons of the last 7 days",
        "history of the last 486 days",
        "history of the last 576 days",
        "history of the last 666 days",
        "history of the last 756 days",
        "the whole history",
    ]
    assert [s.name for s in stages.history(0, None, THROUGH)] == ["decline reasons of the last 7 days"]


def test_coverage_claims_what_the_plan_has_committed():
    state = {n: (None, THROUGH) for n in ("payments", "ledger", "refunds", "disputes", "subscriptions")}
    pending = {
        # the newest window waiting ends 30 days back: every record after it is in
        "payments": (THROUGH - 400 * DAY, THROUGH - 30 * DAY - 1, 3),
        "ledger": (THROUGH - 400 * DAY, THROUGH - 10 * DAY - 1, 1),
        "subscriptions": (THROUGH - 400 * DAY, THROUGH, 2),
    }
    rows = {r.resource: r for r in coverage.rows(state, pending, mrr_days=5, skipped=("disputes",))}
    assert (rows["payments"].state, rows["payments"].complete_from) == ("partial", THROUGH - 30 * DAY)
    assert rows["payments"].loaded_share == 30 / 400
    assert rows["refunds"].state == "complete"  # planned, nothing waiting
    assert rows["disputes"].state == "not read"
    assert rows["subscriptions"].state == "loading" and rows["customers"].state == "loading"
    assert rows["mrr"].state == "loading"  # without every subscription, no MRR
    state["subscriptions"] = (THROUGH, THROUGH)
    del pending["subscriptions"]
    mrr = {r.resource: r for r in coverage.rows(state, pending, mrr_days=45)}["mrr"]
    # the later of payments' and ledger's starts (the ledger's), plus the longest cycle and the grace:
    # after now, so not right even now, and the pages wait
    assert (mrr.state, mrr.complete_from) == ("loading", THROUGH - 10 * DAY + 45 * DAY)
    mrr = {r.resource: r for r in coverage.rows(state, pending, mrr_days=10)}["mrr"]
    assert (mrr.state, mrr.complete_from) == ("partial", THROUGH)


def test_pages_blank_the_monthly_figures_whose_mrr_is_not_loaded():
    monthly = pd.DataFrame(
        {
            "month": [date(2025, 5, 1), date(2025, 6, 1), date(2025, 7, 1), date(2025, 10, 1)],
            "mrr_start": [1.0, 2.0, 3.0, 4.0],
            "mrr_end": [2.0, 3.0, 4.0, 5.0],
            "ltv": [9.0, 9.0, 9.0, 9.0],
        }
    )
    # MRR right from 15 June: June's start is not, its end (1 July) is; LTV needs three months more
    cov = Coverage(lists_from=datetime(2025, 1, 1, tzinfo=UTC), mrr_from=datetime(2025, 6, 15, tzinfo=UTC))
    out = cov.blank(monthly, "UTC")
    assert out["mrr_start"].isna().tolist() == [True, True, False, False]
    assert out["mrr_end"].isna().tolist() == [True, False, False, False]
    assert out["ltv"].isna().tolist() == [True, True, True, False]
    assert monthly["mrr_start"].notna().all()  # blanked on a copy: the caller's rows stay whole
    assert Coverage(mrr_ready=False).blank(monthly, "UTC")["mrr_end"].isna().all()
    assert Coverage().blank(monthly, "UTC").equals(monthly)


def test_the_line_and_the_first_whole_day_are_in_the_business_time_zone():
    cov = Coverage(
        lists_from=datetime(2026, 11, 25, 23, 30, tzinfo=UTC),
        waiting=("customers",),
        share=0.12,
        mrr_ready=False,
    )
    # 23:30 UTC is 00:30 on the 26th in Paris: the 27th is the first whole day there; in UTC the 26th
    assert cov.first_day("Europe/Paris") == date(2026, 11, 27)
    assert cov.first_day("UTC") == date(2026, 11, 26)
    assert cov.line("UTC") == (
        "The first sync is still loading the history. Payments, refunds, disputes and fees complete from "
        "2026-11-26; customers loading; history 12% loaded; MRR loading."
    )
    assert not Coverage().loading and Coverage().first_day("UTC") is None
