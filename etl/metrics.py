"""The metric contract of docs/metrics.md as warehouse tables, rebuilt at every publish, and the tie-out
check that refuses to publish numbers that do not add up.

Tables rather than views: MRR history is rebuilt from every succeeded payment, which is too much to
redo on each dashboard query over a million payments; rebuilt once per sync it costs seconds. Every
statement runs in the sync's UTC session; the business time zone only buckets results.
"""

import math
import re

import duckdb

from core.errors import MetricsError, TieOutError

from . import balances
from .buckets import DAY_ENDED, MONTH_ENDED
from .declines import HARD, SOFT
from .payment_details import MAY_UPDATE_CARD

# A failed commit of the working copy reads as a TransactionException; its text says the disk is why.
WRITE_FAILED = re.compile(r"could not write|no space|file too large|disk", re.IGNORECASE)

# Money stays integer minor units, summed as HUGEINT (two valid int64 payments overflow a BIGINT);
# MRR is DOUBLE minor units, unrounded (rounded only at display).
STATEMENTS = [
    # -- parameters --------------------------------------------------------------------------------
    """CREATE OR REPLACE TABLE metric_settings AS
       SELECT $timezone::VARCHAR AS timezone, $grace_days::INTEGER AS grace_days,
              $recovery_days::INTEGER AS recovery_days, $data_through::TIMESTAMPTZ AS data_through""",
    # payments that count: not card updates, not zero-amount (METRICS "Excluded payments")
    # The tax is known from the payment's detail, or else from the ledger's entries for it (in the
    # payment's own currency: its tax entry, or none beside its payment entry, a zero tax); a payment
    # with neither detail nor entries has an unknown tax, never a zero one.
    f"""CREATE OR REPLACE TABLE counted_payments AS
       WITH ledger_tax AS (  -- a payment the ledger booked without a tax entry had no tax
           SELECT reference_object_id AS payment_id, currency,
                  coalesce(sum(amount) FILTER (event_type = 'tax' AND NOT is_credit), 0) AS tax
           FROM ledger_entries WHERE event_type IN ('payment', 'tax') GROUP BY ALL)
       SELECT p.* EXCLUDE (raw), coalesce(d.tax, t.tax) AS tax, d.error_code, d.payment_id IS NOT NULL AS enriched,
              -- recurring: for a subscription, or for several at once (subscription_id null, the list set)
              p.subscription_id IS NOT NULL OR len(p.subscription_ids) > 0 AS is_recurring,
              -- counted until its detail says whether it only updated a card (docs/metrics.md §1.1)
              d.payment_id IS NULL AND {MAY_UPDATE_CARD} AS provisional,
              timezone($timezone, p.created_at)::DATE AS local_day,
              -- the product: the subscription's plan, or for a one-time payment its detail's (when fetched)
              coalesce(s.product_id, d.product_id) AS product_id,
              -- why a failed payment failed: its decline code, or whether its detail said none or is unread
              CASE WHEN p.status = 'failed' THEN coalesce(d.error_code, CASE WHEN d.payment_id IS NULL
                   THEN 'unknown' ELSE 'no reason given' END) END AS failure_reason
       FROM payments p LEFT JOIN payment_details d USING (payment_id)
       LEFT JOIN ledger_tax t ON t.payment_id = p.payment_id AND t.currency = p.currency
       LEFT JOIN subscriptions s ON s.subscription_id = p.subscription_id
       WHERE p.total_amount <> 0 AND NOT coalesce(d.is_update_payment_method, false)""",
    # A refund or dispute sent without a currency takes its payment's; with neither it cannot be placed
    # in any money table and is listed in unplaced_records (the sync copies them to rejected_records).
    # A subscription whose cycle is not a positive count of days, weeks, months or years has no
    # monthly value: its payments count as revenue, never as MRR.
    """CREATE OR REPLACE TABLE placed_refunds AS
       SELECT r.refund_id, r.payment_id, r.created_at, r.status, r.amount, r.reason, r.is_partial,
              coalesce(r.currency, p.currency) AS currency
       FROM refunds r LEFT JOIN payments p USING (payment_id) WHERE coalesce(r.currency, p.currency) IS NOT NULL""",
    """CREATE OR REPLACE TABLE placed_disputes AS
       SELECT x.dispute_id, x.payment_id, x.created_at, x.amount, x.dispute_stage, x.dispute_status,
              coalesce(x.currency, p.currency) AS currency
       FROM disputes x LEFT JOIN payments p USING (payment_id) WHERE coalesce(x.currency, p.currency) IS NOT NULL""",
    """CREATE OR REPLACE TABLE unplaced_records AS
       SELECT 'refunds' AS resource, refund_id AS record_id,
              'no currency, and neither has its payment ' || payment_id || ' in the warehouse: '
              || 'left out of the money tables' AS reason
       FROM refunds r WHERE currency IS NULL AND refund_id NOT IN (SELECT refund_id FROM placed_refunds)
       UNION ALL
       SELECT 'disputes', dispute_id, 'no currency, and neither has its payment ' || payment_id
              || ' in the warehouse: left out of the money tables'
       FROM disputes WHERE currency IS NULL AND dispute_id NOT IN (SELECT dispute_id FROM placed_disputes)
       UNION ALL
       SELECT 'subscriptions', subscription_id, 'billed every ' || coalesce(payment_frequency_count::VARCHAR, '?')
              || ' ' || coalesce(payment_frequency_interval, '?') || ', which has no monthly value: '
              || 'its payments count as revenue, not as MRR'
       FROM subscriptions
       WHERE NOT coalesce(payment_frequency_count > 0 AND payment_frequency_interval IN ('Day', 'Week', 'Month', 'Year'),
                          false)""",
    # -- revenue -----------------------------------------------------------------------------------
    # by product first, for the dashboard's product filter (refunds and disputes take their payment's);
    # the whole-business tables are its sums, so the two can never disagree
    """CREATE OR REPLACE TABLE revenue_daily_by_product AS
       WITH gross AS (
           SELECT local_day AS day, currency, product_id, sum(total_amount) AS gross_volume,
                  count(*) AS succeeded_payments, sum(tax) AS tax, count(tax) AS tax_known_payments
           FROM counted_payments WHERE status = 'succeeded' GROUP BY ALL),
       refunds AS (
           SELECT timezone($timezone, r.created_at)::DATE AS day, r.currency, c.product_id, sum(r.amount) AS refunds
           FROM placed_refunds r LEFT JOIN counted_payments c USING (payment_id) WHERE r.status = 'succeeded'
           GROUP BY ALL),
       lost AS (
           SELECT timezone($timezone, x.created_at)::DATE AS day, x.currency, c.product_id, sum(x.amount) AS disputes_lost
           FROM placed_disputes x LEFT JOIN counted_payments c USING (payment_id)
           WHERE x.dispute_status = 'dispute_lost' GROUP BY ALL)
       SELECT day, currency, product_id, coalesce(gross_volume, 0)::HUGEINT AS gross_volume,
              coalesce(succeeded_payments, 0)::BIGINT AS succeeded_payments, coalesce(refunds, 0)::HUGEINT AS refunds,
              coalesce(disputes_lost, 0)::HUGEINT AS disputes_lost,
              (coalesce(gross_volume, 0) - coalesce(refunds, 0) - coalesce(disputes_lost, 0))::HUGEINT AS net_volume,
              tax::HUGEINT AS tax, coalesce(tax_known_payments, 0)::BIGINT AS tax_known_payments
       FROM gross FULL JOIN refunds USING (day, currency, product_id) FULL JOIN lost USING (day, currency, product_id)""",
    f"""CREATE OR REPLACE TABLE revenue_daily AS
       SELECT day, currency, sum(gross_volume)::HUGEINT AS gross_volume,
              sum(succeeded_payments)::BIGINT AS succeeded_payments, sum(refunds)::HUGEINT AS refunds,
              sum(disputes_lost)::HUGEINT AS disputes_lost, sum(net_volume)::HUGEINT AS net_volume,
              sum(tax)::HUGEINT AS tax, sum(tax_known_payments)::BIGINT AS tax_known_payments,
              -- a bucket still running at now is partial (docs/metrics.md §1)
              {DAY_ENDED} AS is_complete
       FROM revenue_daily_by_product GROUP BY ALL ORDER BY day, currency""",
    # fees from the balance ledger (payment, refund and dispute fees net of their reversals), by the
    # entry's day; empty when the key may not read the ledger, which the dashboard shows as unavailable
    f"""CREATE OR REPLACE TABLE fees_daily AS
       SELECT *, {DAY_ENDED} AS is_complete FROM (
       SELECT timezone($timezone, created_at)::DATE AS day, currency,
              sum(amount) FILTER (event_type IN ('payment_fees', 'refund_fees', 'dispute_fees'))::HUGEINT AS fees,
              coalesce(sum(amount) FILTER (event_type IN ('refund_fees_reversal', 'dispute_fees_reversal')), 0)::HUGEINT
                  AS fee_reversals
       FROM ledger_entries
       WHERE event_type IN ('payment_fees', 'refund_fees', 'dispute_fees', 'refund_fees_reversal', 'dispute_fees_reversal')
       GROUP BY ALL) ORDER BY day, currency""",
    # -- payment outcomes and failures ------------------------------------------------------------
    """CREATE OR REPLACE TABLE payment_outcomes_daily_by_product AS
       SELECT local_day AS day, currency, product_id,
              count(*) FILTER (status = 'succeeded') AS succeeded, count(*) FILTER (status = 'failed') AS failed,
              count(*) FILTER (status IS DISTINCT FROM 'succeeded' AND status IS DISTINCT FROM 'failed') AS other,
              count(*) FILTER (status = 'succeeded' AND subscription_id IS NOT NULL) AS renewal_succeeded,
              count(*) FILTER (status = 'failed' AND subscription_id IS NOT NULL) AS renewal_failed
       FROM counted_payments GROUP BY ALL""",
    f"""CREATE OR REPLACE TABLE payment_outcomes_daily AS
       SELECT day, currency, sum(succeeded)::BIGINT AS succeeded, sum(failed)::BIGINT AS failed,
              sum(other)::BIGINT AS other,
              -- NULL, not 0, for a day without a final payment
              sum(succeeded) / nullif(sum(succeeded) + sum(failed), 0) AS success_rate,
              sum(failed) / nullif(sum(succeeded) + sum(failed), 0) AS failure_rate,
              sum(renewal_succeeded)::BIGINT AS renewal_succeeded, sum(renewal_failed)::BIGINT AS renewal_failed,
              sum(renewal_failed) / nullif(sum(renewal_succeeded) + sum(renewal_failed), 0) AS renewal_failure_rate,
              {DAY_ENDED} AS is_complete
       FROM payment_outcomes_daily_by_product GROUP BY ALL ORDER BY day, currency""",
    f"""CREATE OR REPLACE TABLE failures_by_reason AS
       SELECT date_trunc('month', local_day)::DATE AS month, failure_reason AS error_code,
              CASE WHEN error_code IS NULL THEN failure_reason
                   WHEN error_code IN (SELECT unnest($hard)) THEN 'hard'
                   WHEN error_code IN (SELECT unnest($soft)) THEN 'soft' ELSE 'unclassified' END AS decline_type,
              count(*) AS failed, sum(total_amount)::HUGEINT AS amount, currency,
              {MONTH_ENDED} AS is_complete
       FROM counted_payments WHERE status = 'failed' GROUP BY ALL ORDER BY month, failed DESC""",
    # -- MRR: paid periods, segments, value intervals -----------------------------------------------
    # One row per (payment, subscription) it pays for. The period is the payment's service period
    # for that subscription when the API gives one, else [created_at, created_at + cycle). A renewal
    # whose service periods are given but name none for the subscription bills usage only: no period.
    """CREATE OR REPLACE TABLE paid_periods AS
       WITH pay AS (
           SELECT payment_id, created_at, total_amount, tax, currency, charge_type,
                  CASE WHEN len(subscription_ids) > 0 THEN subscription_ids ELSE [subscription_id] END AS subs,
                  CASE WHEN json_type(service_periods) = 'ARRAY' THEN from_json(service_periods,
                       '[{"subscription_id":"VARCHAR","starts_at":"TIMESTAMPTZ","ends_at":"TIMESTAMPTZ","proration_factor":"VARCHAR"}]')
                  END AS periods
           FROM counted_payments
           WHERE status = 'succeeded' AND (subscription_id IS NOT NULL OR len(subscription_ids) > 0)),
       per_sub AS (
           SELECT pay.*, unnest(subs) AS subscription_id FROM pay),
       joined AS (
           SELECT ps.*, s.customer_id, s.recurring_pre_tax_amount AS rpta, s.payment_frequency_interval AS unit,
                  s.payment_frequency_count AS n,
                  list_filter(ps.periods, lambda x: x.subscription_id = ps.subscription_id)[1] AS sp,
                  sum(s.recurring_pre_tax_amount) OVER (PARTITION BY ps.payment_id) AS rpta_all,
                  count(*) OVER (PARTITION BY ps.payment_id) AS sub_count
           FROM per_sub ps JOIN subscriptions s USING (subscription_id)
           WHERE NOT coalesce(s.on_demand, false)
             AND subscription_id NOT IN (SELECT record_id FROM unplaced_records WHERE resource = 'subscriptions'))
       SELECT payment_id, subscription_id, customer_id, currency, created_at,
              coalesce(sp.starts_at, created_at) AS starts_at,
              coalesce(sp.ends_at, timezone('UTC', timezone('UTC', created_at) + CASE unit
                  WHEN 'Day' THEN to_days(n) WHEN 'Week' THEN to_days(7 * n)
                  WHEN 'Month' THEN to_months(n) ELSE to_months(12 * n) END)) AS ends_at,
              CASE WHEN sp.proration_factor IS NOT NULL AND TRY_CAST(sp.proration_factor AS DOUBLE) < 1
                       THEN rpta  -- a prorated charge says little about the new monthly price
                   WHEN tax IS NOT NULL AND sub_count = 1 THEN total_amount - tax
                   WHEN tax IS NOT NULL THEN (total_amount - tax) * rpta / nullif(rpta_all, 0)
                   ELSE rpta END::DOUBLE AS pre_tax,
              CASE WHEN sp.proration_factor IS NOT NULL AND TRY_CAST(sp.proration_factor AS DOUBLE) < 1
                       THEN 'recurring_pre_tax_amount'
                   WHEN tax IS NOT NULL THEN 'total_minus_tax' ELSE 'recurring_pre_tax_amount' END AS amount_source,
              n * CASE unit WHEN 'Day' THEN 12 / 365 WHEN 'Week' THEN 12 / 52 WHEN 'Month' THEN 1 ELSE 12 END
                  AS months_per_cycle
       FROM joined
       WHERE NOT (periods IS NOT NULL AND sp IS NULL AND charge_type = 'renewal')""",
    # Consecutive periods join while the next payment comes within grace_days of the previous end.
    """CREATE OR REPLACE TABLE subscription_mrr_segments AS
       WITH ordered AS (
           SELECT *, pre_tax / months_per_cycle AS monthly_value,
                  max(ends_at) OVER (PARTITION BY subscription_id ORDER BY starts_at, created_at, payment_id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
           FROM paid_periods),
       flagged AS (
           SELECT *, sum(CASE WHEN prev_end IS NULL OR created_at > prev_end + to_days($grace_days)
                              THEN 1 ELSE 0 END)
                     OVER (PARTITION BY subscription_id ORDER BY starts_at, created_at, payment_id) AS segment_no
           FROM ordered),
       segments AS (
           SELECT subscription_id, segment_no, any_value(customer_id) AS customer_id, any_value(currency) AS currency,
                  min(starts_at) AS segment_start, max(ends_at) AS last_period_end, count(*) AS payments,
                  arg_max(monthly_value, (created_at, payment_id)) AS latest_monthly_value
           FROM flagged GROUP BY subscription_id, segment_no)
       SELECT g.subscription_id, g.customer_id, g.currency, g.segment_no, g.segment_start,
              CASE WHEN s.status IN ('active', 'on_hold', 'pending')
                        AND g.last_period_end > $data_through::TIMESTAMPTZ - to_days($grace_days)
                        AND g.segment_no = max(g.segment_no) OVER (PARTITION BY g.subscription_id)
                   THEN NULL ELSE g.last_period_end END AS segment_end,
              g.last_period_end, g.payments, g.latest_monthly_value, s.status AS subscription_status
       FROM segments g JOIN subscriptions s USING (subscription_id)""",
    # Within a segment, each payment's monthly value holds from its creation to the next payment's.
    """CREATE OR REPLACE TABLE mrr_intervals AS
       WITH f AS (
           SELECT p.subscription_id, p.customer_id, p.currency, p.payment_id, p.created_at,
                  p.pre_tax / p.months_per_cycle AS monthly_value, g.segment_start,
                  coalesce(g.segment_end, 'infinity'::TIMESTAMPTZ) AS segment_end
           FROM paid_periods p
           JOIN subscription_mrr_segments g ON g.subscription_id = p.subscription_id
                AND p.starts_at >= g.segment_start AND p.starts_at < g.last_period_end)
       SELECT subscription_id, customer_id, currency, monthly_value,
              greatest(created_at, segment_start) AS valid_from,
              least(coalesce(lead(created_at) OVER (PARTITION BY subscription_id, segment_start
                                                    ORDER BY created_at, payment_id), segment_end),
                    segment_end) AS valid_to
       FROM f""",
    # -- MRR per month and its movements -----------------------------------------------------------
    f"""CREATE OR REPLACE TABLE mrr_boundaries AS
       WITH bounds AS (
           SELECT date_trunc('month', timezone($timezone, min(valid_from)))::DATE AS first_month,
                  date_trunc('month', timezone($timezone, $data_through::TIMESTAMPTZ))::DATE AS last_month
           FROM mrr_intervals WHERE monthly_value > 0)
       SELECT month, t0, t1, timezone($timezone, timezone($timezone, t1) - INTERVAL 12 MONTH) AS t1_year_before,
              {MONTH_ENDED} AS is_complete
       FROM (SELECT m::DATE AS month, timezone($timezone, m::TIMESTAMP) AS t0,
                    least(timezone($timezone, (m + INTERVAL 1 MONTH)::TIMESTAMP), $data_through::TIMESTAMPTZ) AS t1
             FROM bounds, generate_series(first_month::TIMESTAMP, last_month::TIMESTAMP, INTERVAL 1 MONTH) AS g(m))""",
    """CREATE OR REPLACE TABLE customer_mrr_at AS
       WITH instants AS (SELECT DISTINCT t FROM (SELECT t0 AS t FROM mrr_boundaries UNION SELECT t1 FROM mrr_boundaries
                                                 UNION SELECT t1_year_before FROM mrr_boundaries))
       SELECT i.t, v.customer_id, v.currency, sum(v.monthly_value) AS mrr
       FROM instants i JOIN mrr_intervals v ON v.valid_from <= i.t AND i.t < v.valid_to
       GROUP BY ALL HAVING sum(v.monthly_value) > 0""",
    # A customer's cohort is the month their MRR first became > 0, with their MRR at that instant.
    """CREATE OR REPLACE TABLE customer_cohorts AS
       WITH first AS (
           SELECT customer_id, currency, min(valid_from) AS first_at FROM mrr_intervals WHERE monthly_value > 0
           GROUP BY ALL)
       SELECT f.customer_id, f.currency, date_trunc('month', timezone($timezone, f.first_at))::DATE AS cohort,
              f.first_at, sum(v.monthly_value) AS starting_mrr
       FROM first f JOIN mrr_intervals v ON v.customer_id = f.customer_id AND v.currency = f.currency
            AND v.valid_from <= f.first_at AND f.first_at < v.valid_to
       GROUP BY ALL""",
    """CREATE OR REPLACE TABLE mrr_movements AS
       WITH pairs AS (
           SELECT b.month, k.customer_id, k.currency, coalesce(a.mrr, 0) AS a, coalesce(z.mrr, 0) AS b
           FROM mrr_boundaries b
           JOIN (SELECT DISTINCT customer_id, currency FROM customer_mrr_at) k ON true
           LEFT JOIN customer_mrr_at a ON a.t = b.t0 AND a.customer_id = k.customer_id AND a.currency = k.currency
           LEFT JOIN customer_mrr_at z ON z.t = b.t1 AND z.customer_id = k.customer_id AND z.currency = k.currency
           WHERE a.mrr IS NOT NULL OR z.mrr IS NOT NULL)
       SELECT p.*, CASE
                  WHEN a = 0 AND b > 0 AND f.first_at < b.t0 THEN 'reactivation'
                  WHEN a = 0 AND b > 0 THEN 'new'
                  WHEN a > 0 AND b = 0 THEN 'churn'
                  WHEN a < b THEN 'expansion' WHEN b < a THEN 'contraction' ELSE 'unchanged' END AS movement
       FROM pairs p JOIN mrr_boundaries b USING (month) JOIN customer_cohorts f USING (customer_id, currency)""",
    """CREATE OR REPLACE TABLE mrr_monthly AS
       WITH currencies AS (
           SELECT currency, min(month) AS first_month FROM mrr_movements WHERE b > 0 OR a > 0 GROUP BY ALL),
       grid AS (
           SELECT b.month, b.is_complete, c.currency FROM mrr_boundaries b JOIN currencies c ON b.month >= c.first_month)
       SELECT g.month, g.currency,
              coalesce(sum(m.a), 0)::DOUBLE AS mrr_start,
              coalesce(sum(m.b) FILTER (movement = 'new'), 0)::DOUBLE AS new,
              coalesce(sum(m.b) FILTER (movement = 'reactivation'), 0)::DOUBLE AS reactivation,
              coalesce(sum(m.b - m.a) FILTER (movement = 'expansion'), 0)::DOUBLE AS expansion,
              coalesce(sum(m.a - m.b) FILTER (movement = 'contraction'), 0)::DOUBLE AS contraction,
              coalesce(sum(m.a) FILTER (movement = 'churn'), 0)::DOUBLE AS churn,
              coalesce(sum(m.b), 0)::DOUBLE AS mrr_end,
              count(*) FILTER (m.a > 0) AS customers_start,
              count(*) FILTER (m.b > 0) AS customers_end,
              count(*) FILTER (movement = 'churn') AS churned_customers,
              g.is_complete
       FROM grid g LEFT JOIN mrr_movements m USING (month, currency)
       GROUP BY ALL ORDER BY g.currency, g.month""",
    # churn, retention, ARPA and LTV per month (docs/metrics.md §4). NRR and GRR are of the customers
    # paying at t0 only: new and reactivated MRR never count as retention.
    """CREATE OR REPLACE TABLE churn_monthly AS
       WITH m AS (
           SELECT *, churned_customers / nullif(customers_start, 0) AS customer_churn_rate,
                  (churn + contraction) / nullif(mrr_start, 0) AS gross_mrr_churn_rate,
                  (churn + contraction - expansion - reactivation) / nullif(mrr_start, 0) AS net_mrr_churn_rate,
                  mrr_end / nullif(customers_end, 0) AS arpa
           FROM mrr_monthly),
       year_on AS (  -- the customers paying a year before each month's end, then and now
           SELECT b.month, y.currency, sum(y.mrr) AS mrr_year_before, coalesce(sum(n.mrr), 0) AS mrr_now
           FROM mrr_boundaries b JOIN customer_mrr_at y ON y.t = b.t1_year_before
           LEFT JOIN customer_mrr_at n ON n.t = b.t1 AND n.customer_id = y.customer_id AND n.currency = y.currency
           GROUP BY ALL),
       -- the churn rates of the months before, skipping months without paying customers at t0
       past AS (
           SELECT *, list(customer_churn_rate) FILTER (customer_churn_rate IS NOT NULL)
                         OVER (PARTITION BY currency ORDER BY month
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)[-3:] AS last_rates
           FROM m)
       SELECT month, currency, customers_start, customers_end, churned_customers, customer_churn_rate,
              gross_mrr_churn_rate, net_mrr_churn_rate,
              (mrr_start + expansion - contraction - churn) / nullif(mrr_start, 0) AS nrr,
              (mrr_start - contraction - churn) / nullif(mrr_start, 0) AS grr,
              y.mrr_now / nullif(y.mrr_year_before, 0) AS nrr_12m,
              mrr_end AS mrr, 12 * mrr_end AS arr, arpa,
              -- LTV = ARPA / mean customer churn rate of the last 3 complete months; NULL ("n/a") when 0
              arpa / nullif(list_avg(last_rates), 0) AS ltv, coalesce(len(last_rates), 0) AS ltv_months,
              is_complete
       FROM past LEFT JOIN year_on y USING (month, currency) ORDER BY currency, month""",
    # cohorts (docs/metrics.md §4): month 0 is the end of the cohort's own month, so it can be below 1
    """CREATE OR REPLACE TABLE cohort_retention AS
       WITH sizes AS (
           SELECT cohort, currency, count(*) AS cohort_size, sum(starting_mrr) AS cohort_mrr
           FROM customer_cohorts GROUP BY ALL)
       SELECT c.cohort, c.currency, datediff('month', c.cohort, b.month) AS months_since, b.month,
              count(m.customer_id) AS customers, any_value(s.cohort_size) AS cohort_size,
              count(m.customer_id) / any_value(s.cohort_size) AS logo_retention,
              coalesce(sum(m.mrr), 0) AS mrr, any_value(s.cohort_mrr) AS cohort_mrr,
              coalesce(sum(m.mrr), 0) / any_value(s.cohort_mrr) AS revenue_retention,
              any_value(b.is_complete) AS is_complete
       FROM customer_cohorts c JOIN mrr_boundaries b ON b.month >= c.cohort
       JOIN sizes s ON s.cohort = c.cohort AND s.currency = c.currency
       LEFT JOIN customer_mrr_at m ON m.t = b.t1 AND m.customer_id = c.customer_id AND m.currency = c.currency
       GROUP BY ALL ORDER BY c.currency, c.cohort, months_since""",
    # current MRR per subscription, and the at-risk / scheduled-churn shares of it
    """CREATE OR REPLACE TABLE subscription_mrr_now AS
       SELECT v.subscription_id, v.customer_id, v.currency, v.monthly_value AS mrr, s.status,
              s.cancel_at_next_billing_date
       FROM mrr_intervals v JOIN subscriptions s USING (subscription_id)
       WHERE v.valid_from <= $data_through::TIMESTAMPTZ AND $data_through::TIMESTAMPTZ < v.valid_to""",
    """CREATE OR REPLACE TABLE mrr_at_risk AS
       SELECT currency, sum(mrr) AS mrr,
              coalesce(sum(mrr) FILTER (status = 'on_hold'), 0) AS at_risk_mrr,
              count(*) FILTER (status = 'on_hold') AS at_risk_subscriptions,
              coalesce(sum(mrr) FILTER (cancel_at_next_billing_date), 0) AS scheduled_churn_mrr,
              count(*) FILTER (cancel_at_next_billing_date) AS scheduled_churn_subscriptions
       FROM subscription_mrr_now GROUP BY ALL ORDER BY currency""",
    # Voluntary vs involuntary churn, per subscription: each subscription paying at t0 of a churned
    # customer churns with its own MRR, involuntarily when one of its payments failed after its last
    # success before the month's end (a later reactivation does not turn dunning into a choice).
    """CREATE OR REPLACE TABLE churned_subscriptions AS
       WITH churned AS (
           SELECT m.month, m.customer_id, m.currency, b.t0, b.t1
           FROM mrr_movements m JOIN mrr_boundaries b USING (month) WHERE m.movement = 'churn'),
       subs AS (
           SELECT c.month, c.customer_id, c.currency, v.subscription_id, any_value(c.t1) AS t1,
                  sum(v.monthly_value) AS churn
           FROM churned c JOIN mrr_intervals v ON v.customer_id = c.customer_id AND v.currency = c.currency
                AND v.valid_from <= c.t0 AND c.t0 < v.valid_to
           GROUP BY ALL),
       last_success AS (
           SELECT s.month, s.subscription_id, max(p.created_at) AS at
           FROM subs s JOIN counted_payments p ON p.subscription_id = s.subscription_id
                AND p.status = 'succeeded' AND p.created_at < s.t1
           GROUP BY ALL)
       SELECT s.month, s.customer_id, s.currency, s.subscription_id, s.churn,
              CASE WHEN EXISTS (SELECT 1 FROM counted_payments f WHERE f.subscription_id = s.subscription_id
                                AND f.status = 'failed' AND f.created_at < s.t1
                                AND f.created_at > coalesce(l.at, '-infinity'::TIMESTAMPTZ))
                   THEN 'involuntary' ELSE 'voluntary' END AS churn_type
       FROM subs s LEFT JOIN last_success l USING (month, subscription_id)""",
    """CREATE OR REPLACE TABLE churn_by_type AS
       SELECT month, currency,
              coalesce(sum(churn) FILTER (churn_type = 'voluntary'), 0) AS voluntary_churn,
              coalesce(sum(churn) FILTER (churn_type = 'involuntary'), 0) AS involuntary_churn,
              count(DISTINCT customer_id) FILTER (churn_type = 'voluntary') AS voluntary_customers,
              count(DISTINCT customer_id) FILTER (churn_type = 'involuntary') AS involuntary_customers
       FROM churned_subscriptions GROUP BY ALL ORDER BY currency, month""",
    # Failed renewals are episodes (docs/metrics.md §5): the failures of a subscription after the same
    # last success are one episode, from its first failure; the next success of the subscription
    # closes it, recovered when that came within recovery_days.
    """CREATE OR REPLACE TABLE failed_renewals AS
       WITH events AS (
           SELECT subscription_id, currency, payment_id, created_at, status, total_amount,
                  max(created_at) FILTER (status = 'succeeded') OVER (PARTITION BY subscription_id
                      ORDER BY created_at, payment_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS after_success
           FROM counted_payments WHERE subscription_id IS NOT NULL AND status IN ('succeeded', 'failed')),
       episodes AS (
           SELECT subscription_id, any_value(currency) AS currency, min(created_at) AS first_failed_at,
                  arg_min(payment_id, (created_at, payment_id)) AS first_payment_id, count(*) AS failed_payments
           FROM events WHERE status = 'failed' GROUP BY subscription_id, after_success),
       successes AS (SELECT * FROM events WHERE status = 'succeeded')
       SELECT e.subscription_id, e.currency, e.first_payment_id, e.first_failed_at,
              date_trunc('month', timezone($timezone, e.first_failed_at))::DATE AS month, e.failed_payments,
              s.payment_id AS closed_by, s.created_at AS closed_at,
              e.first_failed_at <= $data_through::TIMESTAMPTZ - to_days($recovery_days) AS matured,
              coalesce(s.created_at <= e.first_failed_at + to_days($recovery_days), false) AS recovered,
              CASE WHEN s.created_at <= e.first_failed_at + to_days($recovery_days) THEN s.total_amount END
                  AS recovered_amount,
              CASE WHEN s.created_at <= e.first_failed_at + to_days($recovery_days)
                   THEN epoch(s.created_at - e.first_failed_at) / 86400 END AS days_to_recover
       FROM episodes e ASOF LEFT JOIN successes s
            ON s.subscription_id = e.subscription_id AND s.created_at > e.first_failed_at""",
    # by the month of the first failure; a month is complete once its last day is recovery_days old
    """CREATE OR REPLACE TABLE recovery_monthly AS
       SELECT month, currency, count(*) AS failed_renewals, sum(failed_payments)::BIGINT AS failed_payments,
              count(*) FILTER (matured) AS matured, count(*) FILTER (matured AND recovered) AS recovered,
              count(*) FILTER (matured AND recovered) / nullif(count(*) FILTER (matured), 0) AS recovery_rate,
              coalesce(sum(recovered_amount) FILTER (matured), 0)::HUGEINT AS recovered_amount,
              median(days_to_recover) FILTER (matured) AS median_days_to_recover,
              timezone($timezone, (month + INTERVAL 1 MONTH)::TIMESTAMP) + to_days($recovery_days)
                  <= $data_through::TIMESTAMPTZ AS is_complete
       FROM failed_renewals GROUP BY ALL ORDER BY currency, month""",
    f"""CREATE OR REPLACE TABLE revenue_monthly AS
       SELECT date_trunc('month', day)::DATE AS month, currency, sum(gross_volume)::HUGEINT AS gross_volume,
              sum(succeeded_payments)::BIGINT AS succeeded_payments, sum(refunds)::HUGEINT AS refunds,
              sum(disputes_lost)::HUGEINT AS disputes_lost, sum(net_volume)::HUGEINT AS net_volume,
              sum(refunds) / nullif(sum(gross_volume), 0) AS refund_rate,
              sum(gross_volume) / nullif(sum(succeeded_payments), 0) AS average_order_value,
              {MONTH_ENDED} AS is_complete
       FROM revenue_daily GROUP BY ALL ORDER BY currency, month""",
    f"""CREATE OR REPLACE TABLE dispute_activity_monthly AS
       WITH opened AS (
           SELECT date_trunc('month', timezone($timezone, created_at))::DATE AS month, currency, count(*) AS opened,
                  count(*) FILTER (dispute_status = 'dispute_lost') AS lost, sum(amount) AS amount
           FROM placed_disputes GROUP BY ALL),
       paid AS (
           SELECT date_trunc('month', day)::DATE AS month, currency, sum(succeeded_payments) AS succeeded_payments
           FROM revenue_daily GROUP BY ALL)
       SELECT month, currency, coalesce(opened, 0) AS disputes_opened, coalesce(lost, 0) AS disputes_lost_count,
              coalesce(amount, 0)::HUGEINT AS disputed_amount, coalesce(succeeded_payments, 0)::BIGINT AS succeeded_payments,
              coalesce(opened, 0) / nullif(succeeded_payments, 0) AS dispute_rate,
              {MONTH_ENDED} AS is_complete
       FROM opened FULL JOIN paid USING (month, currency) ORDER BY currency, month""",
]


def rebuild(con, timezone: str, grace_days: int, recovery_days: int, data_through) -> None:
    """Rebuild every metric table inside the caller's connection (the working copy). A statement that
    fails for a reason other than the disk raises MetricsError naming its table."""
    for sql, params in bound(timezone, grace_days, recovery_days, data_through):
        try:
            con.execute(sql, params)
        except duckdb.Error as exc:
            if isinstance(exc, duckdb.IOException | duckdb.OutOfMemoryException) or WRITE_FAILED.search(
                str(exc)
            ):
                raise  # the disk or the memory: the caller says how to make room
            table = sql.split("TABLE", 1)[1].split()[0]
            raise MetricsError(f"building the metric table {table} failed: {exc}") from None


def bound(timezone: str, grace_days: int, recovery_days: int, data_through) -> list[tuple[str, dict]]:
    """Each of STATEMENTS (then the balance tables') with the parameters it uses (DuckDB refuses ones a statement does not use)."""
    params = {
        "timezone": timezone,
        "grace_days": grace_days,
        "recovery_days": recovery_days,
        "data_through": data_through,
        "hard": list(HARD),
        "soft": list(SOFT),
    }
    return [
        (sql, {k: v for k, v in params.items() if f"${k}" in sql})
        for sql in [*STATEMENTS, *balances.STATEMENTS]
    ]


def tie_out(con) -> None:
    """MRR identity per month and currency, continuity between months, and revenue against raw sums."""
    rows = con.execute(
        "SELECT month, currency, mrr_start, new, reactivation, expansion, contraction, churn, "
        "mrr_end FROM mrr_monthly ORDER BY currency, month"
    ).fetchall()
    previous: dict[str, float] = {}
    for month, currency, start, new, react, exp, contr, churn, end in rows:
        expected = start + new + react + exp - contr - churn
        if not math.isclose(end, expected, rel_tol=1e-9, abs_tol=1e-6):
            raise TieOutError(
                f"MRR does not add up for {currency} {month:%Y-%m}: start {start:.2f} + movements "
                f"= {expected:.2f}, but the month ends at {end:.2f}"
            )
        if currency in previous and not math.isclose(previous[currency], start, rel_tol=1e-9, abs_tol=1e-6):
            raise TieOutError(
                f"MRR of {currency} {month:%Y-%m} starts at {start:.2f} but the month before ended "
                f"at {previous[currency]:.2f}"
            )
        previous[currency] = end
    # revenue_daily against the raw tables, with docs/metrics.md's exclusions spelled out again here
    mismatch = con.execute("""
        WITH view AS (SELECT currency, sum(gross_volume) gross, sum(refunds) refunds, sum(disputes_lost) lost
                      FROM revenue_daily GROUP BY ALL),
        raw AS (SELECT currency, sum(total_amount) gross FROM payments p LEFT JOIN payment_details d USING (payment_id)
                WHERE status = 'succeeded' AND total_amount <> 0 AND NOT coalesce(is_update_payment_method, false)
                GROUP BY ALL),
        ref AS (SELECT coalesce(r.currency, p.currency) currency, sum(amount) refunds
                FROM refunds r LEFT JOIN payments p USING (payment_id) WHERE r.status = 'succeeded' GROUP BY ALL
                HAVING coalesce(r.currency, p.currency) IS NOT NULL),
        dis AS (SELECT coalesce(x.currency, p.currency) currency, sum(amount) lost
                FROM disputes x LEFT JOIN payments p USING (payment_id) WHERE x.dispute_status = 'dispute_lost'
                GROUP BY ALL HAVING coalesce(x.currency, p.currency) IS NOT NULL)
        SELECT currency, view.gross, raw.gross, view.refunds, ref.refunds, view.lost, dis.lost
        FROM view FULL JOIN raw USING (currency) FULL JOIN ref USING (currency) FULL JOIN dis USING (currency)
        WHERE coalesce(view.gross, 0) <> coalesce(raw.gross, 0) OR coalesce(view.refunds, 0) <> coalesce(ref.refunds, 0)
           OR coalesce(view.lost, 0) <> coalesce(dis.lost, 0)""").fetchall()
    if mismatch:
        currency, *sums = mismatch[0]
        raise TieOutError(
            f"revenue_daily for {currency} (gross, refunds, lost disputes) is {sums[0::2]} but the raw "
            f"tables sum to {sums[1::2]}"
        )
