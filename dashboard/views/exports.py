import streamlit as st

from dashboard import data, ui
from reports import exports, writers

MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
LABEL = {"csv": "CSV (spreadsheets)", "xlsx": "Excel workbook", "parquet": "Parquet (data tools)"}

filters, _ = ui.header("Exports")
cur, start, end = filters.currency, filters.start, filters.end
what = st.selectbox("Report", list(exports.EXPORTS), format_func=lambda w: w.replace("_", " ").capitalize())
fmt = st.radio("Format", writers.FORMATS, format_func=LABEL.get, horizontal=True)
export = exports.EXPORTS[what]
scope = f"{cur}, " if export.currency else "every currency, "
st.caption(
    f"The whole filtered set ({scope}{start or 'all time'} to {end}, days in {filters.timezone}). Dodo's "
    "own report columns come first, in Dodo's names and order. Amounts in major units with each "
    "currency's decimals, next to their currency; times in UTC."
)
if filters.products and not export.product:
    st.caption("This report has no product: the product filter does not apply to it.")
try:
    body, rows, note = data.export_file(what, fmt, filters)
except writers.ExportError as exc:  # an Excel sheet too small for the period, say
    st.error(str(exc))
    st.stop()
st.caption(f"{rows:,} rows. The first {min(rows, 20)}:")
st.dataframe(data.export_preview(what, filters), hide_index=True)
if note:
    st.caption(note)
st.download_button(
    f"Download {what}.{fmt}",
    body,
    file_name=f"{what}-{cur if export.currency else 'all'}-{start or 'all'}-{end}.{fmt}",
    mime=MIME[fmt],
)
st.caption(
    "The same files from cron: `dodo-analytics export --what payments --from 2026-01-01 --to 2026-01-31 "
    "--format xlsx --out payments.xlsx`; every table for a data warehouse: `dodo-analytics export "
    "--what all --format parquet --out DIR`"
)
