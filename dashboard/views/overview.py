from datetime import timedelta

import streamlit as st

from dashboard import data, figures, ui

info = ui.header("Overview")
if info is None:
    st.stop()
cur, start, end, prods = info["currency"], info["start"] or data.EPOCH_DAY, info["end"], info["products"]
previous = (start - (end - start) - timedelta(days=1), start - timedelta(days=1))

SUMS = (
    "SELECT sum(gross_volume) g, sum(net_volume) n FROM revenue_daily_by_product WHERE currency = ? "
    "AND product_ok(product_id, ?::VARCHAR[]) AND day BETWEEN ? AND ?"
)
now = data.query(SUMS, (cur, prods, start, end)).iloc[0]
before = data.query(SUMS, (cur, prods, *previous)).iloc[0]
mrr = ui.mrr_trend(cur, prods)
churn = data.query(
    "SELECT month, customer_churn_rate FROM churn_monthly WHERE currency = ? "
    "AND month < date_trunc('month', ?::DATE) AND customer_churn_rate IS NOT NULL "
    "ORDER BY month DESC LIMIT 2",
    (cur, end),
)
outcomes = (
    "SELECT sum(succeeded) / nullif(sum(succeeded) + sum(failed), 0) r FROM payment_outcomes_daily_by_product "
    "WHERE currency = ? AND product_ok(product_id, ?::VARCHAR[]) AND day BETWEEN ? AND ?"
)
rate, rate_before = (
    data.query(outcomes, (cur, prods, a, b)).iloc[0]["r"] for a, b in ((start, end), previous)
)


def change(a, b) -> str | None:
    return (
        None if ui.missing(a) or ui.missing(b) or not b else f"{(a - b) / abs(b):+.1%} vs the period before"
    )


c = st.columns(6)
c[0].metric("Gross volume", ui.money(now["g"] or 0, cur), change(now["g"], before["g"]))
c[1].metric("Net volume", ui.money(now["n"] or 0, cur), change(now["n"], before["n"]))
if not mrr.empty:
    last, earlier = mrr.iloc[-1], (mrr.iloc[-2] if len(mrr) > 1 else None)
    c[2].metric(
        "MRR",
        ui.money(last["mrr_end"], cur),
        None if earlier is None else change(last["mrr_end"], earlier["mrr_end"]),
    )
    c[3].metric(
        "Paying customers",
        f"{last['customers_end']:,}",
        None if earlier is None else f"{last['customers_end'] - earlier['customers_end']:+,}",
    )
if prods:
    c[4].caption("Customer churn is measured over the whole business, not per product.")
elif not churn.empty:
    c[4].metric(
        f"Customer churn, {churn.iloc[0]['month']:%b %Y}",
        f"{churn.iloc[0]['customer_churn_rate']:.1%}",
        None
        if len(churn) < 2
        else f"{churn.iloc[0]['customer_churn_rate'] - churn.iloc[1]['customer_churn_rate']:+.1%}",
        delta_color="inverse",
    )
c[5].metric(
    "Payment success rate",
    "n/a" if ui.missing(rate) else f"{rate:.1%}",
    None if ui.missing(rate) or ui.missing(rate_before) else f"{rate - rate_before:+.1%}",
)

daily = data.query(
    "SELECT day, sum(gross_volume) gross_volume, sum(net_volume) net_volume FROM revenue_daily_by_product "
    "WHERE currency = ? AND product_ok(product_id, ?::VARCHAR[]) AND day BETWEEN ? AND ? "
    "GROUP BY 1 ORDER BY 1",
    (cur, prods, start, end),
)
revenue = figures.lines(daily, "day", {"gross_volume": "Gross", "net_volume": "Net"}, cur, "Revenue by day")
ui.chart(revenue, "overview_revenue", ui.PAYMENTS_IN_PERIODS, lambda days: ("day", days, cur, prods))
trend = figures.lines(mrr, "month", {"mrr_end": "MRR"}, cur, "MRR at the end of each month")
ui.chart(trend, "overview_mrr", ui.SUBSCRIPTIONS_AT_MONTH_END, lambda months: (cur, prods, months))
st.caption("Every record behind a number is also on the Records page, filterable.")
