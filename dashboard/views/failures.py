import streamlit as st

from dashboard import data, figures, ui
from reports import failures

filters, status = ui.header("Failures")
daily = data.rows(failures.WEEKLY, filters)
unknown = data.query(failures.UNKNOWN_REASON, filters.params()).iloc[0]["n"]
totals = daily[["succeeded", "failed", "other"]].sum()
final = totals["succeeded"] + totals["failed"]
c = st.columns(4)
c[0].metric("Success rate", "n/a" if not final else f"{totals['succeeded'] / final:.1%}")
c[1].metric("Failed payments", f"{int(totals['failed']):,}")
c[2].metric("Not final (processing, cancelled, ...)", f"{int(totals['other']):,}")
c[3].metric("Failures with reason not fetched yet", f"{int(unknown):,}")
weekly = figures.lines(
    daily,
    "week",
    {"success_rate": "Success rate", "failure_rate": "Failure rate"},
    title="Payment outcomes by week",
)
ui.chart(weekly, "outcomes_weekly", failures.WEEKLY, filters)
reasons = data.rows(failures.REASONS, filters)
codes = figures.bars(reasons, "error_code", {"failed": "Failed payments"}, title="Failures by decline code")
ui.chart(codes, "failure_codes", failures.REASONS, filters)
st.dataframe(reasons, hide_index=True)
by = data.rows(failures.SPLIT, filters)
left, right = st.columns(2)
for column, field, title in (
    (left, "method", "By payment method"),
    (right, "country", "By country (where known)"),
):
    part = by.groupby(field, as_index=False)["failed"].sum()
    ui.chart(
        figures.bars(part, field, {"failed": "Failed"}, title=title),
        f"failures_by_{field}",
        failures.SPLIT,
        filters,
        where=column,
        by=field,
    )
if filters.products:
    st.caption("Recovery and disputes below are for the whole business, not the selected products.")
recovery = data.rows(failures.RECOVERY, filters)
recovered = figures.lines(
    recovery,
    "month",
    {"recovery_rate": "Recovery rate"},
    title=f"Renewal failures recovered within {status.recovery_days} days",
)
ui.chart(recovered, "recovery", failures.RECOVERY, filters)
disputes = data.rows(failures.DISPUTES, filters)
opened = figures.bars(
    disputes, "month", {"disputes_opened": "Opened", "disputes_lost_count": "Lost"}, title="Disputes"
)
ui.chart(opened, "disputes", failures.DISPUTES, filters)
