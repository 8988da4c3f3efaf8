import streamlit as st

from dashboard import data, figures, ui

info = ui.header("Revenue")
if info is None:
    st.stop()
cur, start, end, prods = info["currency"], info["start"] or data.EPOCH_DAY, info["end"], info["products"]
grain = st.radio("By", ["day", "week", "month"], horizontal=True, key="revenue_grain")

by = data.query(
    "SELECT date_trunc(?, day)::DATE AS period, "
    "sum(gross_volume) gross, sum(refunds) refunds, sum(disputes_lost) disputes_lost, sum(net_volume) net "
    "FROM revenue_daily_by_product WHERE currency = ? AND product_ok(product_id, ?::VARCHAR[]) "
    "AND day BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
    (grain, cur, prods, start, end),
)
totals = by[["gross", "refunds", "disputes_lost", "net"]].sum()
c = st.columns(4)
for col, (key, label) in zip(
    c,
    {
        "gross": "Gross volume",
        "refunds": "Refunds",
        "disputes_lost": "Disputes lost",
        "net": "Net volume",
    }.items(),
    strict=True,
):
    col.metric(label, ui.money(totals[key], cur))
# fees come from the balance ledger; a key that may not read it leaves them unknown, never zero
ledger = data.query("SELECT count(*) n FROM ledger_entries").iloc[0]["n"]
fees = data.query(
    "SELECT sum(fees) - sum(fee_reversals) f FROM fees_daily WHERE currency = ? AND day BETWEEN ? AND ?",
    (cur, start, end),
).iloc[0]["f"]
f = st.columns(4)
if not ledger:
    f[0].metric("Fees", "unavailable", help="The API key could not read the balance ledger.")
elif not prods:
    paid = 0 if ui.missing(fees) else fees
    f[0].metric("Fees (ledger)", ui.money(paid, cur))
    f[1].metric("Net after fees", ui.money(totals["net"] - paid, cur))
volume = figures.bars(by, "period", {"gross": "Gross", "net": "Net"}, cur, f"Gross and net volume by {grain}")
ui.chart(volume, "revenue_periods", ui.PAYMENTS_IN_PERIODS, lambda periods: (grain, periods, cur, prods))
losses = figures.bars(
    by,
    "period",
    {"refunds": "Refunds", "disputes_lost": "Disputes lost"},
    cur,
    "Refunds and lost disputes",
    stacked=True,
)
ui.chart(losses, "revenue_losses", ui.REFUNDS_IN_PERIODS, lambda periods: (grain, periods, cur))

split = data.query(
    "SELECT CASE WHEN subscription_id IS NULL THEN 'one-time' ELSE 'recurring' END kind, "
    "coalesce(payment_method, 'unknown') method, coalesce(d.billing_country, 'unknown') country, "
    "sum(total_amount) amount, count(*) payments FROM counted_payments c "
    "LEFT JOIN payment_details d USING (payment_id) WHERE c.status = 'succeeded' AND currency = ? "
    "AND product_ok(c.product_id, ?::VARCHAR[]) AND local_day BETWEEN ? AND ? GROUP BY ALL",
    (cur, prods, start, end),
)
left, mid, right = st.columns(3)
for column, (field, title) in zip(
    (left, mid, right),
    [
        ("kind", "One-time vs recurring"),
        ("method", "By payment method"),
        ("country", "By country (where known)"),
    ],
    strict=True,
):
    part = split.groupby(field, as_index=False)["amount"].sum().sort_values("amount", ascending=False)
    ui.chart(
        figures.bars(part, field, {"amount": "Gross"}, cur, title),
        f"revenue_by_{field}",
        ui.PAYMENTS_BY,
        lambda picked, f=field: (cur, prods, "succeeded", start, end, f, picked),
        where=column,
    )
products = data.query(
    "SELECT coalesce(p.name, c.product_id, 'unknown (detail not fetched)') product, "
    "sum(total_amount) amount FROM counted_payments c LEFT JOIN products p USING (product_id) "
    "WHERE c.status = 'succeeded' AND c.currency = ? AND product_ok(c.product_id, ?::VARCHAR[]) "
    "AND local_day BETWEEN ? AND ? GROUP BY 1 ORDER BY 2 DESC",
    (cur, prods, start, end),
)
by_product = figures.bars(
    products, "product", {"amount": "Gross"}, cur, "By product (subscriptions by their plan)"
)
ui.chart(
    by_product,
    "revenue_by_product",
    ui.PAYMENTS_BY,
    lambda picked: (cur, prods, "succeeded", start, end, "product", picked),
)
st.caption(f"Days are in {info['timezone']}. Refunds and disputes count on the day they were created.")
