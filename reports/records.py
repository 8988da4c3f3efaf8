"""The Records page's queries: the records behind the numbers, searched by id, email or name ($search,
a LIKE pattern), at most 5,000 of them (the Exports page writes the whole set)."""

KINDS = ("Payments", "Subscriptions", "Customers")
STATUSES = ("succeeded", "failed", "processing", "cancelled")

PAYMENTS = (
    "SELECT total_amount, payment_id, created_at, status, currency, customer_email, customer_id, subscription_id, "
    "charge_type, error_code, payment_method FROM counted_payments WHERE currency = $currency "
    "AND product_ok(product_id, $products::VARCHAR[]) AND local_day BETWEEN $start AND $end "
    "AND (len($statuses::VARCHAR[]) = 0 OR list_contains($statuses::VARCHAR[], status)) "
    "AND (payment_id ILIKE $search OR customer_email ILIKE $search OR customer_name ILIKE $search) "
    "ORDER BY created_at DESC LIMIT 5000"
)
SUBSCRIPTIONS = (
    "SELECT n.mrr, s.recurring_pre_tax_amount, s.subscription_id, s.created_at, s.status, s.customer_email, "
    "s.customer_id, s.product_name, s.cancel_at_next_billing_date, s.next_billing_date "
    "FROM subscriptions s "
    "LEFT JOIN subscription_mrr_now n USING (subscription_id) WHERE s.currency = $currency "
    "AND product_ok(s.product_id, $products::VARCHAR[]) "
    "AND (s.subscription_id ILIKE $search OR s.customer_email ILIKE $search) "
    "ORDER BY s.created_at DESC LIMIT 5000"
)
CUSTOMERS = (
    "SELECT customer_id, created_at, name, email FROM customers WHERE customer_id ILIKE $search "
    "OR email ILIKE $search OR name ILIKE $search ORDER BY created_at DESC LIMIT 5000"
)


def pattern(search: str) -> str:
    """The LIKE pattern of a search: the text anywhere (its % and _ still match as LIKE's wildcards)."""
    return f"%{search}%"
