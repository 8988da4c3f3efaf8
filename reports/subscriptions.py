"""The Subscriptions & churn page's queries: MRR (also the Overview's), its movements, churn, retention
and cohorts, each chart with the subscriptions or customers behind a clicked month or cell."""

from reports.filters import IN_PERIOD_MONTHS, Filters
from reports.query import Chart

# The subscriptions paying at the end of the picked months, with their MRR.
SUBSCRIPTIONS_AT_MONTH_END = """SELECT v.subscription_id, v.customer_id, v.monthly_value AS mrr, b.month
    FROM mrr_intervals v JOIN mrr_boundaries b ON v.valid_from <= b.t1 AND b.t1 < v.valid_to
    JOIN subscriptions s USING (subscription_id)
    WHERE v.currency = $currency AND product_ok(s.product_id, $products::VARCHAR[])
    AND b.month IN (SELECT unnest($picked::DATE[]))
    ORDER BY mrr DESC LIMIT 5000"""
CUSTOMERS_MOVING_IN_MONTHS = """SELECT m.month, m.customer_id, m.movement, m.a AS mrr_at_start,
    m.b AS mrr_at_end FROM mrr_movements m WHERE m.currency = $currency
    AND m.month IN (SELECT unnest($picked::DATE[]))
    AND m.movement <> 'unchanged' ORDER BY m.month, m.movement LIMIT 5000"""
CHURNED_IN_MONTHS = """SELECT month, customer_id, subscription_id, churn_type, churn AS churned_mrr
    FROM churned_subscriptions WHERE currency = $currency AND month IN (SELECT unnest($picked::DATE[]))
    ORDER BY churned_mrr DESC LIMIT 5000"""
# The customers of a cohort ($cohort, "2026-01") $months months on, with their MRR then.
COHORT_CUSTOMERS = """SELECT k.customer_id, k.cohort, b.month, k.starting_mrr, coalesce(m.mrr, 0) AS mrr_at_month_end
    FROM customer_cohorts k JOIN mrr_boundaries b ON b.month = k.cohort + to_months($months)
    LEFT JOIN customer_mrr_at m ON m.t = b.t1 AND m.customer_id = k.customer_id AND m.currency = k.currency
    WHERE k.currency = $currency AND strftime(k.cohort, '%Y-%m') = $cohort
    ORDER BY mrr_at_month_end DESC LIMIT 5000"""

# MRR and paying customers at each month's end: the tied-out table for the whole business, or the
# subscriptions of the selected products.
MRR_TREND = Chart(
    f"SELECT month, mrr_end, customers_end, is_complete FROM mrr_monthly WHERE currency = $currency "
    f"AND {IN_PERIOD_MONTHS} ORDER BY month",
    SUBSCRIPTIONS_AT_MONTH_END,
)
MRR_TREND_OF_PRODUCTS = Chart(
    "SELECT b.month, coalesce(sum(v.monthly_value), 0) AS mrr_end, "
    "count(DISTINCT v.customer_id) AS customers_end, b.is_complete "
    "FROM mrr_boundaries b LEFT JOIN (mrr_intervals v JOIN subscriptions s USING (subscription_id)) "
    "ON v.valid_from <= b.t1 AND b.t1 < v.valid_to AND v.currency = $currency AND v.monthly_value > 0 "
    f"AND product_ok(s.product_id, $products::VARCHAR[]) WHERE b.{IN_PERIOD_MONTHS} GROUP BY ALL ORDER BY 1",
    SUBSCRIPTIONS_AT_MONTH_END,
)


def mrr_trend(filters: Filters) -> Chart:
    return MRR_TREND_OF_PRODUCTS if filters.products else MRR_TREND


# The whole business's months: MRR movements with the churn and retention rates.
MONTHLY = (
    "SELECT m.*, c.customer_churn_rate, c.gross_mrr_churn_rate, c.net_mrr_churn_rate, c.nrr, c.grr, "
    "c.arpa, c.ltv, c.ltv_months, c.nrr_12m, c.arr, c.is_complete "
    "FROM mrr_monthly m JOIN churn_monthly c USING (month, currency) "
    f"WHERE currency = $currency AND {IN_PERIOD_MONTHS} ORDER BY month"
)
MRR_AND_ARR = Chart(MONTHLY, SUBSCRIPTIONS_AT_MONTH_END)  # with products selected: MRR_TREND_OF_PRODUCTS
CHURN_RATES = Chart(MONTHLY, CUSTOMERS_MOVING_IN_MONTHS)
RETENTION = Chart(MONTHLY, CUSTOMERS_MOVING_IN_MONTHS)
AT_RISK = "SELECT * FROM mrr_at_risk WHERE currency = $currency"
MOVERS = (
    "SELECT customer_id, movement, a AS mrr_at_start, b AS mrr_at_end FROM mrr_movements "
    "WHERE currency = $currency AND month = $month AND movement <> 'unchanged' ORDER BY movement, customer_id"
)
CHURN_TYPES = Chart(
    f"SELECT * FROM churn_by_type WHERE currency = $currency AND {IN_PERIOD_MONTHS} ORDER BY month",
    CHURNED_IN_MONTHS,
)
COHORTS = Chart(
    "SELECT * FROM cohort_retention WHERE currency = $currency ORDER BY cohort, months_since",
    COHORT_CUSTOMERS,  # a clicked cell gives $cohort (its row) and $months (its column)
)
