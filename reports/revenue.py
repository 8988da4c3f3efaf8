"""The Revenue page's queries: volume by period, fees, and splits by kind, method, country and product,
each chart with the records behind a clicked bar. PAYMENTS_IN_PERIODS and PAYMENTS_BY also serve the
Overview and Failures pages."""

from typing import Any

from reports.query import Chart

# The succeeded payments in the picked periods ($picked: the periods' first days, at $grain).
PAYMENTS_IN_PERIODS = """SELECT payment_id, created_at, total_amount, customer_email, subscription_id,
    charge_type FROM counted_payments WHERE status = 'succeeded'
    AND date_trunc($grain, local_day)::DATE IN (SELECT unnest($picked::DATE[]))
    AND local_day BETWEEN $start AND $end  -- a week or month cut by the period: the part the bar shows
    AND currency = $currency AND product_ok(product_id, $products::VARCHAR[])
    ORDER BY created_at LIMIT 5000"""
# The payments of one $status whose attribute $by (kind, method, country or product) is one of $picked.
PAYMENTS_BY = """SELECT c.payment_id, c.created_at, c.status, c.total_amount, c.payment_method,
    d.billing_country, c.product_id FROM counted_payments c LEFT JOIN payment_details d USING (payment_id)
    LEFT JOIN products p ON p.product_id = c.product_id
    WHERE c.currency = $currency AND product_ok(c.product_id, $products::VARCHAR[]) AND c.status = $status
    AND c.local_day BETWEEN $start AND $end
    AND (CASE $by WHEN 'kind' THEN CASE WHEN c.is_recurring THEN 'recurring' ELSE 'one-time' END
                WHEN 'method' THEN coalesce(c.payment_method, 'unknown')
                WHEN 'country' THEN coalesce(d.billing_country, 'unknown')
                ELSE coalesce(p.name, c.product_id, 'unknown (detail not fetched)') END)
        IN (SELECT unnest($picked::VARCHAR[]))
    ORDER BY c.created_at LIMIT 5000"""
REFUNDS_IN_PERIODS = """SELECT refund_id, payment_id, created_at, amount, status, reason FROM placed_refunds
    WHERE date_trunc($grain, timezone($timezone, created_at))::DATE IN (SELECT unnest($picked::DATE[]))
    AND timezone($timezone, created_at)::DATE BETWEEN $start AND $end
    AND currency = $currency ORDER BY created_at LIMIT 5000"""

BY_PERIOD = (
    "SELECT date_trunc($grain, day)::DATE AS period, "
    "sum(gross_volume) gross, sum(refunds) refunds, sum(disputes_lost) disputes_lost, sum(net_volume) net "
    "FROM revenue_daily_by_product WHERE currency = $currency "
    "AND product_ok(product_id, $products::VARCHAR[]) "
    "AND day BETWEEN $start AND $end GROUP BY 1 ORDER BY 1"
)
VOLUME = Chart(BY_PERIOD, PAYMENTS_IN_PERIODS)
LOSSES = Chart(BY_PERIOD, REFUNDS_IN_PERIODS)  # the same rows as VOLUME: refunds and lost disputes

# how many succeeded payments have a known tax (their detail, or the ledger's entries for them)
TAX_COVERAGE = (
    "SELECT coalesce(sum(tax_known_payments), 0) known, coalesce(sum(succeeded_payments), 0) n "
    "FROM revenue_daily_by_product WHERE currency = $currency AND product_ok(product_id, $products::VARCHAR[]) "
    "AND day BETWEEN $start AND $end"
)
# Succeeded payments counted until their detail says whether they only updated a card.
PROVISIONAL = (
    "SELECT count(*) n, coalesce(sum(total_amount), 0) amount FROM counted_payments WHERE provisional "
    "AND currency = $currency AND product_ok(product_id, $products::VARCHAR[]) AND local_day BETWEEN $start AND $end"
)

# Fees come from the balance ledger; a key that may not read it leaves them unknown, never zero.
LEDGER = """SELECT (SELECT count(*) FROM ledger_entries) AS entries,
    (SELECT count(*) FROM ledger_entries WHERE currency = $currency) AS in_currency,
    coalesce((SELECT json_exists(skipped, '$.ledger') FROM sync_runs WHERE status IN ('ok', 'ok_with_rejects')
              ORDER BY run_id DESC LIMIT 1), false) AS refused"""
FEES = (
    "SELECT sum(fees) - sum(fee_reversals) f FROM fees_daily WHERE currency = $currency "
    "AND day BETWEEN $start AND $end"
)

# One query for the three splits (kind, method, country); the page passes the split as `by`.
SPLIT = Chart(
    "SELECT CASE WHEN is_recurring THEN 'recurring' ELSE 'one-time' END kind, "
    "coalesce(payment_method, 'unknown') method, coalesce(d.billing_country, 'unknown') country, "
    "sum(total_amount) amount, count(*) payments FROM counted_payments c "
    "LEFT JOIN payment_details d USING (payment_id) WHERE c.status = 'succeeded' AND currency = $currency "
    "AND product_ok(c.product_id, $products::VARCHAR[]) AND local_day BETWEEN $start AND $end GROUP BY ALL",
    PAYMENTS_BY,
    {"status": "succeeded"},
)
BY_PRODUCT = Chart(
    "SELECT coalesce(p.name, c.product_id, 'unknown (detail not fetched)') product, "
    "sum(total_amount) amount FROM counted_payments c LEFT JOIN products p USING (product_id) "
    "WHERE c.status = 'succeeded' AND c.currency = $currency "
    "AND product_ok(c.product_id, $products::VARCHAR[]) "
    "AND local_day BETWEEN $start AND $end GROUP BY 1 ORDER BY 2 DESC",
    PAYMENTS_BY,
    {"status": "succeeded", "by": "product"},
)


def fees_unknown(ledger: Any, currency: str) -> tuple[str, str] | None:
    """What the Fees card says instead of a figure, and why; None when the ledger gives the figure.
    "unavailable" only for a key the API refused the ledger (the last sync skipped it)."""
    if ledger["refused"] and not ledger["entries"]:
        return "unavailable", "The API key may not read the balance ledger: the last sync was refused it."
    if not ledger["entries"]:
        return "none yet", "The balance ledger has no entries yet."
    if not ledger["in_currency"]:
        return f"none in {currency}", f"The balance ledger has no entries in {currency}."
    return None
