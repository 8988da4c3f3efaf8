import streamlit as st

from dashboard import data, ui
from reports import exports

filters, _ = ui.header("Exports")
cur, start, end = filters.currency, filters.start, filters.end
st.caption(
    f"CSV for finance: the whole filtered set ({cur}, {start or 'all time'} to {end}, days in "
    f"{filters.timezone}), amounts in major units with each currency's decimals, UTF-8 with a BOM."
)
what = st.selectbox("Export", list(exports.EXPORTS), format_func=lambda w: w.replace("_", " ").capitalize())
body = data.export_csv(what, filters)
if filters.products and what not in exports.WITH_PRODUCT:
    st.caption("This export has no product: the product filter does not apply to it.")
st.download_button(
    f"Download {what}.csv", body, file_name=f"{what}-{cur}-{start or 'all'}-{end}.csv", mime="text/csv"
)
st.caption(
    "The same files from cron: `dodo-analytics export --what payments --from 2026-01-01 --to 2026-01-31 "
    "--out payments.csv`"
)
