"""The reports finance downloads: Dodo's own reports with Dodo's columns first (names, order and
meaning of Dodo's exports, docs/exports.md), then ours; and the warehouse's own (payouts with their
tie-out, the month-end close, MRR movements, revenue by month).

Each report is one query whose columns carry their final titles; `select` adds the filters. Money
stays in minor units here, next to its currency column, and is formatted by the writer of each
format (reports/writers.py). Text cells that a spreadsheet would run are neutralised there too."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from reports.query import bind

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Spreadsheets skip leading blanks before they decide a cell is a formula (" =1+1" runs too), and a
# cell holds at most 32,767 characters in Excel: a longer one would spill into the next rows.
CELL_LIMIT = 32_767
CUT = " [cut at the spreadsheet limit of 32,767 characters]"
USD_EQUIVALENT = "USD equivalent at Dodo's rate"


def neutralise(column: pd.Series) -> pd.Series:
    """Text a spreadsheet shows as it is: a quote before text that starts like a formula (after any
    blanks), NUL bytes dropped, and a cell past the spreadsheet limit cut, saying so. The writers do
    the same in SQL (writers.NEUTRAL); this one is for tables the dashboard shows."""
    text = column.astype("string").str.replace(
        "\x00", "", regex=False
    )  # NUL ends a cell early in some readers
    risky = (text.str.startswith(FORMULA_START) | text.str.lstrip().str.startswith(FORMULA_START)).fillna(
        False
    )
    text = text.mask(risky, "'" + text)
    too_long = (text.str.len() > CELL_LIMIT).fillna(False)
    return text.mask(too_long, text.str.slice(0, CELL_LIMIT - len(CUT)) + CUT)


@dataclass(frozen=True)
class Export:
    """One report. `sql` names its columns with their titles; `money` maps each money column (minor
    units) to the column holding its currency, or to a fixed code in quotes ("'USD'"); `when` is the column the period filters (a timestamp
    filtered by local day, or a month); `currency` the column the currency filter reads (None: the
    report is not per currency); `product` the column the product filter reads (None: no product)."""

    sql: str
    money: dict[str, str] = field(default_factory=dict)
    when: str | None = "Created At"
    currency: str | None = "Currency"
    product: str | None = None
    monthly: bool = False

    def fixed_currency(self, column: str) -> str | None:
        """The code of a money column whose currency is fixed ("'USD'"); None when a column holds it."""
        ref = self.money[column]
        return ref.strip("'") if ref.startswith("'") else None


# A payment's or refund's entries in the ledger: fee, tax, and the wallet's balance after them (the
# balance after the last entry booked at the last instant, ledger_lines.closes_instant).
_BOOKED = """SELECT reference_object_id AS ref, currency,
       sum(-signed) FILTER (event_type IN ('payment_fees', 'refund_fees', 'dispute_fees')) AS fee,
       sum(signed) FILTER (category = 'tax_reversals') AS tax_back,
       sum(-signed) FILTER (event_type = 'refund') AS refunded,
       arg_max(after_balance, (created_at, closes_instant)) AS wallet_after
   FROM ledger_lines GROUP BY ALL"""

EXPORTS: dict[str, Export] = {
    "payments": Export(
        f"""WITH booked AS ({_BOOKED})
        SELECT p.payment_id AS "Payment ID", p.created_at AS "Created At", p.customer_id AS "Customer ID",
               p.customer_name AS "Customer Name", p.customer_email AS "Customer Email",
               d.billing_country AS "Billing Country", p.total_amount AS "Amount",
               c.tax AS "Tax", p.currency AS "Currency",  -- by the metrics' rule (docs/metrics.md §1.1)
               d.settlement_amount AS "Settlement Amount", d.settlement_tax AS "Settlement Tax",
               d.settlement_currency AS "Settlement Currency", p.payment_method AS "Payment Method",
               p.payment_method_type AS "Payment Method Type", p.status AS "Payment Status",
               CASE WHEN p.status = 'succeeded' THEN b.fee ELSE 0 END AS "Payment Fee",
               CASE WHEN p.status = 'succeeded' THEN b.wallet_after END AS "Net Amount In Wallet After Fees",
               (p.raw -> 'metadata')::VARCHAR AS "Metadata",
               CASE WHEN p.status = 'succeeded' THEN p.total_amount - c.tax - b.fee END AS "Net Amount",
               coalesce(s.product_id, d.product_id) AS "Product ID", pr.name AS "Product Name",
               p.subscription_id AS "Subscription ID", p.charge_type AS "Charge Type",
               p.refund_status AS "Refund Status", p.dispute_status AS "Dispute Status", d.error_code AS "Error Code"
        FROM payments p LEFT JOIN payment_details d USING (payment_id) LEFT JOIN counted_payments c USING (payment_id)
        LEFT JOIN booked b ON b.ref = p.payment_id AND b.currency = p.currency
        LEFT JOIN subscriptions s ON s.subscription_id = p.subscription_id
        LEFT JOIN products pr ON pr.product_id = coalesce(s.product_id, d.product_id)""",
        money={
            "Amount": "Currency",
            "Tax": "Currency",
            "Settlement Amount": "Settlement Currency",
            "Settlement Tax": "Settlement Currency",
            "Payment Fee": "Currency",
            "Net Amount In Wallet After Fees": "Currency",
            "Net Amount": "Currency",
        },
        product="Product ID",
    ),
    "refunds": Export(
        f"""WITH booked AS ({_BOOKED})
        SELECT r.refund_id AS "Refund ID", r.payment_id AS "Payment ID", r.created_at AS "Refund Created At",
               p.customer_id AS "Customer ID", p.customer_name AS "Customer Name", p.customer_email AS "Customer Email",
               CASE WHEN r.is_partial THEN 'partial' WHEN NOT r.is_partial THEN 'full' END AS "Refund Type",
               r.reason AS "Refund Reason", r.amount AS "Refund Amount", r.currency AS "Refund Currency",
               b.refunded AS "Refund Settlement Amount", b.tax_back AS "Refund Settlement Tax",
               b.currency AS "Refund Settlement Currency", b.fee AS "Refund Fee", r.status AS "Refund Status",
               p.payment_method AS "Payment Method", p.payment_method_type AS "Payment Method Type",
               p.subscription_id AS "Subscription ID"
        FROM placed_refunds r LEFT JOIN payments p USING (payment_id) LEFT JOIN booked b ON b.ref = r.refund_id""",
        money={
            "Refund Amount": "Refund Currency",
            "Refund Settlement Amount": "Refund Settlement Currency",
            "Refund Settlement Tax": "Refund Settlement Currency",
            "Refund Fee": "Refund Settlement Currency",
        },
        when="Refund Created At",
        currency="Refund Currency",
    ),
    "disputes": Export(
        f"""WITH booked AS ({_BOOKED})
        SELECT x.dispute_id AS "Dispute ID", x.payment_id AS "Payment ID", x.created_at AS "Created At",
               p.customer_id AS "Customer ID", p.customer_name AS "Customer Name", p.customer_email AS "Customer Email",
               x.amount AS "Amount", x.currency AS "Currency", x.dispute_stage AS "Dispute Stage",
               x.dispute_status AS "Dispute Status", b.fee AS "Dispute Fee"
        FROM placed_disputes x LEFT JOIN payments p USING (payment_id)
        LEFT JOIN booked b ON b.ref = x.dispute_id AND b.currency = x.currency""",
        money={"Amount": "Currency", "Dispute Fee": "Currency"},
    ),
    "ledger": Export(
        """SELECT entry_id AS "Ledger Entry ID", event_type AS "Event Type", amount AS "Amount",
                  currency AS "Currency", is_credit AS "Is Credit", reference_object_id AS "Reference Object ID",
                  created_at AS "Created At", given_payout_id AS "Payout ID",
                  payout_id AS "Settled By Payout", category AS "Close Column", signed AS "Signed Amount",
                  before_balance AS "Before Balance", after_balance AS "After Balance",
                  abs(usd_signed) AS "USD Equivalent Amount", description AS "Description"
           FROM ledger_lines""",
        money={
            "Amount": "Currency",
            "Signed Amount": "Currency",
            "Before Balance": "Currency",
            "After Balance": "Currency",
            "USD Equivalent Amount": "'USD'",
        },
    ),
    "payouts": Export(
        """SELECT payout_id AS "Payout ID", created_at AS "Created At", status AS "Status", amount AS "Amount",
                  fee AS "Fee", currency AS "Currency", amount_usd AS "Amount USD Equivalent", entries AS "Entries",
                  payments AS "Payments", tax AS "Tax", fees AS "Fees", refunds AS "Refunds",
                  tax_reversals AS "Tax Reversals", disputes AS "Disputes", adjustments AS "Adjustments",
                  settled AS "Settled", difference AS "Difference", difference = 0 AS "Ties Out",
                  first_entry_at AS "First Entry At", last_entry_at AS "Last Entry At"
           FROM payout_tieout""",
        money={
            **{c: "Currency" for c in ("Amount", "Fee", "Payments", "Tax", "Fees", "Refunds")},
            **{c: "Currency" for c in ("Tax Reversals", "Disputes", "Adjustments", "Settled", "Difference")},
            "Amount USD Equivalent": "'USD'",
        },
    ),
    "close": Export(
        f"""SELECT month AS "Month", currency AS "Currency", opening_balance AS "Opening Balance",
                   payments AS "Payments", tax AS "Tax", fees AS "Fees", refunds AS "Refunds",
                   tax_reversals AS "Tax Reversals", disputes AS "Disputes", adjustments AS "Adjustments",
                   payouts AS "Payouts", closing_balance AS "Closing Balance", break AS "Break",
                   entries AS "Entries", is_complete AS "Is Complete"
            FROM month_end_close
            UNION ALL
            SELECT month, '{USD_EQUIVALENT.replace("'", "''")}', NULL, payments, tax, fees, refunds, tax_reversals, disputes,
                   adjustments, payouts, NULL, NULL, entries, is_complete
            FROM month_end_close_usd""",
        money={
            c: "Currency"
            for c in (
                "Opening Balance",
                "Payments",
                "Tax",
                "Fees",
                "Refunds",
                "Tax Reversals",
                "Disputes",
                "Adjustments",
                "Payouts",
                "Closing Balance",
                "Break",
            )
        },
        when="Month",
        monthly=True,
    ),
    "sales": Export(
        """SELECT c.product_id AS "Product ID", coalesce(pr.name, CASE WHEN c.product_id IS NULL
                      THEN '(not known: the payment''s detail was not read)' END) AS "Product Name",
                  CASE WHEN pr.is_recurring THEN 'subscription' WHEN NOT pr.is_recurring THEN 'one time' END
                      AS "Product Type",
                  count(*) AS "Quantity", c.currency AS "Currency", sum(c.total_amount)::HUGEINT AS "Total Sales Volume",
                  (sum(c.total_amount) - coalesce(sum(c.tax), 0))::HUGEINT AS "Net Revenue",
                  count(*) - count(c.tax) AS "Payments Without Known Tax", min(c.created_at) AS "First Sale At",
                  max(c.created_at) AS "Last Sale At"
           FROM counted_payments c LEFT JOIN products pr USING (product_id)
           WHERE c.status = 'succeeded' AND timezone($timezone, c.created_at)::DATE BETWEEN $first AND $last
           GROUP BY ALL""",
        money={"Total Sales Volume": "Currency", "Net Revenue": "Currency"},
        when=None,
        product="Product ID",
    ),
    "customers": Export(
        """WITH paid AS (
               SELECT customer_id, currency, count(*) AS orders, sum(total_amount)::HUGEINT AS paid
               FROM counted_payments
               WHERE status = 'succeeded' AND timezone($timezone, created_at)::DATE BETWEEN $first AND $last GROUP BY ALL),
           refunded AS (
               SELECT p.customer_id, r.currency, count(*) AS refunds, sum(r.amount)::HUGEINT AS refunded
               FROM placed_refunds r JOIN payments p USING (payment_id)
               WHERE r.status = 'succeeded' AND timezone($timezone, r.created_at)::DATE BETWEEN $first AND $last GROUP BY ALL),
           disputed AS (
               SELECT p.customer_id, x.currency, count(*) AS disputes, sum(x.amount)::HUGEINT AS disputed
               FROM placed_disputes x JOIN payments p USING (payment_id)
               WHERE timezone($timezone, x.created_at)::DATE BETWEEN $first AND $last GROUP BY ALL),
           money AS (SELECT * FROM paid FULL JOIN refunded USING (customer_id, currency)
                     FULL JOIN disputed USING (customer_id, currency))
        SELECT c.customer_id AS "Customer ID", c.name AS "Customer Name", c.email AS "Customer Email",
               coalesce(orders, 0) AS "Success Orders Count", coalesce(paid, 0) AS "Success Orders Amount",
               currency AS "Settlement Currency", coalesce(refunds, 0) AS "Total Refunds Count",
               coalesce(refunded, 0) AS "Total Refunds Amount", coalesce(disputes, 0) AS "Total Disputes Count",
               coalesce(disputed, 0) AS "Total Disputes Amount", c.created_at AS "Customer Created At",
               c.phone_number AS "Phone Number"
        FROM customers c LEFT JOIN money USING (customer_id)""",
        money={
            "Success Orders Amount": "Settlement Currency",
            "Total Refunds Amount": "Settlement Currency",
            "Total Disputes Amount": "Settlement Currency",
        },
        when=None,
        currency="Settlement Currency",
    ),
    "subscriptions": Export(
        """SELECT subscription_id AS "Subscription ID", created_at AS "Created At", customer_id AS "Customer ID",
                  customer_email AS "Customer Email", product_id AS "Product ID", product_name AS "Product Name",
                  status AS "Subscription Status", currency AS "Currency",
                  recurring_pre_tax_amount AS "Recurring Pre Tax Amount", quantity AS "Quantity",
                  payment_frequency_count AS "Payment Frequency Count",
                  payment_frequency_interval AS "Payment Frequency Interval", next_billing_date AS "Next Billing Date",
                  cancelled_at AS "Cancelled At", cancel_at_next_billing_date AS "Cancel At Next Billing Date"
           FROM subscriptions""",
        money={"Recurring Pre Tax Amount": "Currency"},
        product="Product ID",
    ),
    "mrr_movements": Export(
        """SELECT month AS "Month", currency AS "Currency", mrr_start AS "MRR Start", new AS "New",
                  reactivation AS "Reactivation", expansion AS "Expansion", contraction AS "Contraction",
                  churn AS "Churn", mrr_end AS "MRR End", customers_start AS "Customers Start",
                  customers_end AS "Customers End", churned_customers AS "Churned Customers",
                  is_complete AS "Is Complete"
           FROM mrr_monthly""",
        money={
            c: "Currency"
            for c in ("MRR Start", "New", "Reactivation", "Expansion", "Contraction", "Churn", "MRR End")
        },
        when="Month",
        monthly=True,
    ),
    "revenue_monthly": Export(
        """SELECT month AS "Month", currency AS "Currency", gross_volume AS "Gross Volume", refunds AS "Refunds",
                  disputes_lost AS "Disputes Lost", net_volume AS "Net Volume", succeeded_payments AS "Succeeded Payments",
                  is_complete AS "Is Complete"
           FROM revenue_monthly""",
        money={c: "Currency" for c in ("Gross Volume", "Refunds", "Disputes Lost", "Net Volume")},
        when="Month",
        monthly=True,
    ),
}


def q(title: str) -> str:
    """A column title as a SQL identifier."""
    return '"' + title.replace('"', '""') + '"'


def select(
    what: str,
    start: date | None,
    end: date | None,
    currency: str | None,
    timezone: str,
    products: list[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters of one report over the filters: local days in the business time zone,
    both inclusive (a monthly report keeps the months that start inside the period, its first
    month's included); the currency and products where the report has them. Oldest first."""
    export = EXPORTS[what]
    first, last = start or date(1, 1, 1), end or date(9999, 12, 31)
    sql, params = export.sql, {"timezone": timezone, "first": first, "last": last}
    where: list[str] = []
    if export.when and export.monthly:
        where.append(f"{q(export.when)} BETWEEN date_trunc('month', $first::DATE) AND $last::DATE")
    elif export.when:
        where.append(f"timezone($timezone, {q(export.when)})::DATE BETWEEN $first::DATE AND $last::DATE")
    if currency and export.currency:
        where.append(f"{q(export.currency)} = $currency")
        params["currency"] = currency
    if products and export.product:
        where.append(f"list_contains($products::VARCHAR[], {q(export.product)})")
        params["products"] = list(products)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    order = ", ".join(q(c) for c in (export.when, export.currency) if c) or "1"
    full = f"SELECT * FROM ({sql}){clause} ORDER BY {order}, 1"
    return full, bind(full, params)
