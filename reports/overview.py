"""The Overview page's queries: the period's volume, success rate and churn against the period before,
and the daily revenue chart (its MRR chart is the Subscriptions page's MRR trend); and how every
page's cards compare with the period before (`comparison`, `change`)."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from reports import revenue
from reports.filters import Filters
from reports.money import missing
from reports.query import Chart

SUMS = (
    "SELECT sum(gross_volume) g, sum(net_volume) n FROM revenue_daily_by_product WHERE currency = $currency "
    "AND product_ok(product_id, $products::VARCHAR[]) AND day BETWEEN $start AND $end"
)
SUCCESS_RATE = (
    "SELECT sum(succeeded) / nullif(sum(succeeded) + sum(failed), 0) r "
    "FROM payment_outcomes_daily_by_product WHERE currency = $currency "
    "AND product_ok(product_id, $products::VARCHAR[]) AND day BETWEEN $start AND $end"
)
# the last two complete months before the period's end (customer churn is whole-business only)
CHURN = (
    "SELECT month, customer_churn_rate FROM churn_monthly WHERE currency = $currency "
    "AND month < date_trunc('month', $end::DATE) AND customer_churn_rate IS NOT NULL "
    "ORDER BY month DESC LIMIT 2"
)
REVENUE = Chart(
    "SELECT day, sum(gross_volume) gross_volume, sum(net_volume) net_volume FROM revenue_daily_by_product "
    "WHERE currency = $currency AND product_ok(product_id, $products::VARCHAR[]) "
    "AND day BETWEEN $start AND $end GROUP BY 1 ORDER BY 1",
    revenue.PAYMENTS_IN_PERIODS,
    {"grain": "day"},
)


def change(a: Any, b: Any, what: str) -> str | None:
    """How `a` compares with `b`, labelled with `what` b is; None when either is unknown or b is 0."""
    return None if missing(a) or missing(b) or not b else f"{(a - b) / abs(b):+.1%} vs {what}"


def days_before(compared: Filters) -> str:
    """What a period-over-period change compares: "the 29 days before" (complete days only)."""
    return f"the {compared.days:,} days before" if compared.days > 0 else "nothing"


@dataclass(frozen=True)
class Comparison:
    """Like with like: the period's complete days (`compared`) and as many days just before them
    (`before`); `what` names the latter for a card's delta, `how` explains it in the card's help."""

    compared: Filters
    before: Filters
    what: str
    how: str


def comparison(filters: Filters, today: date) -> Comparison:
    """The comparison of a page's cards, `today` being the local day of the data's now."""
    compared = filters.complete_days(today)
    what = days_before(compared)
    how = (
        f"Change: the period's complete days ({compared.first_day} to {compared.end}) against {what}; "
        "the day still running is left out of the comparison."
    )
    return Comparison(compared, compared.previous(), what, how)
