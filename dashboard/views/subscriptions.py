import streamlit as st

from dashboard import data, figures, ui
from reports import subscriptions
from reports.money import compact
from reports.overview import change

filters, status = ui.header("Subscriptions & churn")
cur = filters.currency
st.caption(
    f"MRR is rebuilt from succeeded payments. A subscription stays in MRR for {status.grace_days} days "
    f"past its paid period (grace); months are in {filters.timezone}."
)
coverage = status.coverage
if not coverage.mrr_ready:
    st.info(
        "MRR, churn and cohorts appear once every subscription, and the payments MRR now depends on, "
        "are loaded: the first sync is loading them."
    )
    st.stop()
monthly = ui.blank(data.query(subscriptions.MONTHLY, filters.params()), status)
if coverage.mrr_from is not None:
    st.caption(
        f"MRR is right from {coverage.mrr_day(filters.timezone)}: the figures "
        "of earlier months are blank until their payments are loaded, and until the whole history is, a "
        "customer counted as new may be one returning."
    )
if monthly.empty:
    st.info(f"No recurring revenue in {cur}.")
    st.stop()
last = monthly.iloc[-1]
trend_rows = monthly
if filters.products:  # MRR of the selected products' subscriptions; the rest stays whole-business
    trend_rows = ui.blank(data.rows(subscriptions.MRR_TREND_OF_PRODUCTS, filters), status)
    trend_rows["arr"] = 12 * trend_rows["mrr_end"]
    st.caption(
        "With a product filter, MRR and ARR are those products' subscriptions; ARPA, LTV, movements, "
        "churn and cohorts below are for the whole business."
    )
c = ui.card_columns(5)
# MRR now against the end of the month before, ARPA against the month before
ends = trend_rows.iloc[-1], trend_rows.iloc[-2] if len(trend_rows) > 1 else None
month_end = None if ends[1] is None else f"the end of {ends[1]['month']:%b %Y}"
for place, name, key, help_ in ((c[0], "MRR", "mrr_end", None), (c[1], "ARR", "arr", "12 × MRR")):
    versus = None if ends[1] is None else change(ends[0][key], ends[1][key], str(month_end))
    ui.money_card(place, name, ends[0][key], cur, versus, help=help_)
before = monthly.iloc[-2] if len(monthly) > 1 else None
ui.money_card(
    c[2],
    "ARPA",
    last["arpa"],
    cur,
    None if before is None else change(last["arpa"], before["arpa"], f"{before['month']:%b %Y}"),
    help="MRR ÷ paying customers",
)
ui.money_card(
    c[3],
    "LTV",
    last["ltv"],
    cur,
    help=f"ARPA ÷ the mean customer churn rate of the last {int(last['ltv_months'])} complete months with "
    "paying customers (3 when there are that many)",
)
risk = data.query(subscriptions.AT_RISK, filters.params())
if not risk.empty:
    ui.money_card(
        c[4],
        "At risk (on hold)",
        risk.iloc[0]["at_risk_mrr"],
        cur,
        f"scheduled churn {compact(risk.iloc[0]['scheduled_churn_mrr'], cur)}",
        delta_color="off",
    )

trend = figures.lines(trend_rows, "month", {"mrr_end": "MRR"}, cur, "MRR and ARR", right={"arr": "ARR"})
ui.chart(trend, "subscriptions_mrr", subscriptions.MRR_AND_ARR, filters)
# newest first, the month still running marked; the default is the last complete month
months = list(monthly.loc[monthly["mrr_start"].notna(), "month"])[::-1]  # movements need MRR at t0
running = set(monthly.loc[~monthly["is_complete"], "month"])
complete = [m for m in months if m not in running]
month = None
if months:
    month = st.selectbox(
        "Movements of",
        months,
        index=months.index(complete[0]) if complete else 0,
        format_func=lambda m: f"{m:%B %Y}" + (" (so far)" if m in running else ""),
    )
else:
    st.caption("Movements: no month of the period starts where MRR is loaded yet.")
if month is not None:
    st.plotly_chart(figures.waterfall(monthly[monthly["month"] == month].iloc[0], cur))
    movers = data.query(subscriptions.MOVERS, {**filters.params(), "month": month})
    with st.expander(f"The {len(movers):,} customers behind these movements"):
        ui.table(movers, cur)
rates = monthly.rename(
    columns={
        "customer_churn_rate": "Customer churn",
        "gross_mrr_churn_rate": "Gross MRR churn",
        "net_mrr_churn_rate": "Net MRR churn",
        "nrr": "NRR",
        "grr": "GRR",
        "nrr_12m": "NRR (12 months)",
    }
)
for key, source, columns, title in (
    (
        "churn_rates",
        subscriptions.CHURN_RATES,
        ("Customer churn", "Gross MRR churn", "Net MRR churn"),
        "Churn rates",
    ),
    (
        "retention",
        subscriptions.RETENTION,
        ("NRR", "GRR", "NRR (12 months)"),
        "Revenue retention of the customers paying at the start (new and returning customers excluded)",
    ),
):
    if ui.loaded(rates, columns, title):
        chart = figures.lines(rates, "month", {k: k for k in columns}, title=title, percent=True)
        ui.chart(chart, key, source, filters)
types = ui.blank(data.rows(subscriptions.CHURN_TYPES, filters), status)
churn_types = ui.loaded(types, ("voluntary_churn", "involuntary_churn"), "Churned MRR") and figures.bars(
    types,
    "month",
    {"voluntary_churn": "Voluntary", "involuntary_churn": "Involuntary"},
    cur,
    "Churned MRR: voluntary vs involuntary (per subscription: a payment failed after its last success)",
    stacked=True,
)
if churn_types:
    ui.chart(churn_types, "churn_types", subscriptions.CHURN_TYPES, filters)
if coverage.lists_from is not None:  # a cohort is the month MRR first began: the whole history says
    st.info(f"Cohorts appear once the whole history is loaded ({coverage.share:.0%} of it is now).")
    st.stop()
cohorts = data.rows(subscriptions.COHORTS, filters)
st.caption(
    "Cohorts: every cohort since the first payment, whatever the period (a customer's cohort is the month "
    "their MRR first became positive). The last column of each row is the month still running."
)
left, right = st.columns(2)
ui.cohort_chart(
    figures.cohort_grid(cohorts, "logo_retention", "Logo retention by cohort"),
    "cohorts_logo",
    subscriptions.COHORTS,
    filters,
    left,
)
ui.cohort_chart(
    figures.cohort_grid(cohorts, "revenue_retention", "Revenue retention by cohort"),
    "cohorts_revenue",
    subscriptions.COHORTS,
    filters,
    right,
)
