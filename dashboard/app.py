"""Dodo Analytics dashboard: `dodo-analytics dashboard --warehouse PATH` or `streamlit run dashboard/serve.py` (app.py behind the gate of gate.py)."""

import streamlit as st

from dashboard import ui

st.set_page_config(page_title="Dodo Analytics", page_icon=":bar_chart:", layout="wide")
if not ui.password_ok():
    st.stop()
settings = ui.settings()  # a bad setting stops here, said in one line
pages = [
    st.Page("views/overview.py", title="Overview", default=True),
    st.Page("views/revenue.py", title="Revenue"),
    st.Page("views/subscriptions.py", title="Subscriptions & churn"),
    st.Page("views/growth.py", title="Growth & trials"),
    st.Page("views/failures.py", title="Failures"),
    st.Page("views/payouts.py", title="Payouts & balance"),
    st.Page("views/records.py", title="Records"),
    st.Page("views/customer.py", title="Customer profile"),
    st.Page("views/exports.py", title="Exports"),
]
page = st.navigation(pages)
ui.sidebar(settings)
page.run()
