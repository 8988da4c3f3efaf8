"""The Payouts & balance page's queries: the balance by day as the ledger states it, the payouts with
their tie-out, the month-end close, and the ledger entries (with their payments) behind a clicked
payout. Tables of etl/balances.py; docs/metrics.md §10."""

from reports.query import Chart

BALANCE = """SELECT day, closing_balance AS balance, is_complete FROM balance_daily
    WHERE currency = $currency AND day BETWEEN $start AND $end ORDER BY day"""
# a payout's day keys its bar: one payout per currency and day at most (Dodo pays out on a schedule)
PAYOUT_ROWS = """SELECT timezone($timezone, created_at)::DATE AS day, payout_id, created_at, status, amount, fee,
    entries, settled, difference FROM payout_tieout
    WHERE currency = $currency AND timezone($timezone, created_at)::DATE BETWEEN $start AND $end ORDER BY created_at"""
ENTRIES = """SELECT l.entry_id, l.payout_id, l.created_at, l.event_type, l.signed AS amount, l.reference_object_id,
    p.status AS payment_status, p.total_amount, p.customer_email
    FROM ledger_lines l JOIN payout_tieout t USING (payout_id)
    LEFT JOIN payments p ON p.payment_id = l.reference_object_id
    WHERE t.currency = $currency AND l.category <> 'payouts'
    AND timezone($timezone, t.created_at)::DATE IN (SELECT unnest($picked::DATE[]))
    ORDER BY l.payout_id, l.created_at, l.entry_id LIMIT 5000"""
PAYOUTS = Chart(PAYOUT_ROWS, ENTRIES)
# every currency's payouts of the period in US dollars at Dodo's rate (the ledger's usd_equivalent_amount)
PAID_OUT_USD = """SELECT coalesce(sum(amount_usd), 0) AS usd, count(*) AS payouts,
    count(*) FILTER (difference <> 0) AS not_tying FROM payout_tieout
    WHERE timezone($timezone, created_at)::DATE BETWEEN $start AND $end"""
CLOSE = """SELECT month, opening_balance, payments, tax, fees, refunds, tax_reversals, disputes, adjustments,
    payouts, closing_balance, break, is_complete FROM month_end_close
    WHERE currency = $currency AND month BETWEEN date_trunc('month', $start::DATE) AND $end ORDER BY month"""
# every month and currency whose close does not tie to the ledger's own balances
BREAKS = """SELECT strftime(month, '%Y-%m') AS month, currency, break FROM month_end_close WHERE break <> 0
    ORDER BY month, currency"""
