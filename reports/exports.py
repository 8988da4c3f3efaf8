"""CSV exports for finance: the whole filtered set, Dodo-style column names, amounts in major units
with each currency's own decimals, timestamps with their zone, UTF-8 with a BOM for spreadsheets,
and every text cell that a spreadsheet would run as a formula neutralised. Pure functions: a
`reader(sql, params) -> DataFrame` is passed in, so the dashboard and the CLI share them."""

from datetime import date
from typing import Any

import pandas as pd

from reports.money import major
from reports.query import Reader

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Spreadsheets skip leading blanks before they decide a cell is a formula (" =1+1" runs too), and a
# cell holds at most 32,767 characters in Excel: a longer one would spill into the next rows.
CELL_LIMIT = 32_767
CUT = " [cut at the spreadsheet limit of 32,767 characters]"
WITH_PRODUCT = ("payments", "subscriptions")  # the other exports have no product
WITHOUT_CURRENCY = ("customers",)
BY_MONTH = ("mrr_movements", "revenue_monthly")  # rows are months, not records with a created_at


def neutralise(column: pd.Series) -> pd.Series:
    """Text a spreadsheet shows as it is: a quote before text that starts like a formula (after any
    blanks), NUL bytes dropped, and a cell past the spreadsheet limit cut, saying so."""
    text = column.astype("string").str.replace(
        "\x00", "", regex=False
    )  # NUL ends a cell early in some readers
    risky = (text.str.startswith(FORMULA_START) | text.str.lstrip().str.startswith(FORMULA_START)).fillna(
        False
    )
    text = text.mask(risky, "'" + text)
    too_long = (text.str.len() > CELL_LIMIT).fillna(False)
    return text.mask(too_long, text.str.slice(0, CELL_LIMIT - len(CUT)) + CUT)


# what -> (SQL over the warehouse, {column: export name}, money columns)
EXPORTS: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "payments": (
        """SELECT p.payment_id, p.created_at, p.customer_id, p.customer_email, p.customer_name, p.total_amount,
                  p.currency, d.tax, p.status, p.payment_method, p.subscription_id, p.charge_type, p.refund_status,
                  p.dispute_status, d.error_code, coalesce(s.product_id, d.product_id) AS product_id
           FROM payments p LEFT JOIN payment_details d USING (payment_id)
           LEFT JOIN subscriptions s ON s.subscription_id = p.subscription_id""",
        {
            "payment_id": "Payment ID",
            "created_at": "Created At",
            "customer_id": "Customer ID",
            "customer_email": "Customer Email",
            "customer_name": "Customer Name",
            "total_amount": "Amount",
            "currency": "Currency",
            "tax": "Tax",
            "status": "Payment Status",
            "payment_method": "Payment Method",
            "subscription_id": "Subscription ID",
            "charge_type": "Charge Type",
            "refund_status": "Refund Status",
            "dispute_status": "Dispute Status",
            "error_code": "Error Code",
            "product_id": "Product ID",
        },
        ("total_amount", "tax"),
    ),
    "refunds": (
        "SELECT refund_id, payment_id, created_at, amount, currency, status, is_partial, reason FROM refunds",
        {
            "refund_id": "Refund ID",
            "payment_id": "Payment ID",
            "created_at": "Created At",
            "amount": "Amount",
            "currency": "Currency",
            "status": "Refund Status",
            "is_partial": "Is Partial",
            "reason": "Reason",
        },
        ("amount",),
    ),
    "disputes": (
        "SELECT dispute_id, payment_id, created_at, amount, currency, dispute_stage, dispute_status FROM disputes",
        {
            "dispute_id": "Dispute ID",
            "payment_id": "Payment ID",
            "created_at": "Created At",
            "amount": "Amount",
            "currency": "Currency",
            "dispute_stage": "Dispute Stage",
            "dispute_status": "Dispute Status",
        },
        ("amount",),
    ),
    "subscriptions": (
        """SELECT subscription_id, created_at, customer_id, customer_email, product_id, product_name, status,
                  currency, recurring_pre_tax_amount, quantity, payment_frequency_count, payment_frequency_interval,
                  next_billing_date, cancelled_at, cancel_at_next_billing_date FROM subscriptions""",
        {
            "subscription_id": "Subscription ID",
            "created_at": "Created At",
            "customer_id": "Customer ID",
            "customer_email": "Customer Email",
            "product_id": "Product ID",
            "product_name": "Product Name",
            "status": "Subscription Status",
            "currency": "Currency",
            "recurring_pre_tax_amount": "Recurring Pre Tax Amount",
            "quantity": "Quantity",
            "payment_frequency_count": "Payment Frequency Count",
            "payment_frequency_interval": "Payment Frequency Interval",
            "next_billing_date": "Next Billing Date",
            "cancelled_at": "Cancelled At",
            "cancel_at_next_billing_date": "Cancel At Next Billing Date",
        },
        ("recurring_pre_tax_amount",),
    ),
    "customers": (
        "SELECT customer_id, created_at, name, email, phone_number FROM customers",
        {
            "customer_id": "Customer ID",
            "created_at": "Created At",
            "name": "Customer Name",
            "email": "Customer Email",
            "phone_number": "Phone Number",
        },
        (),
    ),
    "mrr_movements": (
        """SELECT month, currency, mrr_start, new, reactivation, expansion, contraction, churn, mrr_end,
                  customers_start, customers_end, churned_customers FROM mrr_monthly""",
        {
            "month": "Month",
            "currency": "Currency",
            "mrr_start": "MRR Start",
            "new": "New",
            "reactivation": "Reactivation",
            "expansion": "Expansion",
            "contraction": "Contraction",
            "churn": "Churn",
            "mrr_end": "MRR End",
            "customers_start": "Customers Start",
            "customers_end": "Customers End",
            "churned_customers": "Churned Customers",
        },
        ("mrr_start", "new", "reactivation", "expansion", "contraction", "churn", "mrr_end"),
    ),
    "revenue_monthly": (
        """SELECT month, currency, gross_volume, refunds, disputes_lost, net_volume, succeeded_payments
           FROM revenue_monthly""",
        {
            "month": "Month",
            "currency": "Currency",
            "gross_volume": "Gross Volume",
            "refunds": "Refunds",
            "disputes_lost": "Disputes Lost",
            "net_volume": "Net Volume",
            "succeeded_payments": "Succeeded Payments",
        },
        ("gross_volume", "refunds", "disputes_lost", "net_volume"),
    ),
}


def select(
    what: str,
    start: date | None,
    end: date | None,
    currency: str | None,
    timezone: str,
    products: list[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters for one export: the whole filtered set, oldest first. Dates are local
    days in the business time zone, both inclusive."""
    sql, _, _ = EXPORTS[what]
    time_column = "month" if what in BY_MONTH else "created_at"
    where: list[str] = []
    params: dict[str, Any] = {}
    if time_column == "month":
        if start:
            where.append("month >= date_trunc('month', $start::DATE)")
            params["start"] = start
        if end:
            where.append("month <= $end::DATE")
            params["end"] = end
    else:
        if start:
            where.append("timezone($timezone, created_at)::DATE >= $start::DATE")
            params.update(timezone=timezone, start=start)
        if end:
            where.append("timezone($timezone, created_at)::DATE <= $end::DATE")
            params.update(timezone=timezone, end=end)
    if currency and what not in WITHOUT_CURRENCY:
        where.append("currency = $currency")
        params["currency"] = currency
    if products and what in WITH_PRODUCT:
        where.append("list_contains($products::VARCHAR[], product_id)")
        params["products"] = list(products)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT * FROM ({sql}){clause} ORDER BY {time_column}, 1", params


def frame(what: str, rows: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Rows of `select` as the export: formatted money, zoned timestamps, neutralised text, named columns."""
    _, names, money = EXPORTS[what]
    out = pd.DataFrame(index=rows.index)
    for column, title in names.items():
        values = rows[column]
        if column in money:
            out[title] = [major(v, c) for v, c in zip(values, rows["currency"], strict=True)]
        elif isinstance(values.dtype, pd.DatetimeTZDtype):
            out[title] = values.dt.tz_convert(timezone).map(lambda t: None if pd.isna(t) else t.isoformat())
        elif values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            out[title] = neutralise(values)
        else:
            out[title] = values
    return out


def to_csv(export: pd.DataFrame) -> bytes:
    return export.to_csv(index=False).encode("utf-8-sig")  # the BOM makes spreadsheets read UTF-8


def build(
    what: str,
    reader: Reader,
    start: date | None = None,
    end: date | None = None,
    currency: str | None = None,
    timezone: str = "UTC",
    products: list[str] | None = None,
) -> bytes:
    sql, params = select(what, start, end, currency, timezone, products)
    return to_csv(frame(what, reader(sql, params), timezone))
