import streamlit as st

from dashboard import data, figures, ui

info = ui.header("Failures")
if info is None:
    st.stop()
cur, start, end, prods = info["currency"], info["start"] or data.EPOCH_DAY, info["end"], info["products"]
daily = data.query(
    "SELECT date_trunc('week', day)::DATE AS week, sum(succeeded) succeeded, sum(failed) failed, "
    "sum(other) other, sum(succeeded) / nullif(sum(succeeded) + sum(failed), 0) success_rate, "
    "sum(failed) / nullif(sum(succeeded) + sum(failed), 0) failure_rate "
    "FROM payment_outcomes_daily_by_product WHERE currency = ? AND product_ok(product_id, ?::VARCHAR[]) "
    "AND day BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
    (cur, prods, start, end),
)
unknown = data.query(
    "SELECT count(*) n FROM counted_payments WHERE status = 'failed' AND error_code IS NULL "
    "AND currency = ? AND product_ok(product_id, ?::VARCHAR[]) AND local_day BETWEEN ? AND ?",
    (cur, prods, start, end),
).iloc[0]["n"]
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
ui.chart(weekly, "outcomes_weekly", ui.PAYMENTS_IN_WEEKS, lambda weeks: (cur, prods, weeks))
reasons = data.query(
    "SELECT coalesce(c.error_code, 'unknown') error_code, any_value(t.decline_type) decline_type, "
    "count(*) failed, sum(total_amount) amount FROM counted_payments c "
    "LEFT JOIN (SELECT DISTINCT error_code, decline_type FROM failures_by_reason) t "
    "ON t.error_code = coalesce(c.error_code, 'unknown') WHERE c.status = 'failed' AND currency = ? "
    "AND product_ok(c.product_id, ?::VARCHAR[]) AND local_day BETWEEN ? AND ? GROUP BY 1 "
    "ORDER BY failed DESC",
    (cur, prods, start, end),
)
codes = figures.bars(reasons, "error_code", {"failed": "Failed payments"}, title="Failures by decline code")
ui.chart(codes, "failure_codes", ui.FAILED_WITH_CODES, lambda picked: (cur, prods, start, end, picked))
st.dataframe(reasons, hide_index=True)
by = data.query(
    "SELECT coalesce(payment_method, 'unknown') method, coalesce(d.billing_country, 'unknown') country, "
    "count(*) failed FROM counted_payments c LEFT JOIN payment_details d USING (payment_id) "
    "WHERE c.status = 'failed' AND currency = ? AND product_ok(c.product_id, ?::VARCHAR[]) "
    "AND local_day BETWEEN ? AND ? GROUP BY ALL",
    (cur, prods, start, end),
)
left, right = st.columns(2)
for column, field, title in (
    (left, "method", "By payment method"),
    (right, "country", "By country (where known)"),
):
    part = by.groupby(field, as_index=False)["failed"].sum()
    ui.chart(
        figures.bars(part, field, {"failed": "Failed"}, title=title),
        f"failures_by_{field}",
        ui.PAYMENTS_BY,
        lambda picked, f=field: (cur, prods, "failed", start, end, f, picked),
        where=column,
    )
if prods:
    st.caption("Recovery and disputes below are for the whole business, not the selected products.")
recovery = data.query("SELECT * FROM recovery_monthly WHERE currency = ? ORDER BY month", (cur,))
recovered = figures.lines(
    recovery,
    "month",
    {"recovery_rate": "Recovery rate"},
    title=f"Renewal failures recovered within {info['recovery_days']} days",
)
ui.chart(recovered, "recovery", ui.FAILED_RENEWALS_IN_MONTHS, lambda months: (cur, months))
disputes = data.query("SELECT * FROM dispute_activity_monthly WHERE currency = ? ORDER BY month", (cur,))
opened = figures.bars(
    disputes, "month", {"disputes_opened": "Opened", "disputes_lost_count": "Lost"}, title="Disputes"
)
ui.chart(opened, "disputes", ui.DISPUTES_IN_MONTHS, lambda months: (cur, months))
