"""The Failures page's queries: outcomes by week, decline codes, methods and countries, renewal
recovery and disputes, each chart with the payments or disputes behind a clicked point."""

from reports import revenue
from reports.filters import IN_PERIOD_MONTHS
from reports.query import Chart

PAYMENTS_IN_WEEKS = """SELECT payment_id, created_at, status, total_amount, customer_email, error_code
    FROM counted_payments WHERE currency = $currency AND product_ok(product_id, $products::VARCHAR[])
    AND date_trunc('week', local_day)::DATE IN (SELECT unnest($picked::DATE[]))
    AND local_day BETWEEN $start AND $end
    ORDER BY created_at LIMIT 5000"""
FAILED_WITH_CODES = """SELECT payment_id, created_at, total_amount, customer_email, subscription_id,
    error_code FROM counted_payments WHERE currency = $currency
    AND product_ok(product_id, $products::VARCHAR[]) AND status = 'failed'
    AND local_day BETWEEN $start AND $end
    AND failure_reason IN (SELECT unnest($picked::VARCHAR[]))
    ORDER BY created_at LIMIT 5000"""
FAILED_RENEWALS_IN_MONTHS = """SELECT first_failed_at, subscription_id, first_payment_id, failed_payments,
    closed_at, recovered, recovered_amount FROM failed_renewals WHERE currency = $currency
    AND month IN (SELECT unnest($picked::DATE[])) ORDER BY first_failed_at LIMIT 5000"""
DISPUTES_IN_MONTHS = """SELECT dispute_id, payment_id, created_at, amount, dispute_stage, dispute_status
    FROM placed_disputes WHERE currency = $currency
    AND date_trunc('month', timezone((SELECT timezone FROM metric_settings), created_at))::DATE
        IN (SELECT unnest($picked::DATE[])) ORDER BY created_at LIMIT 5000"""

WEEKLY = Chart(
    "SELECT date_trunc('week', day)::DATE AS week, sum(succeeded) succeeded, sum(failed) failed, "
    "sum(other) other, sum(succeeded) / nullif(sum(succeeded) + sum(failed), 0) success_rate, "
    "sum(failed) / nullif(sum(succeeded) + sum(failed), 0) failure_rate, "
    "sum(renewal_failed) / nullif(sum(renewal_succeeded) + sum(renewal_failed), 0) renewal_failure_rate, "
    "sum(renewal_succeeded) renewal_succeeded, sum(renewal_failed) renewal_failed "
    "FROM payment_outcomes_daily_by_product WHERE currency = $currency "
    "AND product_ok(product_id, $products::VARCHAR[]) AND day BETWEEN $start AND $end GROUP BY 1 ORDER BY 1",
    PAYMENTS_IN_WEEKS,
)
# failed payments whose detail (and so decline code) the sync has not fetched yet (shown as 'unknown')
UNKNOWN_REASON = (
    "SELECT count(*) n FROM counted_payments WHERE failure_reason = 'unknown' "
    "AND currency = $currency AND product_ok(product_id, $products::VARCHAR[]) "
    "AND local_day BETWEEN $start AND $end"
)
REASONS = Chart(
    "SELECT c.failure_reason error_code, any_value(t.decline_type) decline_type, "
    "count(*) failed, sum(total_amount) amount FROM counted_payments c "
    "LEFT JOIN (SELECT DISTINCT error_code, decline_type FROM failures_by_reason) t "
    "ON t.error_code = c.failure_reason WHERE c.status = 'failed' AND currency = $currency "
    "AND product_ok(c.product_id, $products::VARCHAR[]) AND local_day BETWEEN $start AND $end GROUP BY 1 "
    "ORDER BY failed DESC",
    FAILED_WITH_CODES,
)
# One query for both splits (method, country); the page passes the split as `by`.
SPLIT = Chart(
    "SELECT coalesce(payment_method, 'unknown') method, coalesce(d.billing_country, 'unknown') country, "
    "count(*) failed FROM counted_payments c LEFT JOIN payment_details d USING (payment_id) "
    "WHERE c.status = 'failed' AND currency = $currency AND product_ok(c.product_id, $products::VARCHAR[]) "
    "AND local_day BETWEEN $start AND $end GROUP BY ALL",
    revenue.PAYMENTS_BY,
    {"status": "failed"},
)
# Recovery and disputes are whole-business: no product filter.
RECOVERY = Chart(
    f"SELECT * FROM recovery_monthly WHERE currency = $currency AND {IN_PERIOD_MONTHS} ORDER BY month",
    FAILED_RENEWALS_IN_MONTHS,
)
# the same months' failed renewals as one figure (a median of the months' medians would not be one)
RECOVERY_TOTALS = f"""SELECT count(*) FILTER (matured) AS matured,
    count(*) FILTER (matured AND recovered) AS recovered,
    coalesce(sum(recovered_amount) FILTER (matured), 0) AS recovered_amount,
    median(days_to_recover) FILTER (matured) AS median_days_to_recover
    FROM failed_renewals WHERE currency = $currency AND {IN_PERIOD_MONTHS}"""
DISPUTES = Chart(
    f"SELECT * FROM dispute_activity_monthly WHERE currency = $currency AND {IN_PERIOD_MONTHS} ORDER BY month",
    DISPUTES_IN_MONTHS,
)
