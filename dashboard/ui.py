"""What every page shares: the password gate, the sidebar filters, the "data through" stamp and the
empty state. Filters live in st.session_state under fixed keys, so they survive page changes."""

import hmac
import os
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import data
from dashboard.exports import major

PRESETS = ("Last 30 days", "Last 90 days", "Last 12 months", "Year to date", "All time", "Custom")
try:
    STALE_HOURS = float(os.environ.get("DODO_ANALYTICS_STALE_HOURS", "26"))
except ValueError:
    STALE_HOURS = 26.0  # a malformed setting falls back to the default rather than breaking every page


def password_ok() -> bool:
    """With a `password` in .streamlit/secrets.toml, nothing renders before it is given."""
    try:
        expected = st.secrets.get("password")
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        expected = None
    if not expected or st.session_state.get("authenticated"):
        return True
    given = st.text_input("Password", type="password")
    if given and hmac.compare_digest(given.encode(), str(expected).encode()):
        st.session_state["authenticated"] = True
        st.rerun()
    if given:
        st.error("Wrong password.")
    return False


def sidebar() -> None:
    """The shared filters. Dates are local days in the business time zone, both inclusive."""
    try:
        currencies = data.query(
            "SELECT currency FROM revenue_daily GROUP BY 1 ORDER BY sum(succeeded_payments) DESC"
        )
    except data.NoWarehouse:
        return
    options = list(currencies["currency"]) or ["USD"]
    with st.sidebar:
        st.selectbox("Currency", options, key="currency", help="Money is never added across currencies.")
        products = data.query(
            "SELECT product_id, coalesce(name, product_id) AS name FROM products ORDER BY name"
        )
        names = dict(zip(products["product_id"], products["name"], strict=True))
        st.multiselect(
            "Product",
            list(names),
            key="products",
            format_func=names.get,
            placeholder="All products",
            help="A payment's product is its subscription's plan, or a one-time payment's product "
            "where its detail is fetched.",
        )
        st.selectbox("Period", PRESETS, key="preset")
        if st.session_state.get("preset") == "Custom":
            last = _local_today(data.status())  # "today" is the day of data_through, as in METRICS.md
            st.date_input("From", key="custom_from", value=last - timedelta(days=29))
            st.date_input("To", key="custom_to", value=last)
        mode = os.environ.get("DODO_PAYMENTS_ENVIRONMENT", "")
        if mode:
            st.caption(f"Mode: {'TEST' if mode == 'test_mode' else 'LIVE'}")


def period(today: date) -> tuple[date | None, date]:
    """(first day or None for all time, last day) of the selected period, ending at `today`."""
    preset = st.session_state.get("preset", PRESETS[0])
    if preset == "Custom":
        return st.session_state.get("custom_from"), st.session_state.get("custom_to", today)
    start = {
        "Last 30 days": today - timedelta(days=29),
        "Last 90 days": today - timedelta(days=89),
        "Last 12 months": today - timedelta(days=364),
        "Year to date": date(today.year, 1, 1),
        "All time": None,
    }[preset]
    return start, today


def header(title: str) -> dict | None:
    """Title, 'data through' stamp (a warning when old or when the last sync failed); None with an
    explanation instead of a page when there is no data yet."""
    st.title(title)
    try:
        info = data.status()
    except data.NoWarehouse as exc:
        st.info(str(exc))
        return None
    age = info["age_hours"]
    stamp = f"Data through {info['data_through']:%Y-%m-%d %H:%M} UTC ({_age(age)} ago)"
    if info["status"] == "failed":
        st.warning(f"{stamp}. The last sync failed: {info['error']}")
    elif age > STALE_HOURS:
        st.warning(f"{stamp}. The data is older than {STALE_HOURS:.0f} hours: is the sync running?")
    else:
        st.caption(stamp)
    info["currency"] = st.session_state.get("currency") or "USD"
    info["products"] = list(st.session_state.get("products") or [])
    info["start"], info["end"] = period(_local_today(info))
    return info


def _local_today(info) -> date:
    return info["data_through"].astimezone(ZoneInfo(info["timezone"])).date()


def _age(hours: float) -> str:
    return (
        f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"
    )


def missing(value) -> bool:
    return value is None or value != value  # None, NaN or NA


def money(amount, currency: str) -> str:
    text = major(amount, currency)
    return (
        "n/a"
        if text is None
        else f"{float(text):,.{len(text.split('.')[1]) if '.' in text else 0}f} {currency}"
    )


def chart(fig, key: str, records_sql: str | None = None, params=None, where=st) -> None:
    """A chart whose points can be clicked to list the records behind them. `records_sql` takes the
    `params(selected x values)` as parameters; the x values are the chart's dates or labels."""
    event = where.plotly_chart(
        fig, key=key, on_select="rerun" if records_sql else "ignore", selection_mode="points"
    )
    if not records_sql:
        return
    points = event.selection.points if event and event.selection else []
    if not points:
        where.caption("Click a bar or point to list the records behind it.")
        return
    xs = {str(p["x"]) if hasattr(p, "get") else str(p.x) for p in points}
    # a date axis sends "2026-03-05" or "2026-03-05 00:00": keep the date; labels (decline codes) stay whole
    picked = sorted(x[:10] if re.match(r"\d{4}-\d\d-\d\d", x) else x for x in xs)
    rows = data.query(records_sql, params(picked))
    where.caption(f"{len(rows):,} records behind {', '.join(picked)} (at most 5,000 shown)")
    where.dataframe(rows, hide_index=True)


# The records behind the charts (parameters only; the selected values arrive as a list).
PAYMENTS_IN_PERIODS = """SELECT payment_id, created_at, total_amount, customer_email, subscription_id, charge_type
    FROM counted_payments WHERE status = 'succeeded' AND date_trunc(?, local_day)::DATE IN (SELECT unnest(?::DATE[]))
    AND currency = ? AND product_ok(product_id, ?::VARCHAR[]) ORDER BY created_at LIMIT 5000"""
FAILED_WITH_CODES = """SELECT payment_id, created_at, total_amount, customer_email, subscription_id, error_code
    FROM counted_payments WHERE currency = ? AND product_ok(product_id, ?::VARCHAR[]) AND status = 'failed'
    AND local_day BETWEEN ? AND ?
    AND coalesce(error_code, 'unknown') IN (SELECT unnest(?::VARCHAR[])) ORDER BY created_at LIMIT 5000"""
SUBSCRIPTIONS_AT_MONTH_END = """SELECT v.subscription_id, v.customer_id, v.monthly_value AS mrr, b.month
    FROM mrr_intervals v JOIN mrr_boundaries b ON v.valid_from <= b.t1 AND b.t1 < v.valid_to
    JOIN subscriptions s USING (subscription_id)
    WHERE v.currency = ? AND product_ok(s.product_id, ?::VARCHAR[]) AND b.month IN (SELECT unnest(?::DATE[]))
    ORDER BY mrr DESC LIMIT 5000"""


def mrr_trend(currency: str, products: list[str]):
    """MRR and paying customers at each month's end: the tied-out table for the whole business, or
    the subscriptions of the selected products."""
    if not products:
        return data.query(
            "SELECT month, mrr_end, customers_end FROM mrr_monthly WHERE currency = ? ORDER BY month",
            (currency,),
        )
    return data.query(
        "SELECT b.month, coalesce(sum(v.monthly_value), 0) AS mrr_end, count(DISTINCT v.customer_id) AS customers_end "
        "FROM mrr_boundaries b LEFT JOIN (mrr_intervals v JOIN subscriptions s USING (subscription_id)) "
        "ON v.valid_from <= b.t1 AND b.t1 < v.valid_to AND v.currency = ? AND v.monthly_value > 0 "
        "AND product_ok(s.product_id, ?::VARCHAR[]) GROUP BY 1 ORDER BY 1",
        (currency, products),
    )


CUSTOMERS_MOVING_IN_MONTHS = """SELECT m.month, m.customer_id, m.movement, m.a AS mrr_at_start, m.b AS mrr_at_end
    FROM mrr_movements m WHERE m.currency = ? AND m.month IN (SELECT unnest(?::DATE[])) AND m.movement <> 'unchanged'
    ORDER BY m.month, m.movement LIMIT 5000"""
CHURNED_IN_MONTHS = """SELECT m.month, m.customer_id, m.a AS churned_mrr FROM mrr_movements m
    WHERE m.currency = ? AND m.month IN (SELECT unnest(?::DATE[])) AND m.movement = 'churn' ORDER BY churned_mrr DESC
    LIMIT 5000"""
DISPUTES_IN_MONTHS = """SELECT dispute_id, payment_id, created_at, amount, dispute_stage, dispute_status FROM disputes
    WHERE currency = ? AND date_trunc('month', timezone((SELECT timezone FROM metric_settings), created_at))::DATE
    IN (SELECT unnest(?::DATE[])) ORDER BY created_at LIMIT 5000"""
FAILED_RENEWALS_IN_MONTHS = """SELECT payment_id, created_at, subscription_id, total_amount, error_code FROM counted_payments
    WHERE currency = ? AND status = 'failed' AND subscription_id IS NOT NULL
    AND date_trunc('month', local_day)::DATE IN (SELECT unnest(?::DATE[])) ORDER BY created_at LIMIT 5000"""
REFUNDS_IN_PERIODS = """SELECT refund_id, payment_id, created_at, amount, status, reason FROM refunds
    WHERE date_trunc(?, timezone((SELECT timezone FROM metric_settings), created_at))::DATE IN (SELECT unnest(?::DATE[]))
    AND currency = ? ORDER BY created_at LIMIT 5000"""
PAYMENTS_BY = """SELECT c.payment_id, c.created_at, c.status, c.total_amount, c.payment_method, d.billing_country,
    c.product_id FROM counted_payments c LEFT JOIN payment_details d USING (payment_id)
    LEFT JOIN products p ON p.product_id = c.product_id
    WHERE c.currency = ? AND product_ok(c.product_id, ?::VARCHAR[]) AND c.status = ? AND c.local_day BETWEEN ? AND ?
    AND (CASE ? WHEN 'kind' THEN CASE WHEN c.subscription_id IS NULL THEN 'one-time' ELSE 'recurring' END
                WHEN 'method' THEN coalesce(c.payment_method, 'unknown')
                WHEN 'country' THEN coalesce(d.billing_country, 'unknown')
                ELSE coalesce(p.name, c.product_id, 'unknown (detail not fetched)') END) IN (SELECT unnest(?::VARCHAR[]))
    ORDER BY c.created_at LIMIT 5000"""
COHORT_CUSTOMERS = """WITH ends AS (SELECT month, t1 FROM mrr_boundaries),
    cohort AS (SELECT c.customer_id, c.currency, min(b.month) AS cohort FROM customer_mrr_at c
               JOIN ends b ON c.t = b.t1 GROUP BY ALL)
    SELECT k.customer_id, k.cohort, b.month, coalesce(m.mrr, 0) AS mrr_at_month_end FROM cohort k
    JOIN ends b ON b.month = k.cohort + to_months(?)
    LEFT JOIN customer_mrr_at m ON m.t = b.t1 AND m.customer_id = k.customer_id AND m.currency = k.currency
    WHERE k.currency = ? AND strftime(k.cohort, '%Y-%m') = ? ORDER BY mrr_at_month_end DESC LIMIT 5000"""


def cohort_chart(fig, key: str, currency: str, where=st) -> None:
    """A cohort heatmap whose cells list their customers: cohort (row) and months since (column)."""
    event = where.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points")
    points = event.selection.points if event and event.selection else []
    if not points:
        where.caption("Click a cell to list the cohort's customers at that month.")
        return
    point = points[0]
    cohort, months = (point["y"], point["x"]) if hasattr(point, "get") else (point.y, point.x)
    rows = data.query(COHORT_CUSTOMERS, (int(months), currency, str(cohort)))
    where.caption(
        f"Cohort {cohort}, {months} months on: {int((rows['mrr_at_month_end'] > 0).sum()):,} of "
        f"{len(rows):,} customers still paying"
    )
    where.dataframe(rows, hide_index=True)


PAYMENTS_IN_WEEKS = """SELECT payment_id, created_at, status, total_amount, customer_email, error_code
    FROM counted_payments WHERE currency = ? AND product_ok(product_id, ?::VARCHAR[])
    AND date_trunc('week', local_day)::DATE IN (SELECT unnest(?::DATE[])) ORDER BY created_at LIMIT 5000"""
