"""The balance ledger as finance reads it: every entry with its category and the payout that settled
it, the balance by day, each payout's tie-out, and the month-end close (docs/metrics.md §10). Rebuilt
with the metric tables, from the same parameters.

A break (entries that do not add up to the ledger's own balances, a payout its entries do not cover)
is a column of the table, never a refused publish: the figures come from Dodo, and finance needs to
see the break, not an older warehouse."""

from .buckets import DAY_ENDED, MONTH_ENDED

# event type -> the close's column. Signed: credits add to the balance, debits take from it, so a
# month's opening balance plus its columns is its closing balance. Types not listed (adjustment,
# dodo_credits, currency_conversion, any new one) are adjustments.
CATEGORIES = {
    "payment": "payments",
    "tax": "tax",
    "payment_fees": "fees",
    "refund_fees": "fees",
    "refund_fees_reversal": "fees",
    "dispute_fees": "fees",
    "dispute_fees_reversal": "fees",
    "dunning_fees": "fees",
    "payment_retry_fee": "fees",
    "abandoned_cart_recovery_fee": "fees",
    "byop_fee": "fees",
    "refund": "refunds",
    "refund_reversal": "refunds",
    "tax_reversal": "tax_reversals",
    "dispute": "disputes",
    "dispute_reversal": "disputes",
    "payout": "payouts",
    "payout_fees": "payouts",
    "payout_reversal": "payouts",
    "payout_fees_reversal": "payouts",
}
COLUMNS = ("payments", "tax", "fees", "refunds", "tax_reversals", "disputes", "adjustments", "payouts")
# what a payout settles: everything but the payout's own entries
SETTLED = [c for c in COLUMNS if c != "payouts"]

_CATEGORY = (
    "CASE event_type "
    + " ".join(f"WHEN '{t}' THEN '{c}'" for t, c in CATEGORIES.items())
    + " ELSE 'adjustments' END"
)


def _sums(columns, value: str = "signed") -> str:
    return ", ".join(f"coalesce(sum({value}) FILTER (category = '{c}'), 0)::HUGEINT AS {c}" for c in columns)


STATEMENTS = [
    # Each entry, signed, with its category and payout. An entry names its payout when Dodo has set it
    # (payout_id); one read before its payout was made (old entries are not read again) gets the first
    # payout entry of its currency at or after it: a payout takes the whole available balance. The
    # payout tie-out checks that rule: an entry given the wrong payout shows as a difference.
    # `opens_instant` / `closes_instant`: entries booked at the same instant (a payment's three)
    # chain their balances; these mark the chain's first and last, so a day or month opens at the
    # first one's before-balance and closes at the last one's after-balance.
    f"""CREATE OR REPLACE TABLE ledger_lines AS
       WITH marks AS (
           SELECT reference_object_id AS payout_id, currency, created_at FROM ledger_entries WHERE event_type = 'payout')
       SELECT e.id AS entry_id, e.created_at, timezone($timezone, e.created_at)::DATE AS local_day, e.currency,
              e.event_type, {_CATEGORY} AS category, e.is_credit, e.amount,
              CASE WHEN e.is_credit THEN e.amount ELSE -e.amount END AS signed,
              CASE WHEN e.is_credit THEN e.usd_equivalent_amount ELSE -e.usd_equivalent_amount END AS usd_signed,
              e.before_balance, e.after_balance, e.reference_object_id, e.description,
              e.payout_id AS given_payout_id, coalesce(e.payout_id, m.payout_id) AS payout_id,
              NOT EXISTS (SELECT 1 FROM ledger_entries o WHERE o.currency = e.currency AND o.created_at = e.created_at
                          AND o.id <> e.id AND o.after_balance = e.before_balance) AS opens_instant,
              NOT EXISTS (SELECT 1 FROM ledger_entries o WHERE o.currency = e.currency AND o.created_at = e.created_at
                          AND o.id <> e.id AND o.before_balance = e.after_balance) AS closes_instant
       FROM ledger_entries e ASOF LEFT JOIN marks m ON e.currency = m.currency AND e.created_at <= m.created_at""",
    # the balance per currency and local day, as the ledger states it
    f"""CREATE OR REPLACE TABLE balance_daily AS
       SELECT *, {DAY_ENDED} AS is_complete FROM (
       SELECT local_day AS day, currency,
              arg_min(before_balance, (created_at, NOT opens_instant)) AS opening_balance,
              arg_max(after_balance, (created_at, closes_instant)) AS closing_balance,
              sum(signed)::HUGEINT AS net_change, count(*) AS entries
       FROM ledger_lines GROUP BY ALL) ORDER BY day, currency""",
    # Each payout with the entries it settles, summed by category; `difference` is what the entries
    # leave unexplained (settled - amount - fee), zero when the payout ties out. The amount and fee
    # are the payout list's; without it (a key refused /payouts), the ledger's payout entries.
    f"""CREATE OR REPLACE TABLE payout_tieout AS
       WITH marks AS (
           SELECT reference_object_id AS payout_id, any_value(currency) AS currency, min(created_at) AS created_at,
                  sum(-signed) FILTER (event_type = 'payout') AS amount, sum(-signed) FILTER (event_type = 'payout_fees') AS fee,
                  sum(-usd_signed) FILTER (event_type = 'payout') AS amount_usd
           FROM ledger_lines WHERE category = 'payouts' GROUP BY ALL),
       settled AS (
           SELECT payout_id, count(*) AS entries, {_sums(SETTLED)},
                  sum(signed)::HUGEINT AS settled, min(created_at) AS first_entry_at, max(created_at) AS last_entry_at
           FROM ledger_lines WHERE category <> 'payouts' AND payout_id IS NOT NULL GROUP BY ALL)
       SELECT payout_id, coalesce(p.created_at, m.created_at) AS created_at, coalesce(p.currency, m.currency) AS currency,
              p.status, coalesce(p.amount, m.amount)::HUGEINT AS amount, coalesce(p.fee, m.fee, 0)::HUGEINT AS fee,
              m.amount_usd::HUGEINT AS amount_usd, coalesce(s.entries, 0) AS entries,
              {", ".join(f"coalesce(s.{c}, 0)::HUGEINT AS {c}" for c in SETTLED)},
              coalesce(s.settled, 0)::HUGEINT AS settled, s.first_entry_at, s.last_entry_at,
              (coalesce(s.settled, 0) - coalesce(p.amount, m.amount) - coalesce(p.fee, m.fee, 0))::HUGEINT AS difference
       FROM payouts p FULL JOIN marks m USING (payout_id) LEFT JOIN settled s USING (payout_id)
       ORDER BY created_at, payout_id""",
    # The month-end close per currency and local month, from the first month with an entry to now's:
    # opening + the columns = closing, where opening and closing are the ledger's own balances.
    # `break` is what the entries leave unexplained from the month before's closing balance (or, in
    # the first month, the opening one): zero when the ledger is whole, the missing amount in the month
    # it is missing from otherwise. A month without entries carries the balance over.
    f"""CREATE OR REPLACE TABLE month_end_close AS
       WITH moved AS (
           SELECT date_trunc('month', local_day)::DATE AS month, currency, count(*) AS entries,
                  arg_min(before_balance, (created_at, NOT opens_instant)) AS opening,
                  arg_max(after_balance, (created_at, closes_instant)) AS closing,
                  {_sums(COLUMNS)}
           FROM ledger_lines GROUP BY ALL),
       months AS (
           SELECT currency, unnest(generate_series(min(month),
                  date_trunc('month', timezone($timezone, $data_through::TIMESTAMPTZ))::DATE, INTERVAL 1 MONTH))::DATE AS month
           FROM moved GROUP BY currency),
       grid AS (
           SELECT month, currency, coalesce(entries, 0) AS entries,
                  coalesce(opening, last_value(closing IGNORE NULLS) OVER before) AS opening_balance,
                  {", ".join(f"coalesce({c}, 0)::HUGEINT AS {c}" for c in COLUMNS)},
                  coalesce(closing, last_value(closing IGNORE NULLS) OVER upto) AS closing_balance
           FROM months LEFT JOIN moved USING (month, currency)
           WINDOW before AS (PARTITION BY currency ORDER BY month ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                  upto AS (PARTITION BY currency ORDER BY month ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
       SELECT *, (closing_balance - coalesce(lag(closing_balance) OVER (PARTITION BY currency ORDER BY month),
                                             opening_balance) - ({" + ".join(COLUMNS)}))::HUGEINT AS break,
              {MONTH_ENDED} AS is_complete
       FROM grid ORDER BY currency, month""",
    # the same columns over every currency, in US dollars at Dodo's rate (each entry's
    # usd_equivalent_amount): the one place currencies are added up, and never at a rate of ours
    f"""CREATE OR REPLACE TABLE month_end_close_usd AS
       SELECT *, {MONTH_ENDED} AS is_complete FROM (
       SELECT date_trunc('month', local_day)::DATE AS month, {_sums(COLUMNS, "usd_signed")},
              sum(usd_signed)::HUGEINT AS net_change, count(usd_signed) AS entries
       FROM ledger_lines GROUP BY ALL) ORDER BY month""",
]
