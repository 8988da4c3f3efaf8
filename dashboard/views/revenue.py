from dataclasses import replace

import streamlit as st

from dashboard import data, figures, ui
from reports import revenue
from reports.filters import GRAINS, mark_complete
from reports.money import missing
from reports.overview import change, comparison

filters, status = ui.header("Revenue")
grain = st.radio("By", list(GRAINS), horizontal=True, key="revenue_grain")
filters = replace(filters, grain=grain)
cur = filters.currency

by = mark_complete(
    data.rows(revenue.VOLUME, filters), "period", grain, status.today
)  # LOSSES has the same rows
columns = ["gross", "refunds", "disputes_lost", "net"]
totals = by[columns].sum()
versus = comparison(filters, status.today)
now_compared, earlier = (
    data.rows(revenue.VOLUME, f)[columns].sum() for f in (versus.compared, versus.before)
)
c = ui.card_columns(4)
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
    ui.money_card(
        col,
        label,
        totals[key],
        cur,
        change(now_compared[key], earlier[key], versus.what),
        help=versus.how,
        delta_color="inverse" if key in ("refunds", "disputes_lost") else "normal",
    )
ui.provisional(filters)
taxed = data.query(revenue.TAX_COVERAGE, filters.params()).iloc[0]
if taxed["n"] and taxed["known"] < taxed["n"]:
    st.caption(
        f"Tax known for {taxed['known'] / taxed['n']:.0%} of the succeeded payments ({int(taxed['known']):,} of "
        f"{int(taxed['n']):,}): from the payment's detail or the ledger, which the next syncs complete."
    )
ledger = data.query(revenue.LEDGER, filters.params()).iloc[0]
fees = data.query(revenue.FEES, filters.params()).iloc[0]["f"]
f = ui.card_columns(2)
if unknown := revenue.fees_unknown(ledger, cur):
    f[0].metric("Fees", unknown[0], help=unknown[1])
elif not filters.products:
    paid = 0 if missing(fees) else fees
    ui.money_card(f[0], "Fees (ledger)", paid, cur)
    ui.money_card(f[1], "Net after fees", totals["net"] - paid, cur)
volume = figures.bars(by, "period", {"gross": "Gross", "net": "Net"}, cur, f"Gross and net volume by {grain}")
ui.chart(volume, "revenue_periods", revenue.VOLUME, filters)
losses = figures.bars(
    by,
    "period",
    {"refunds": "Refunds", "disputes_lost": "Disputes lost"},
    cur,
    "Refunds and lost disputes",
    stacked=True,
)
ui.chart(losses, "revenue_losses", revenue.LOSSES, filters)

split = data.rows(revenue.SPLIT, filters)
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
    if field == "country":
        part = ui.known(part, "country", "unknown", "amount", "The country is", where=column)
    if part.empty:
        column.caption(f"{title}: nothing known yet.")
        continue
    ui.chart(
        figures.bars(part, field, {"amount": "Gross"}, cur, title),
        f"revenue_by_{field}",
        revenue.SPLIT,
        filters,
        where=column,
        by=field,
    )
products = ui.known(
    data.rows(revenue.BY_PRODUCT, filters),
    "product",
    "unknown (detail not fetched)",
    "amount",
    "The product is",
)
if products.empty:
    st.caption("By product: nothing known yet.")
else:
    by_product = figures.bars(
        products, "product", {"amount": "Gross"}, cur, "By product (subscriptions by their plan)"
    )
    ui.chart(by_product, "revenue_by_product", revenue.BY_PRODUCT, filters)
st.caption(f"Days are in {filters.timezone}. Refunds and disputes count on the day they were created.")
