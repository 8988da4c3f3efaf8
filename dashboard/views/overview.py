import streamlit as st

from dashboard import data, figures, ui
from reports import overview, subscriptions
from reports.filters import mark_complete
from reports.money import missing
from reports.overview import change, comparison

filters, status = ui.header("Overview")
cur = filters.currency
# Changes compare like with like: the period's complete days with as many days just before them.
versus = comparison(filters, status.today)
compared, before, what, how = versus.compared, versus.before, versus.what, versus.how
now = data.query(overview.SUMS, filters.params()).iloc[0]
now_compared, earlier = (data.query(overview.SUMS, f.params()).iloc[0] for f in (compared, before))
comparable = ui.whole(before, status)  # else the days before are still loading: no comparison
mrr_chart = subscriptions.mrr_trend(filters)
mrr = ui.blank(data.rows(mrr_chart, filters), status)
churn = ui.blank(data.query(overview.CHURN, filters.params()), status)
rate = data.query(overview.SUCCESS_RATE, filters.params()).iloc[0]["r"]
rate_now, rate_before = (
    data.query(overview.SUCCESS_RATE, f.params()).iloc[0]["r"] for f in (compared, before)
)

c = ui.card_columns(6)
for column, name, field in ((c[0], "Gross volume", "g"), (c[1], "Net volume", "n")):
    ui.money_card(
        column,
        name,
        now[field] or 0,
        cur,
        change(now_compared[field], earlier[field], what) if comparable else None,
        help=how,
    )
if not status.coverage.mrr_ready:
    why = "MRR is rebuilt from payments: it appears once every subscription and the payments it depends on are loaded."
    c[2].metric("MRR", "loading", help=why)
    c[3].metric("Paying customers", "loading", help=why)
elif not mrr.empty:
    last = mrr.iloc[-1]
    mrr_change = customers_change = None
    if len(mrr) > 1:
        previous = mrr.iloc[-2]
        month_end = f"the end of {previous['month']:%b %Y}"
        mrr_change = change(last["mrr_end"], previous["mrr_end"], month_end)
        if not missing(last["customers_end"]) and not missing(previous["customers_end"]):
            customers_change = f"{last['customers_end'] - previous['customers_end']:+,.0f} vs {month_end}"
    ui.money_card(
        c[2],
        "MRR",
        last["mrr_end"],
        cur,
        mrr_change,
        help="MRR now against MRR at the end of the month before",
    )
    paying = last["customers_end"]
    c[3].metric("Paying customers", "n/a" if missing(paying) else f"{paying:,.0f}", customers_change)
if filters.products:
    c[4].caption("Customer churn is measured over the whole business, not per product.")
elif not churn.empty:
    latest = churn.iloc[0]
    rates = churn["customer_churn_rate"]
    c[4].metric(
        f"Customer churn, {latest['month']:%b %Y}",
        "n/a (loading)" if missing(rates.iloc[0]) else f"{rates.iloc[0]:.1%}",
        None
        if len(churn) < 2 or missing(rates.iloc[0]) or missing(rates.iloc[1])
        else f"{rates.iloc[0] - rates.iloc[1]:+.1%} vs {churn.iloc[1]['month']:%b %Y}",
        delta_color="inverse",
        help="The last complete month before the period's end",
    )
c[5].metric(
    "Payment success rate",
    "n/a" if missing(rate) else f"{rate:.1%}",
    None
    if missing(rate_now) or missing(rate_before) or not comparable
    else f"{rate_now - rate_before:+.1%} vs {what}",
    help=how,
)

ui.provisional(filters)
daily = mark_complete(data.rows(overview.REVENUE, filters), "day", "day", status.today)
revenue = figures.lines(daily, "day", {"gross_volume": "Gross", "net_volume": "Net"}, cur, "Revenue by day")
ui.chart(revenue, "overview_revenue", overview.REVENUE, filters)
trend = figures.lines(mrr, "month", {"mrr_end": "MRR"}, cur, "MRR at the end of each month")
ui.chart(trend, "overview_mrr", mrr_chart, filters)
st.caption("Every record behind a number is also on the Records page, filterable.")
