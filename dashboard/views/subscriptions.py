import streamlit as st

from dashboard import data, figures, ui

info = ui.header("Subscriptions & churn")
if info is None:
    st.stop()
cur, prods = info["currency"], info["products"]
st.caption(
    f"MRR is rebuilt from succeeded payments. A subscription stays in MRR for {info['grace_days']} days "
    f"past its paid period (grace); months are in {info['timezone']}."
)
monthly = data.query(
    "SELECT m.*, c.customer_churn_rate, c.gross_mrr_churn_rate, c.net_mrr_churn_rate, c.nrr, c.grr, "
    "c.arpa, c.ltv, c.arr FROM mrr_monthly m JOIN churn_monthly c USING (month, currency) "
    "WHERE currency = ? ORDER BY month",
    (cur,),
)
if monthly.empty:
    st.info(f"No recurring revenue in {cur}.")
    st.stop()
last = monthly.iloc[-1]
trend_rows = monthly
if prods:  # MRR of the selected products' subscriptions; the rest stays whole-business
    trend_rows = ui.mrr_trend(cur, prods)
    trend_rows["arr"] = 12 * trend_rows["mrr_end"]
    st.caption(
        "With a product filter, MRR and ARR are those products' subscriptions; ARPA, LTV, movements, "
        "churn and cohorts below are for the whole business."
    )
c = st.columns(5)
c[0].metric("MRR", ui.money(trend_rows.iloc[-1]["mrr_end"], cur))
c[1].metric("ARR", ui.money(trend_rows.iloc[-1]["arr"], cur))
c[2].metric("ARPA", ui.money(last["arpa"], cur))
c[3].metric(
    "LTV",
    "n/a" if ui.missing(last["ltv"]) else ui.money(last["ltv"], cur),
    help="ARPA / mean customer churn rate of the last 3 complete months",
)
risk = data.query("SELECT * FROM mrr_at_risk WHERE currency = ?", (cur,))
if not risk.empty:
    c[4].metric(
        "At risk (on hold)",
        ui.money(risk.iloc[0]["at_risk_mrr"], cur),
        f"scheduled churn {ui.money(risk.iloc[0]['scheduled_churn_mrr'], cur)}",
        delta_color="off",
    )

trend = figures.lines(trend_rows, "month", {"mrr_end": "MRR", "arr": "ARR"}, cur, "MRR and ARR")
ui.chart(trend, "subscriptions_mrr", ui.SUBSCRIPTIONS_AT_MONTH_END, lambda months: (cur, prods, months))
month = st.selectbox("Movements of", list(monthly["month"])[::-1], format_func=lambda m: f"{m:%B %Y}")
st.plotly_chart(figures.waterfall(monthly[monthly["month"] == month].iloc[0], cur))
movers = data.query(
    "SELECT customer_id, movement, a AS mrr_at_start, b AS mrr_at_end FROM mrr_movements "
    "WHERE currency = ? AND month = ? AND movement <> 'unchanged' ORDER BY movement, customer_id",
    (cur, month),
)
with st.expander(f"The {len(movers):,} customers behind these movements"):
    st.dataframe(movers, hide_index=True)
rates = monthly.rename(
    columns={
        "customer_churn_rate": "Customer churn",
        "gross_mrr_churn_rate": "Gross MRR churn",
        "net_mrr_churn_rate": "Net MRR churn",
        "nrr": "NRR",
        "grr": "GRR",
    }
)
churn_rates = figures.lines(
    rates,
    "month",
    {k: k for k in ("Customer churn", "Gross MRR churn", "Net MRR churn")},
    title="Churn rates",
)
ui.chart(churn_rates, "churn_rates", ui.CUSTOMERS_MOVING_IN_MONTHS, lambda months: (cur, months))
retention = figures.lines(
    rates, "month", {"NRR": "NRR", "GRR": "GRR"}, title="Net and gross revenue retention"
)
ui.chart(retention, "retention", ui.CUSTOMERS_MOVING_IN_MONTHS, lambda months: (cur, months))
types = data.query("SELECT * FROM churn_by_type WHERE currency = ? ORDER BY month", (cur,))
churn_types = figures.bars(
    types,
    "month",
    {"voluntary_churn": "Voluntary", "involuntary_churn": "Involuntary"},
    cur,
    "Churned MRR: voluntary vs involuntary (a failed payment after the last success)",
    stacked=True,
)
ui.chart(churn_types, "churn_types", ui.CHURNED_IN_MONTHS, lambda months: (cur, months))
cohorts = data.query(
    "SELECT * FROM cohort_retention WHERE currency = ? ORDER BY cohort, months_since", (cur,)
)
left, right = st.columns(2)
ui.cohort_chart(
    figures.heatmap(cohorts, "logo_retention", "Logo retention by cohort"), "cohorts_logo", cur, left
)
ui.cohort_chart(
    figures.heatmap(cohorts, "revenue_retention", "Revenue retention by cohort"),
    "cohorts_revenue",
    cur,
    right,
)
