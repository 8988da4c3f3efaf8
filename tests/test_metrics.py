"""Metric tables on the hand-built business of helpers.py (its scenario and MRR at each month boundary are
worked out there); every expected number is worked out in the comments."""

from datetime import UTC, date, datetime

import pytest

from core.errors import MetricsError, TieOutError
from etl import metrics
from etl import warehouse as wh
from helpers import NOW, add_pay, add_sub, build, ts


@pytest.fixture
def con(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    build(con)
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    yield con
    con.close()


def rows(con, sql):
    return con.execute(sql).fetchall()


def by_bucket(con, sql):
    """{(bucket as text, currency): the rest of the row} of a query whose first two columns are those."""
    return {(str(b), c): r for b, c, *r in rows(con, sql)}


def test_mrr_movements_per_month_and_currency(con):
    got = rows(
        con,
        "SELECT month, currency, mrr_start, new, reactivation, expansion, contraction, churn, mrr_end, "
        "customers_start, customers_end, churned_customers FROM mrr_monthly ORDER BY currency, month",
    )
    assert got == [
        # EUR: E new in January, churned in February (the renewal never recovered); March is a zero month
        (date(2026, 1, 1), "EUR", 0, 900, 0, 0, 0, 0, 900, 0, 1, 0),
        (date(2026, 2, 1), "EUR", 900, 0, 0, 0, 0, 900, 0, 1, 0, 1),
        (date(2026, 3, 1), "EUR", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        # data_through is April 1 00:00, so April is the current month: it starts and ends at now
        (date(2026, 4, 1), "EUR", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        # JPY starts in March (zero-decimal: 3000 yen stays 3000)
        (date(2026, 3, 1), "JPY", 0, 3000, 0, 0, 0, 0, 3000, 0, 1, 0),
        (date(2026, 4, 1), "JPY", 3000, 0, 0, 0, 0, 0, 3000, 1, 1, 0),
        # KWD (three decimals, in fils): K downgrades in February; its Mar 25 renewal is late but inside
        # the 30 grace days of an active subscription, so March and April keep 1500
        (date(2026, 1, 1), "KWD", 0, 2763, 0, 0, 0, 0, 2763, 0, 1, 0),
        (date(2026, 2, 1), "KWD", 2763, 0, 0, 0, 1263, 0, 1500, 1, 1, 0),
        (date(2026, 3, 1), "KWD", 1500, 0, 0, 0, 0, 0, 1500, 1, 1, 0),
        (date(2026, 4, 1), "KWD", 1500, 0, 0, 0, 0, 0, 1500, 1, 1, 0),
        # USD January: A 1000 + C 800 + D 2000 (upgraded before Feb 1) + H 1000, all new
        (date(2026, 1, 1), "USD", 0, 4800, 0, 0, 0, 0, 4800, 0, 4, 0),
        # February: B new 1000 (annual 12000 pre-tax / 12), H churns 1000
        (date(2026, 2, 1), "USD", 4800, 1000, 0, 0, 0, 1000, 4800, 4, 4, 1),
        # March: C loses C2 (contraction 300, not churn), H comes back (reactivation), G moves nothing
        (date(2026, 3, 1), "USD", 4800, 0, 1000, 0, 300, 0, 5500, 4, 5, 0),
        (date(2026, 4, 1), "USD", 5500, 0, 0, 0, 0, 0, 5500, 5, 5, 0),
    ]
    metrics.tie_out(con)


def test_segments_trace_every_subscription(con):
    segments = dict(
        (r[0], r[1:])
        for r in rows(
            con,
            "SELECT subscription_id, segment_start, segment_end, latest_monthly_value "
            "FROM subscription_mrr_segments",
        )
    )
    assert segments["sA"] == (ts("2026-01-15"), None, 1000)  # active and paid up: open
    assert segments["sC2"] == (
        ts("2026-01-03"),
        ts("2026-03-03"),
        300,
    )  # cancelled: ends with its last period
    assert segments["sD"][2] == 2000 and segments["sB"][2] == 1000
    assert segments["sG"] == (ts("2026-03-05"), ts("2026-03-12"), pytest.approx(520 / (12 / 52)))
    assert "sE" in segments and segments["sE"][1] == ts("2026-02-10")
    sources = dict(rows(con, "SELECT payment_id, amount_source FROM paid_periods"))
    assert sources["pD2"] == "recurring_pre_tax_amount" and sources["pB1"] == "total_minus_tax"
    assert "pU" not in sources and "pA0" not in sources  # card updates and failures pay for nothing
    assert "sT" not in segments and "pT0" not in sources  # a trial is worth 0 until its first charge


def test_revenue_daily(con):
    total = rows(
        con,
        "SELECT sum(gross_volume), sum(refunds), sum(disputes_lost), sum(net_volume), "
        "sum(succeeded_payments) FROM revenue_daily WHERE currency = 'USD'",
    )[0]
    # A 3000 + B 14000 + C 2100 + D 5500 + G 520 + H 2000 = 27120; 16 succeeded USD payments
    assert total == (27120, 200, 2000, 27120 - 200 - 2000, 16)
    assert rows(
        con, "SELECT gross_volume, refunds, net_volume FROM revenue_daily WHERE day = '2026-02-20'"
    ) == [(0, 200, -200)]
    assert rows(con, "SELECT gross_volume FROM revenue_daily WHERE currency = 'JPY'") == [(3000,)]
    assert rows(
        con, "SELECT tax, tax_known_payments FROM revenue_daily WHERE day = '2026-02-10' AND currency = 'USD'"
    ) == [(2000, 1)]


def test_payment_outcomes_and_failures(con):
    outcomes = by_bucket(
        con,
        "SELECT day, currency, succeeded, failed, other, success_rate, renewal_failed, renewal_failure_rate "
        "FROM payment_outcomes_daily",
    )
    assert outcomes[("2026-02-10", "EUR")] == [0, 1, 0, 0.0, 1, 1.0]  # E's renewal failed
    assert outcomes[("2026-02-10", "USD")] == [1, 0, 0, 1.0, 0, 0.0]  # B's first payment (a subscription's)
    # only a processing one-time payment: no rate, not 0
    assert outcomes[("2026-03-20", "USD")] == [0, 0, 1, None, 0, None]
    assert ("2026-03-21", "USD") not in outcomes  # the card update counts nowhere
    reasons = rows(
        con,
        "SELECT month, error_code, decline_type, failed, amount, currency FROM failures_by_reason "
        "ORDER BY currency",
    )
    assert reasons == [
        (date(2026, 2, 1), "INSUFFICIENT_FUNDS", "soft", 1, 900, "EUR"),
        (date(2026, 3, 1), "unknown", "unknown", 1, 1000, "USD"),  # no detail fetched yet
    ]


def test_renewal_failure_rate_and_failures_without_a_reason(con):
    add_pay(con, "pN", "2026-03-16", 700, "USD", "A", "sA", status="failed", error=None)  # detail: no code
    add_pay(con, "pO", "2026-03-16", 300, "USD", "A", status="failed", detail=False)  # one-time, unread
    add_pay(con, "pQ", "2026-03-16", 800, "USD", "A")  # one-time, succeeded
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    day = "SELECT failure_rate, renewal_failure_rate FROM payment_outcomes_daily WHERE day = '2026-03-16'"
    assert rows(con, day) == [(pytest.approx(2 / 3), 1.0)]  # all: 2 of 3 failed; renewals: 1 of 1
    assert rows(
        con,
        "SELECT error_code, decline_type, failed, amount FROM failures_by_reason "
        "WHERE month = '2026-03-01' AND currency = 'USD' ORDER BY 1",
    ) == [("no reason given", "no reason given", 1, 700), ("unknown", "unknown", 2, 1300)]


def test_business_time_zone_buckets_days_and_months(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    build(con)
    # Berlin moves to summer time at 01:00 UTC on 2026-03-29; 22:30 UTC on Mar 31 is already Apr 1 there.
    add_pay(con, "pZ1", "2026-03-29T00:30:00", 100, "USD", "Z")
    add_pay(con, "pZ2", "2026-03-31T22:30:00", 100, "USD", "Z")
    metrics.rebuild(con, "Europe/Berlin", 30, 30, datetime(2026, 4, 1, 12, tzinfo=UTC))
    days = dict(
        rows(
            con, "SELECT day, gross_volume FROM revenue_daily WHERE currency = 'USD' AND day >= '2026-03-29'"
        )
    )
    assert days[date(2026, 3, 29)] == 100 and days[date(2026, 4, 1)] == 100 and date(2026, 3, 31) not in days
    months = [m for (m,) in rows(con, "SELECT month FROM mrr_monthly WHERE currency = 'USD' ORDER BY month")]
    assert months[-1] == date(2026, 4, 1)  # data_through is in April in Berlin
    assert rows(con, "SELECT timezone FROM metric_settings") == [("Europe/Berlin",)]
    metrics.tie_out(con)
    con.close()


def test_a_broken_identity_fails_with_month_and_currency(con):
    con.execute("UPDATE mrr_monthly SET churn = churn + 5 WHERE month = '2026-02-01' AND currency = 'USD'")
    with pytest.raises(TieOutError, match="USD 2026-02"):
        metrics.tie_out(con)


def test_a_gap_between_months_fails(con):
    con.execute(
        "UPDATE mrr_monthly SET mrr_start = mrr_start + 1, mrr_end = mrr_end + 1 "
        "WHERE month = '2026-03-01' AND currency = 'USD'"
    )
    with pytest.raises(TieOutError, match="USD 2026-03 starts at"):
        metrics.tie_out(con)


def test_the_mrr_identity_holds_on_random_simulated_businesses(tmp_path_factory):
    """Property: whatever the seed, a synced business publishes (the sync runs the tie-out) and ties out."""
    import duckdb
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from harness import Harness
    from helpers import make_api

    @settings(max_examples=4, deadline=None, derandomize=True)
    @given(seed=st.integers(0, 10**6), size=st.sampled_from([300, 900]))
    def check(seed, size):
        h = Harness(make_api(size, seed=seed), tmp_path_factory.mktemp("prop"))
        assert h.sync() == 0, h.stderr.getvalue()
        with duckdb.connect(str(h.path)) as con:
            metrics.tie_out(con)
            assert rows(con, "SELECT count(*) FROM mrr_monthly WHERE mrr_end > 0")[0][0] > 0

    check()


def test_churn_retention_arpa_and_ltv(con):
    got = by_bucket(
        con,
        "SELECT month, currency, customer_churn_rate, gross_mrr_churn_rate, "
        "net_mrr_churn_rate, nrr, grr, arpa, ltv, ltv_months, is_complete FROM churn_monthly",
    )
    # February USD: 1 of 4 customers churned (H, 1000 of 4800)
    assert got[("2026-02-01", "USD")] == pytest.approx(
        [0.25, 1000 / 4800, 1000 / 4800, 1 - 1000 / 4800, 1 - 1000 / 4800, 4800 / 4, None, 0, True],
        nan_ok=True,
    )
    # March USD: contraction 300 (C2), reactivation 1000 (H): net churn is negative, but NRR is of the
    # customers paying at t0 only, so H's return is not retention: (4800 - 300) / 4800
    cust, gross, net, nrr, grr, arpa, *_ = got[("2026-03-01", "USD")]
    assert (cust, gross, net, nrr, grr, arpa) == pytest.approx(
        (0, 300 / 4800, -700 / 4800, 4500 / 4800, 4500 / 4800, 5500 / 5)
    )
    # April (partial): ARPA 1100 / mean churn of the months with paying customers at t0 before it:
    # Feb 0.25 and Mar 0 (January had none) = 0.125 -> 8800, from 2 months
    assert got[("2026-04-01", "USD")][-3:] == [pytest.approx(8800), 2, False]
    assert got[("2026-01-01", "USD")][-3:-1] == [None, 0]  # no month before: n/a


def test_twelve_month_nrr_follows_the_customers_paying_a_year_before(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    for sub, customer, rpta, status in [
        ("sP", "P", 12000, "active"),
        ("sQ", "Q", 6000, "cancelled"),
        ("sR", "R", 36000, "active"),
        ("sS", "S", 12000, "active"),
    ]:
        add_sub(con, sub, customer, "USD", rpta, "Year", status=status)
    add_pay(con, "pP1", "2025-03-10", 12000, "USD", "P", "sP", charge="new")
    add_pay(con, "pP2", "2026-03-10", 12000, "USD", "P", "sP")
    add_pay(con, "pQ1", "2025-03-15", 6000, "USD", "Q", "sQ", charge="new")  # not renewed: ends 2026-03-15
    add_pay(con, "pR1", "2025-03-20", 24000, "USD", "R", "sR", charge="new")
    add_pay(con, "pR2", "2026-03-20", 36000, "USD", "R", "sR")  # renewed on a bigger plan
    add_pay(con, "pS1", "2026-03-05", 12000, "USD", "S", "sS", charge="new")  # new this year: not counted
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    nrr = dict(rows(con, "SELECT month, nrr_12m FROM churn_monthly WHERE currency = 'USD'"))
    # a year before 2026-04-01: P 1000 + Q 500 + R 2000 = 3500; now P 1000 + Q 0 + R 3000 = 4000
    assert nrr[date(2026, 3, 1)] == pytest.approx(4000 / 3500)
    assert nrr[date(2025, 3, 1)] is None  # no history a year before
    con.close()


def test_cohorts(con):
    usd_jan = rows(
        con,
        "SELECT months_since, customers, cohort_size, logo_retention, mrr, revenue_retention "
        "FROM cohort_retention WHERE currency = 'USD' AND cohort = '2026-01-01' ORDER BY 1",
    )
    # A, C, D, H first paid in January; their MRR when each first paid: A 1000, C 800 (both plans on
    # Jan 3), D 1000 (before the upgrade), H 1000 = 3800
    assert usd_jan == [
        (0, 4, 4, 1.0, 4800, pytest.approx(4800 / 3800)),  # D upgraded within January
        (1, 3, 4, 0.75, 3800, 1.0),  # H gone at the end of February
        (2, 4, 4, 1.0, 4500, pytest.approx(4500 / 3800)),  # H back, C down to 500
        (3, 4, 4, 1.0, 4500, pytest.approx(4500 / 3800)),
    ]
    assert rows(
        con,
        "SELECT cohort_size FROM cohort_retention WHERE currency = 'USD' AND cohort = '2026-02-01' "
        "AND months_since = 0",
    ) == [(1,)]
    # April is the month of now (Apr 1 00:00): its cells are partial; March ended exactly at now
    assert rows(
        con,
        "SELECT month, is_complete FROM cohort_retention WHERE currency = 'USD' AND cohort = '2026-01-01' "
        "ORDER BY 1",
    ) == [(date(2026, m, 1), m < 4) for m in (1, 2, 3, 4)]
    # G paid on Mar 5 for a week and left within March: March's cohort, retained by no one at month 0
    assert rows(
        con,
        "SELECT months_since, customers, cohort_size, logo_retention, revenue_retention FROM cohort_retention "
        "WHERE currency = 'USD' AND cohort = '2026-03-01' ORDER BY 1",
    ) == [(0, 0, 1, 0.0, 0.0), (1, 0, 1, 0.0, 0.0)]


def dunning(con) -> None:
    """Added to the hand-built business (USD, monthly):
    V  two plans paid Jan 6: sV1 1000 cancelled; sV2 500 failed Feb 6 and its retry Feb 9, then lapsed
    W  sW 700 paid Jan 7, failed Feb 7, lapsed; reactivated by a payment on Mar 20 (41 days later)
    X  sX 400 paid Jan 8, failed Feb 8, retry failed Feb 11, paid Feb 14 (recovered in 6 days)"""
    for sub, customer, rpta, status in [
        ("sV1", "V", 1000, "cancelled"),
        ("sV2", "V", 500, "on_hold"),
        ("sW", "W", 700, "active"),
        ("sX", "X", 400, "active"),
    ]:
        add_sub(con, sub, customer, "USD", rpta, status=status)
    failed = {"status": "failed", "error": "INSUFFICIENT_FUNDS", "tax": None}
    for pid, when, total, customer, sub, extra in [
        ("pV1", "2026-01-06", 1000, "V", "sV1", {"charge": "new"}),
        ("pV2", "2026-01-06", 500, "V", "sV2", {"charge": "new"}),
        ("pV2f", "2026-02-06", 500, "V", "sV2", failed),
        ("pV2r", "2026-02-09", 500, "V", "sV2", failed),
        ("pW1", "2026-01-07", 700, "W", "sW", {"charge": "new"}),
        ("pW1f", "2026-02-07", 700, "W", "sW", failed),
        ("pW2", "2026-03-20", 700, "W", "sW", {}),
        ("pX1", "2026-01-08", 400, "X", "sX", {"charge": "new"}),
        ("pX1f", "2026-02-08", 400, "X", "sX", failed),
        ("pX1r", "2026-02-11", 400, "X", "sX", failed),
        ("pX2", "2026-02-14", 400, "X", "sX", {}),
    ]:
        add_pay(con, pid, when, total, "USD", customer, sub, **extra)


def test_churn_types_are_decided_per_subscription_against_the_success_before_the_churn(con):
    assert rows(
        con, "SELECT month, currency, voluntary_churn, involuntary_churn FROM churn_by_type ORDER BY 2"
    ) == [
        (date(2026, 2, 1), "EUR", 0, 900),  # E's renewal failed after its last success
        (date(2026, 2, 1), "USD", 1000, 0),  # H cancelled
    ]
    dunning(con)
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    # February USD: H 1000 and V's cancelled plan 1000 are voluntary; V's lapsed plan 500 and W's 700
    # involuntary (W's reactivation in March comes after the churn); V is counted on both sides
    assert rows(
        con,
        "SELECT voluntary_churn, involuntary_churn, voluntary_customers, involuntary_customers "
        "FROM churn_by_type WHERE month = '2026-02-01' AND currency = 'USD'",
    ) == [(2000, 1200, 2, 2)]
    assert rows(
        con,
        "SELECT subscription_id, churn_type FROM churned_subscriptions WHERE customer_id IN ('V', 'W') ORDER BY 1",
    ) == [("sV1", "voluntary"), ("sV2", "involuntary"), ("sW", "involuntary")]


def test_recovery_counts_failed_renewals_not_retries(con):
    dunning(con)
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    got = rows(
        con,
        "SELECT month, currency, failed_renewals, failed_payments, matured, recovered, recovery_rate, "
        "recovered_amount, median_days_to_recover, is_complete FROM recovery_monthly ORDER BY currency, month",
    )
    assert got == [
        (date(2026, 2, 1), "EUR", 1, 1, 1, 0, 0.0, 0, None, True),  # E never paid again
        # V's plan (2 failures), W (recovered after 41 days: too late), X (2 failures, paid 6 days on);
        # February's window ended Mar 31 (30 days after its last day), before Apr 1: complete
        (date(2026, 2, 1), "USD", 3, 5, 3, 1, pytest.approx(1 / 3), 400, 6.0, True),
        # A's Mar 14 failure was recovered the next day, but March's window is still open
        (date(2026, 3, 1), "USD", 1, 1, 0, 0, None, 0, None, False),
    ]


def test_revenue_months_and_disputes(con):
    feb = rows(
        con,
        "SELECT gross_volume, refunds, refund_rate FROM revenue_monthly "
        "WHERE month = '2026-02-01' AND currency = 'USD'",
    )[0]
    assert feb == (17800, 200, pytest.approx(200 / 17800))  # A 1000 + B 14000 + C 800 + D 2000
    assert rows(
        con,
        "SELECT disputes_opened, disputes_lost_count, disputed_amount, succeeded_payments, dispute_rate "
        "FROM dispute_activity_monthly WHERE month = '2026-03-01' AND currency = 'USD'",
    ) == [(1, 1, 2000, 5, 0.2)]


def test_at_risk_and_scheduled_churn(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    build(con)
    con.execute("UPDATE subscriptions SET status = 'on_hold' WHERE subscription_id = 'sD'")
    con.execute("UPDATE subscriptions SET cancel_at_next_billing_date = true WHERE subscription_id = 'sA'")
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    assert rows(
        con, "SELECT mrr, at_risk_mrr, scheduled_churn_mrr FROM mrr_at_risk WHERE currency = 'USD'"
    ) == [(5500, 2000, 1000)]
    con.close()


def test_a_tax_known_only_from_the_ledger_counts(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    build(con)
    add_sub(con, "sL", "L", "USD", 900)
    add_pay(con, "pL", "2026-03-20", 1200, "USD", "L", "sL", charge="new", detail=False)
    con.execute(
        "INSERT INTO ledger_entries (id, created_at, amount, currency, event_type, is_credit, "
        "reference_object_id) VALUES ('led_t', ?, 200, 'USD', 'tax', false, 'pL')",
        [ts("2026-03-20")],
    )
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    # without the ledger the value would fall back to the plan's 900; with it, 1200 - 200 tax = 1000
    assert rows(con, "SELECT pre_tax, amount_source FROM paid_periods WHERE payment_id = 'pL'") == [
        (1000, "total_minus_tax")
    ]
    assert rows(con, "SELECT tax FROM revenue_daily WHERE day = '2026-03-20' AND currency = 'USD'") == [
        (200,)
    ]
    metrics.tie_out(con)
    con.close()


def test_odd_records_are_placed_by_the_contract_or_listed_and_the_rest_ties_out(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    build(con)
    # a refund and a dispute without a currency take their payment's (A's Feb 15 payment, USD)
    con.execute(
        "INSERT INTO refunds (refund_id, payment_id, created_at, status, amount, currency) "
        "VALUES ('r2', 'pA2', ?, 'succeeded', 50, NULL), ('r3', 'p_gone', ?, 'succeeded', 70, NULL)",
        [ts("2026-02-21"), ts("2026-02-21")],
    )
    con.execute(
        "INSERT INTO disputes (dispute_id, payment_id, created_at, amount, currency, dispute_status) "
        "VALUES ('d2', 'pA3', ?, 1000, NULL, 'dispute_lost')",
        [ts("2026-03-26")],
    )
    # a cycle of zero months has no monthly value: revenue yes, MRR no
    add_sub(con, "sZ", "Z", "USD", 700, n=0)
    add_pay(con, "pZ", "2026-03-22", 700, "USD", "Z", "sZ", charge="new")
    # two valid int64 payments on one day overflow a BIGINT sum
    add_pay(con, "pBig1", "2026-03-23", 5 * 10**18, "USD", "Y")
    add_pay(con, "pBig2", "2026-03-23", 5 * 10**18, "USD", "Y")
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    metrics.tie_out(con)
    assert rows(con, "SELECT resource, record_id FROM unplaced_records ORDER BY 1") == [
        ("refunds", "r3"),  # its payment is unknown too
        ("subscriptions", "sZ"),
    ]
    reasons = dict(rows(con, "SELECT record_id, reason FROM unplaced_records"))
    assert "p_gone" in reasons["r3"] and "every 0 Month" in reasons["sZ"]
    refunds = "SELECT refunds FROM revenue_monthly WHERE month = '2026-02-01' AND currency = 'USD'"
    assert rows(con, refunds) == [(250,)]  # r1 200 + r2 50 (r3 left out)
    lost = "SELECT disputes_lost FROM revenue_monthly WHERE month = '2026-03-01' AND currency = 'USD'"
    assert rows(con, lost) == [(3000,)]  # d1 2000 + d2 1000
    big = "SELECT gross_volume FROM revenue_daily WHERE day = '2026-03-23' AND currency = 'USD'"
    assert rows(con, big) == [(10**19,)]
    assert rows(con, "SELECT count(*) FROM paid_periods WHERE subscription_id = 'sZ'") == [(0,)]
    assert rows(con, "SELECT gross_volume FROM revenue_daily WHERE day = '2026-03-22'") == [(700,)]
    con.close()


def test_a_metric_table_that_cannot_be_built_is_named_not_blamed_on_the_disk(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    build(con)
    con.execute("ALTER TABLE payments ALTER subscription_ids TYPE VARCHAR")  # a shape no statement expects
    with pytest.raises(MetricsError, match="building the metric table paid_periods failed") as caught:
        metrics.rebuild(con, "UTC", 30, 30, NOW)
    assert "disk" not in str(caught.value)
    con.close()


def test_buckets_still_running_at_now_are_partial(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    build(con)
    metrics.rebuild(con, "Asia/Tokyo", 30, 30, ts("2026-03-25T01:00:00"))  # 10:00 on Mar 25 in Tokyo
    partial = "SELECT {0}, is_complete FROM {1} WHERE currency = 'USD' AND {0} IN ({2}) ORDER BY 1"
    days = "'2026-03-15', '2026-03-25'"  # A's renewal; the dispute's (local) day, 09:00 to now
    assert rows(con, partial.format("day", "revenue_daily", days)) == [
        (date(2026, 3, 15), True),
        (date(2026, 3, 25), False),
    ]
    months = "'2026-02-01', '2026-03-01'"
    for table in ("revenue_monthly", "mrr_monthly", "churn_monthly", "dispute_activity_monthly"):
        assert rows(con, partial.format("month", table, months)) == [
            (date(2026, 2, 1), True),
            (date(2026, 3, 1), False),
        ], table
    con.close()


def test_a_payment_that_may_only_update_a_card_is_provisional_and_its_detail_comes_first(tmp_path):
    from etl.payment_details import stale

    con = wh.open_work(tmp_path / "w.duckdb")
    build(con)
    # 100 on A's subscription with no charge type: it charges no period, so it may only update a card
    add_pay(con, "pMaybe", "2026-03-22", 100, "USD", "A", "sA", charge=None, detail=False)
    add_pay(con, "pNew", "2026-03-30", 700, "USD", "Y", detail=False)  # a newer one-time payment
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    assert rows(con, "SELECT payment_id FROM counted_payments WHERE provisional") == [("pMaybe",)]
    # its detail comes first, before failed payments' decline codes and within a budget of 0
    assert stale(con, 0) == ["pMaybe", "pA0"]
    assert stale(con, 1)[:3] == ["pMaybe", "pA0", "pNew"]
    # the detail says it only updated a card: it counts nowhere, and nothing is provisional any more
    con.execute(
        "INSERT INTO payment_details (payment_id, detail_status, is_update_payment_method, raw) "
        "VALUES ('pMaybe', 'succeeded', true, '{}')"
    )
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    assert rows(con, "SELECT count(*) FROM counted_payments WHERE payment_id = 'pMaybe' OR provisional") == [
        (0,)
    ]
    con.close()
