import streamlit as st

from dashboard import data, figures, ui
from reports import failures, overview
from reports.filters import mark_complete
from reports.money import missing
from reports.overview import change, comparison

filters, status = ui.header("Failures")
daily = mark_complete(data.rows(failures.WEEKLY, filters), "week", "week", status.today)
unknown = data.query(failures.UNKNOWN_REASON, filters.params()).iloc[0]["n"]
totals = daily[["succeeded", "failed", "other", "renewal_succeeded", "renewal_failed"]].sum()
final = totals["succeeded"] + totals["failed"]
versus = comparison(filters, status.today)
rate_now, rate_before = (
    data.query(overview.SUCCESS_RATE, f.params()).iloc[0]["r"] for f in (versus.compared, versus.before)
)
failed_now, failed_before = (
    data.rows(failures.WEEKLY, f)["failed"].sum() for f in (versus.compared, versus.before)
)
renewals = totals["renewal_succeeded"] + totals["renewal_failed"]
c = ui.card_columns(5)
c[0].metric(
    "Success rate",
    "n/a" if not final else f"{totals['succeeded'] / final:.1%}",
    None if missing(rate_now) or missing(rate_before) else f"{rate_now - rate_before:+.1%} vs {versus.what}",
    help=versus.how,
)
c[1].metric(
    "Renewal failure rate",
    "n/a" if not renewals else f"{totals['renewal_failed'] / renewals:.1%}",
    help="Failed ÷ final payments, of subscription payments only",
)
c[2].metric(
    "Failed payments",
    f"{int(totals['failed']):,}",
    change(failed_now, failed_before, versus.what),
    delta_color="inverse",
    help=versus.how,
)
c[3].metric("Not final (processing, cancelled, ...)", f"{int(totals['other']):,}")
c[4].metric(
    "Failures with reason not fetched yet",
    f"{int(unknown):,}",
    help="Their payment's detail, which holds the decline code, is not read yet; a failure whose detail "
    "gives no code is shown as 'no reason given'",
)
weekly = figures.lines(
    daily,
    "week",
    {
        "success_rate": "Success rate",
        "failure_rate": "Failure rate",
        "renewal_failure_rate": "Renewal failure rate",
    },
    title="Payment outcomes by week",
    percent=True,
)
ui.chart(weekly, "outcomes_weekly", failures.WEEKLY, filters)
reasons = ui.known(
    data.rows(failures.REASONS, filters), "error_code", "unknown", "failed", "The decline reason is"
)
if reasons.empty:
    st.caption("No failed payment of the period has its decline reason read yet.")
else:
    codes = figures.bars(
        reasons, "error_code", {"failed": "Failed payments"}, title="Failures by decline code"
    )
    ui.chart(codes, "failure_codes", failures.REASONS, filters)
ui.table(reasons, filters.currency)
by = data.rows(failures.SPLIT, filters)
left, right = st.columns(2)
for column, field, title in (
    (left, "method", "By payment method"),
    (right, "country", "By country (where known)"),
):
    part = by.groupby(field, as_index=False)["failed"].sum()
    if field == "country":
        part = ui.known(part, "country", "unknown", "failed", "The country is", where=column)
    if part.empty:
        column.caption(f"{title}: nothing known yet.")
        continue
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
totals = data.query(failures.RECOVERY_TOTALS, filters.params()).iloc[0]
r = st.columns(3)
r[0].metric(
    "Failed renewals recovered",
    "n/a" if not totals["matured"] else f"{totals['recovered'] / totals['matured']:.1%}",
    help=f"A failed renewal is a subscription's run of failures (retries included) until its next success; "
    f"recovered when that success came within {status.recovery_days} days. Only failed renewals at least "
    f"{status.recovery_days} days old count.",
)
ui.money_card(r[1], "Recovered amount", totals["recovered_amount"], filters.currency)
days = totals["median_days_to_recover"]
r[2].metric("Median days to recover", "n/a" if missing(days) else f"{days:.1f}")
recovered = figures.lines(
    recovery,
    "month",
    {"recovery_rate": "Recovery rate"},
    title=f"Failed renewals recovered within {status.recovery_days} days, by the month of the first failure",
    percent=True,
)
ui.chart(recovered, "recovery", failures.RECOVERY, filters)
disputes = data.rows(failures.DISPUTES, filters)
opened = figures.bars(
    disputes, "month", {"disputes_opened": "Opened", "disputes_lost_count": "Lost"}, title="Disputes"
)
ui.chart(opened, "disputes", failures.DISPUTES, filters)
