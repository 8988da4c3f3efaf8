import streamlit as st

from dashboard import data, figures, ui
from reports import growth
from reports.money import missing
from reports.overview import change

filters, status = ui.header("Growth & trials")
cur = filters.currency
st.caption("Whole-business numbers in the selected currency; the product filter does not apply here.")
months = ui.blank(data.query(growth.GROWTH, filters.params()), status)  # is_complete: mrr_monthly's own flag
done = months[months["is_complete"] & months["net_new_mrr"].notna()]
if done.empty:
    st.caption("No complete month in the period yet.")
else:
    last = done.iloc[-1]
    c = ui.card_columns(3)
    previous = done.iloc[-2] if len(done) > 1 else None
    ui.money_card(
        c[0],
        f"Net new MRR, {last['month']:%b %Y}",
        last["net_new_mrr"],
        cur,
        None
        if previous is None
        else change(last["net_new_mrr"], previous["net_new_mrr"], f"{previous['month']:%b %Y}"),
        help="New + expansion + reactivation − contraction − churn",
    )
    c[1].metric(
        f"MRR growth, {last['month']:%b %Y}",
        "n/a" if missing(last["growth_rate"]) else f"{last['growth_rate']:+.1%}",
    )
    c[2].metric(
        f"Quick ratio, {last['month']:%b %Y}",
        "n/a (no losses)" if missing(last["quick_ratio"]) else f"{last['quick_ratio']:.2f}",
        help="(new + expansion + reactivation) ÷ (contraction + churn): above 1, MRR grows",
    )
    st.plotly_chart(
        figures.bars(months, "month", {"net_new_mrr": "Net new MRR"}, cur, "Net new MRR by month")
    )
    st.plotly_chart(
        figures.lines(
            months, "month", {"growth_rate": "MRR growth"}, title="MRR growth by month", percent=True
        )
    )
subscribers = ui.blank(data.query(growth.SUBSCRIBERS, filters.params()), status)
if ui.loaded(subscribers, ("new", "active", "churned"), "Subscribers"):
    st.plotly_chart(
        figures.lines(
            subscribers,
            "month",
            {"new": "New", "active": "Active at the month's end", "churned": "Churned"},
            title="Subscribers",
        )
    )
st.subheader("Breakdowns")
by = st.segmented_control("By", ["plan", "interval", "country"], default="plan", key="growth_by")
by = by or "plan"
left, right = st.columns(2)
if status.coverage.mrr_ready:
    mrr_by = data.query(growth.MRR_BY, {**filters.params(), "by": by})
    left.plotly_chart(figures.bars(mrr_by, "label", {"mrr": "MRR"}, cur, f"MRR now by {by}"))
else:
    left.caption("MRR now by plan, interval and country appears once MRR is loaded.")
if not done.empty:
    moves = data.query(growth.MOVEMENTS_BY, {**filters.params(), "by": by, "month": last["month"]})
    right.plotly_chart(
        figures.bars(
            moves,
            "label",
            {"new": "New", "expansion": "Expansion", "contraction": "Contraction", "churn": "Churn"},
            cur,
            f"Movements by {by}, {last['month']:%b %Y}",
        )
    )
left, right = st.columns(2)
if status.coverage.mrr_ready:
    left.caption("Top customers by MRR now (revenue in the period beside it)")
    with left:
        ui.table(data.query(growth.TOP_CUSTOMERS, filters.params()), cur)
right.caption("Top countries by revenue in the period (where the payment's detail was read)")
with right:
    ui.table(data.query(growth.TOP_COUNTRIES, filters.params()), cur)
st.subheader("Trials")
trials = data.query(growth.TRIALS, filters.params())
if trials.empty:
    st.caption("No trial started in the period.")
else:
    c = ui.card_columns(4)
    c[0].metric("Trials started", f"{int(trials['started'].sum()):,}")
    c[1].metric("Still in trial", f"{int(trials['active'].sum()):,}")
    c[2].metric("Converted to paid", f"{int(trials['converted'].sum()):,}")
    decided = trials["converted"].sum() + trials["lost"].sum()
    c[3].metric(
        "Trial-to-paid conversion",
        "n/a" if not decided else f"{trials['converted'].sum() / decided:.1%}",
        help="Converted ÷ trials that converted or ended without a paid payment (active ones wait)",
    )
    st.plotly_chart(
        figures.lines(
            trials,
            "month",
            {"conversion_rate": "Trial-to-paid"},
            percent=True,
            title="Trial-to-paid conversion by the month the trial started",
        )
    )
    trials["conversion_rate"] = ["n/a" if missing(r) else f"{r:.1%}" for r in trials["conversion_rate"]]
    ui.table(trials, cur)
