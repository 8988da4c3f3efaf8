import streamlit as st

from dashboard import data, ui
from reports import records

filters, _ = ui.header("Records")
st.caption("The records behind the numbers. Ids are Dodo's: search them in your Dodo dashboard.")
kind = st.segmented_control("Show", list(records.KINDS), default="Payments", key="records_kind")
search = st.text_input("Id, email or name contains", key="records_search").strip()
values = {**filters.params(), "search": records.pattern(search)}
if kind == "Payments":
    statuses = st.multiselect("Status", list(records.STATUSES), key="records_status")
    rows = data.query(records.PAYMENTS, {**values, "statuses": statuses})
elif kind == "Subscriptions":
    rows = data.query(records.SUBSCRIPTIONS, values)
else:
    rows = data.query(records.CUSTOMERS, values)
st.write(f"{len(rows):,} rows (at most 5,000 shown; the Exports page writes the whole set)")
ui.table(rows, filters.currency)
