import streamlit as st

from dashboard import data, exports, ui

info = ui.header("Exports")
if info is None:
    st.stop()
cur, start, end = info["currency"], info["start"], info["end"]
st.caption(
    f"CSV for finance: the whole filtered set ({cur}, {start or 'all time'} to {end}, days in "
    f"{info['timezone']}), amounts in major units with each currency's decimals, UTF-8 with a BOM."
)
what = st.selectbox("Export", list(exports.EXPORTS), format_func=lambda w: w.replace("_", " ").capitalize())
body = data.export_csv(
    what, start, end, None if what == "customers" else cur, info["timezone"], info["products"]
)
if info["products"] and what not in ("payments", "subscriptions"):
    st.caption("This export has no product: the product filter does not apply to it.")
st.download_button(
    f"Download {what}.csv", body, file_name=f"{what}-{cur}-{start or 'all'}-{end}.csv", mime="text/csv"
)
st.caption(
    "The same files from cron: `dodo-analytics export --what payments --from 2026-01-01 --to 2026-01-31 "
    "--out payments.csv`"
)
