"""The customer profile's queries: find a customer by e-mail, name or id, then everything about them:
totals per currency, MRR over time with each movement, and one timeline of their subscriptions,
payments, refunds and disputes. Every query takes the one customer ($customer)."""

from urllib.parse import quote

# an exact id first, then e-mails and names containing the text
MATCHES = """SELECT customer_id, name, email FROM customers
    WHERE customer_id = $query OR email ILIKE $pattern OR name ILIKE $pattern OR customer_id ILIKE $pattern
    ORDER BY customer_id = $query DESC, email, customer_id LIMIT 50"""
CUSTOMER = """SELECT c.customer_id, c.name, c.email, c.created_at,
    coalesce((SELECT d.billing_country FROM payments p JOIN payment_details d USING (payment_id)
              WHERE p.customer_id = $customer AND d.billing_country IS NOT NULL ORDER BY p.created_at DESC LIMIT 1),
             (SELECT billing_country FROM subscriptions WHERE customer_id = $customer AND billing_country IS NOT NULL
              ORDER BY created_at DESC LIMIT 1)) AS country
    FROM customers c WHERE c.customer_id = $customer"""
# per currency: revenue to date (succeeded payments that count), refunds, lost disputes, MRR now
TOTALS = """WITH paid AS (
        SELECT currency, count(*) AS payments, sum(total_amount) AS paid, min(created_at) AS first_payment,
               max(created_at) AS last_payment
        FROM counted_payments WHERE customer_id = $customer AND status = 'succeeded' GROUP BY ALL),
    refunded AS (
        SELECT r.currency, sum(r.amount) AS refunded FROM placed_refunds r JOIN payments p USING (payment_id)
        WHERE p.customer_id = $customer AND r.status = 'succeeded' GROUP BY ALL),
    lost AS (
        SELECT x.currency, sum(x.amount) AS lost FROM placed_disputes x JOIN payments p USING (payment_id)
        WHERE p.customer_id = $customer AND x.dispute_status = 'dispute_lost' GROUP BY ALL),
    mrr AS (SELECT currency, sum(mrr) AS mrr FROM subscription_mrr_now WHERE customer_id = $customer GROUP BY ALL)
    SELECT currency, coalesce(payments, 0) AS payments, coalesce(paid, 0) AS paid, coalesce(refunded, 0) AS refunded,
           coalesce(lost, 0) AS lost, coalesce(paid, 0) - coalesce(refunded, 0) - coalesce(lost, 0) AS net,
           coalesce(mrr, 0) AS mrr, first_payment, last_payment
    FROM paid FULL JOIN refunded USING (currency) FULL JOIN lost USING (currency) FULL JOIN mrr USING (currency)
    ORDER BY paid DESC NULLS LAST, currency"""
# MRR at each month's end (customer_mrr_at), the movements of each month (mrr_movements)
MRR = """SELECT t AS month_end, currency, mrr FROM customer_mrr_at WHERE customer_id = $customer ORDER BY currency, t"""
MOVEMENTS = """SELECT month, currency, movement, a AS mrr_before, b AS mrr_after FROM mrr_movements
    WHERE customer_id = $customer AND movement <> 'unchanged' ORDER BY month DESC, currency"""
TIMELINE = """SELECT * FROM (
    SELECT created_at AS occurred_at, 'payment' AS event, payment_id AS id, status, total_amount AS amount, currency,
           coalesce(charge_type, 'one-time') AS detail FROM payments WHERE customer_id = $customer
    UNION ALL
    SELECT r.created_at, 'refund', r.refund_id, r.status, r.amount, r.currency, r.reason
    FROM placed_refunds r JOIN payments p USING (payment_id) WHERE p.customer_id = $customer
    UNION ALL
    SELECT x.created_at, 'dispute', x.dispute_id, x.dispute_status, x.amount, x.currency, x.dispute_stage
    FROM placed_disputes x JOIN payments p USING (payment_id) WHERE p.customer_id = $customer
    UNION ALL
    SELECT created_at, 'subscription started', subscription_id, status, recurring_pre_tax_amount, currency, product_name
    FROM subscriptions WHERE customer_id = $customer
    UNION ALL
    SELECT cancelled_at, 'subscription cancelled', subscription_id, status, NULL, currency, product_name
    FROM subscriptions WHERE customer_id = $customer AND cancelled_at IS NOT NULL)
    ORDER BY occurred_at DESC, id LIMIT 1000"""


def link(customer_id: str) -> str:
    """The profile's address relative to any page of the app."""
    return f"customer?customer={quote(customer_id, safe='')}"
