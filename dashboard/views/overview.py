import streamlit as st

from dashboard import data, figures, ui
from reports import overview, subscriptions
from reports.money import missing, money
from reports.overview import change

filters, _ = ui.header("Overview")
cur = filters.currency
before = filters.previous()
now = data.query(overview.SUMS, filters.params()).iloc[0]
earlier_sums = data.query(overview.SUMS, before.params()).iloc[0]
mrr_chart = subscriptions.mrr_trend(filters)
mrr = data.rows(mrr_chart, filters)
churn = data.query(overview.CHURN, filters.params())
rate, rate_before = (data.query(overview.SUCCESS_RATE, f.params()).iloc[0]["r"] for f in (filters, before))

c = st.columns(6)
c[0].metric("Gross volume", money(now["g"] or 0, cur), change(now["g"], earlier_sums["g"]))
c[1].metric("Net volume", money(now["n"] or 0, cur), change(now["n"], earlier_sums["n"]))
if not mrr.empty:
    last, earlier = mrr.iloc[-1], (mrr.iloc[-2] if len(mrr) > 1 else None)
    c[2].metric(
        "MRR",
        money(last["mrr_end"], cur),
        None if earlier is None else change(last["mrr_end"], earlier["mrr_end"]),
    )
    c[3].metric(
        "Paying customers",
        f"{last['customers_end']:,}",
        None if earlier is None else f"{last['customers_end'] - earlier['customers_end']:+,}",
    )
if filters.products:
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
    "n/a" if missing(rate) else f"{rate:.1%}",
    None if missing(rate) or missing(rate_before) else f"{rate - rate_before:+.1%}",
)

daily = data.rows(overview.REVENUE, filters)
revenue = figures.lines(daily, "day", {"gross_volume": "Gross", "net_volume": "Net"}, cur, "Revenue by day")
ui.chart(revenue, "overview_revenue", overview.REVENUE, filters)
trend = figures.lines(mrr, "month", {"mrr_end": "MRR"}, cur, "MRR at the end of each month")
ui.chart(trend, "overview_mrr", mrr_chart, filters)
st.caption("Every record behind a number is also on the Records page, filterable.")
