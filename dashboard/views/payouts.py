import pandas as pd
import streamlit as st

from dashboard import data, figures, ui
from reports import payouts
from reports.exports import USD_EQUIVALENT
from reports.money import money
from reports.overview import change, comparison

filters, status = ui.header("Payouts & balance")
cur = filters.currency
balance = data.query(payouts.BALANCE, filters.params())
rows = data.rows(payouts.PAYOUTS, filters)
usd = data.query(payouts.PAID_OUT_USD, filters.params()).iloc[0]
c = ui.card_columns(4)
help_ = "The ledger's own balance after its last entry of the period, in this currency."
if len(balance):
    ui.money_card(c[0], "Balance at the period's end", balance["balance"].iloc[-1], cur, help=help_)
else:
    c[0].metric("Balance at the period's end", "no entries", help=help_)
versus = comparison(filters, status.today)
paid_now, paid_before = (
    data.rows(payouts.PAYOUTS, f)["amount"].sum() for f in (versus.compared, versus.before)
)
ui.money_card(
    c[1],
    "Paid out",
    rows["amount"].sum(),
    cur,
    change(paid_now, paid_before, versus.what),
    help=f"{len(rows):,} payouts in {cur}. {versus.how}",
)
ui.money_card(
    c[2],
    "Paid out, every currency",
    usd["usd"],
    "USD",
    help=f"{USD_EQUIVALENT}: each payout's usd_equivalent_amount in the ledger; never a rate of ours.",
)
first = status.coverage.first_day(filters.timezone)  # None: the whole ledger is loaded
c[3].metric(
    "Payouts not tying out",
    f"{int(usd['not_tying']):,} of {int(usd['payouts']):,}" if first is None else "n/a (loading)",
    help="A payout ties out when the ledger entries it settles add up to its amount and fee."
    + ("" if first is None else f" Judged once the ledger before {first} is loaded."),
)
st.plotly_chart(figures.lines(balance, "day", {"balance": "Balance"}, cur, "Balance by day (ledger)"))
chart = figures.bars(
    rows, "day", {"amount": "Paid out", "difference": "Not covered by entries"}, cur, "Payouts"
)
ui.chart(chart, "payouts", payouts.PAYOUTS, filters)
st.subheader("Each payout's tie-out")
st.caption("Settled: the ledger entries the payout settles, which equal its amount and fee when it ties out.")
ui.table(rows.drop(columns=["day"]), cur)
st.subheader("Month-end close")
breaks = data.query(payouts.BREAKS)
close = data.query(payouts.CLOSE, filters.params())
if first is not None:  # a month is closed from its whole ledger only
    breaks, close = (t[pd.to_datetime(t["month"]) >= pd.Timestamp(first)] for t in (breaks, close))
    st.caption(f"Only the months whose whole ledger is loaded: the ledger before {first} is still loading.")
if len(breaks):
    st.error(
        "The close does not tie to the ledger's own balances (entries are missing from the warehouse) in:"
    )
    st.text(
        "\n".join(f"{r.month} {r.currency}: {money(r['break'], r.currency)}" for _, r in breaks.iterrows())
    )
st.caption(
    f"Per month in {filters.timezone}: the opening balance plus each column is the closing balance, both as "
    "the ledger states them; a break is what the entries leave unexplained. All currencies, and in "
    f"{USD_EQUIVALENT}: `dodo-analytics export --what close`."
)
ui.table(close, cur)
