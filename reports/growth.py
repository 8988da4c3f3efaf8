"""The Growth & trials page's queries: net new MRR, MRR growth and the quick ratio by month; new, active
and churned subscribers; MRR now and the last month's movements by plan, billing interval and country;
top customers and countries; trials started, active, converted and lost. Whole-business numbers in
the selected currency (docs/metrics.md §3 and §4 define MRR, movements and churn)."""

from reports.filters import IN_PERIOD_MONTHS

# quick ratio = (new + expansion + reactivation) ÷ (contraction + churn); undefined without losses
GROWTH = f"""SELECT month, mrr_start, mrr_end, new + reactivation + expansion - contraction - churn AS net_new_mrr,
    CASE WHEN mrr_start > 0 THEN mrr_end / mrr_start - 1 END AS growth_rate,
    CASE WHEN contraction + churn > 0 THEN (new + reactivation + expansion) / (contraction + churn) END AS quick_ratio,
    is_complete FROM mrr_monthly WHERE currency = $currency AND {IN_PERIOD_MONTHS} ORDER BY month"""
# a subscription is new in the month its first paid period starts, active at a month's end while paying
SUBSCRIBERS = f"""WITH firsts AS (
        SELECT subscription_id, min(valid_from) AS first FROM mrr_intervals
        WHERE currency = $currency AND monthly_value > 0 GROUP BY ALL),
    active AS (
        SELECT b.month, count(DISTINCT v.subscription_id) AS active FROM mrr_boundaries b JOIN mrr_intervals v
        ON v.valid_from <= b.t1 AND b.t1 < v.valid_to AND v.currency = $currency AND v.monthly_value > 0 GROUP BY ALL),
    new AS (
        SELECT b.month, count(*) AS new FROM mrr_boundaries b JOIN firsts f ON f.first >= b.t0 AND f.first < b.t1
        GROUP BY ALL),
    churned AS (SELECT month, count(*) AS churned FROM churned_subscriptions WHERE currency = $currency GROUP BY ALL)
    SELECT b.month, coalesce(new, 0) AS new, coalesce(active, 0) AS active, coalesce(churned, 0) AS churned,
           b.is_complete
    FROM mrr_boundaries b LEFT JOIN new USING (month) LEFT JOIN active USING (month) LEFT JOIN churned USING (month)
    WHERE b.{IN_PERIOD_MONTHS} ORDER BY b.month"""
# what a subscription is split by: its plan, its billing interval, its billing country
_LABEL = """CASE $by WHEN 'plan' THEN coalesce(s.product_name, s.product_id)
    WHEN 'interval' THEN s.payment_frequency_count || ' ' || lower(s.payment_frequency_interval)
    ELSE coalesce(s.billing_country, 'country not known') END"""
MRR_BY = f"""SELECT {_LABEL} AS label, sum(n.mrr) AS mrr, count(*) AS subscriptions
    FROM subscription_mrr_now n JOIN subscriptions s USING (subscription_id)
    WHERE n.currency = $currency AND n.mrr > 0 GROUP BY 1 ORDER BY mrr DESC LIMIT 20"""
# each subscription's MRR at the start and end of $month (mrr_boundaries), summed by kind of move
MOVEMENTS_BY = f"""WITH ends AS (
        SELECT v.subscription_id,
               sum(v.monthly_value) FILTER (v.valid_from <= b.t0 AND b.t0 < v.valid_to) AS a,
               sum(v.monthly_value) FILTER (v.valid_from <= b.t1 AND b.t1 < v.valid_to) AS b
        FROM mrr_intervals v JOIN mrr_boundaries b ON b.month = $month::DATE
        WHERE v.currency = $currency AND v.valid_to > b.t0 AND v.valid_from <= b.t1 GROUP BY ALL)
    SELECT {_LABEL} AS label,
           coalesce(sum(coalesce(e.b, 0)) FILTER (coalesce(e.a, 0) = 0), 0) AS new,
           coalesce(sum(e.b - e.a) FILTER (e.a > 0 AND e.b > e.a), 0) AS expansion,
           coalesce(sum(e.a - e.b) FILTER (e.b > 0 AND e.b < e.a), 0) AS contraction,
           coalesce(sum(e.a) FILTER (e.a > 0 AND coalesce(e.b, 0) = 0), 0) AS churn
    FROM ends e JOIN subscriptions s USING (subscription_id) GROUP BY 1
    HAVING new + expansion + contraction + churn > 0 ORDER BY new + expansion + contraction + churn DESC LIMIT 20"""
TOP_CUSTOMERS = """WITH mrr AS (SELECT customer_id, sum(mrr) AS mrr FROM subscription_mrr_now WHERE currency = $currency
                    GROUP BY ALL),
    paid AS (SELECT customer_id, sum(total_amount) AS revenue FROM counted_payments
             WHERE currency = $currency AND status = 'succeeded' AND local_day BETWEEN $start AND $end GROUP BY ALL)
    SELECT customer_id, c.email, coalesce(mrr, 0) AS mrr, coalesce(revenue, 0) AS revenue
    FROM mrr FULL JOIN paid USING (customer_id) LEFT JOIN customers c USING (customer_id)
    ORDER BY coalesce(mrr, 0) DESC, revenue DESC, customer_id LIMIT 10"""
# revenue by the payment's billing country, known only where its detail was read (coverage shown)
TOP_COUNTRIES = """SELECT coalesce(d.billing_country, 'not known (detail not read)') AS country,
    sum(c.total_amount) AS revenue, count(*) AS payments
    FROM counted_payments c LEFT JOIN payment_details d USING (payment_id)
    WHERE c.currency = $currency AND c.status = 'succeeded' AND c.local_day BETWEEN $start AND $end
    GROUP BY 1 ORDER BY revenue DESC LIMIT 11"""
# A trial converts with its subscription's first succeeded payment of a non-zero amount; it is lost
# once its trial days are over (at the data's now) without one, active until then.
TRIALS = """WITH trials AS (
        SELECT s.subscription_id, s.created_at AS started, s.created_at + to_days(s.trial_period_days) AS ends,
               (SELECT min(p.created_at) FROM payments p WHERE p.subscription_id = s.subscription_id
                AND p.status = 'succeeded' AND p.total_amount > 0) AS first_paid
        FROM subscriptions s WHERE s.trial_period_days > 0 AND s.currency = $currency)
    SELECT date_trunc('month', timezone($timezone, started))::DATE AS month, count(*) AS started,
           count(*) FILTER (first_paid IS NOT NULL) AS converted,
           count(*) FILTER (first_paid IS NULL AND ends > (SELECT data_through FROM metric_settings)) AS active,
           count(*) FILTER (first_paid IS NULL AND ends <= (SELECT data_through FROM metric_settings)) AS lost,
           count(*) FILTER (first_paid IS NOT NULL) / nullif(count(*) FILTER (first_paid IS NOT NULL OR
               ends <= (SELECT data_through FROM metric_settings)), 0) AS conversion_rate
    FROM trials WHERE timezone($timezone, started)::DATE BETWEEN date_trunc('month', $start::DATE) AND $end
    GROUP BY 1 ORDER BY 1"""
