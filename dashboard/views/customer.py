import streamlit as st

from dashboard import data, figures, ui
from reports import customers
from reports.money import missing, money
from reports.records import pattern

filters, _ = ui.header("Customer profile")
given = st.query_params.get("customer", "")
query = st.text_input("Find a customer by e-mail, name or id", value=given, key="customer_search").strip()
if not query:
    st.caption("Type part of an e-mail or a name, or a customer id; every record list links here too.")
    st.stop()
found = data.query(customers.MATCHES, {"query": query, "pattern": pattern(query)})
if found.empty:
    st.caption("No customer matches.")
    st.stop()
labels: dict[str, str] = {
    str(r.customer_id): f"{r.email or 'no e-mail'} · {r.name or 'no name'} · {r.customer_id}"
    for r in found.itertuples()
}
chosen = st.selectbox(
    f"{len(found):,} customers match (at most 50 listed)", list(labels), format_func=lambda i: labels[i]
)
if chosen is None:
    st.stop()
st.query_params["customer"] = str(chosen)
one = {"customer": chosen}
who = data.query(customers.CUSTOMER, one).iloc[0]
st.text(
    f"{who['name'] or 'No name'} <{who['email'] or 'no e-mail'}>  ·  {who['customer_id']}  ·  country: "
    f"{who['country'] or 'not known'}"
)  # the API's text, shown as text
totals = data.query(customers.TOTALS, one)
for t in totals.itertuples():
    c = ui.card_columns(6)
    ui.money_card(
        c[0], f"Revenue to date ({t.currency})", t.paid, t.currency, help="Succeeded payments that count"
    )
    ui.money_card(c[1], f"Net of refunds and lost disputes ({t.currency})", t.net, t.currency)
    ui.money_card(c[2], f"MRR now ({t.currency})", t.mrr, t.currency)
    c[3].metric("Payments", f"{t.payments:,}")
    c[4].metric("First payment", "none" if missing(t.first_payment) else f"{t.first_payment:%Y-%m-%d}")
    c[5].metric("Last payment", "none" if missing(t.last_payment) else f"{t.last_payment:%Y-%m-%d}")
history = data.query(customers.MRR, one)
for currency, part in history.groupby("currency"):
    st.plotly_chart(
        figures.lines(
            part, "month_end", {"mrr": "MRR"}, str(currency), f"MRR at each month's end ({currency})"
        )
    )
moves = data.query(customers.MOVEMENTS, one)
if not moves.empty:
    st.subheader("MRR movements")
    for column in ("mrr_before", "mrr_after"):
        moves[column] = [money(v, c) for v, c in zip(moves[column], moves["currency"], strict=True)]
    ui.table(moves, filters.currency)
st.subheader("Timeline")
events = data.query(customers.TIMELINE, one)
events.insert(
    1,
    "value",
    ["" if missing(v) else money(v, c) for v, c in zip(events["amount"], events["currency"], strict=True)],
)
ui.table(events.drop(columns=["amount"]), filters.currency)
