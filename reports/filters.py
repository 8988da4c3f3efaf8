"""What a page shows: one currency, some products (none: all), a period of local days in the business
time zone (both ends inclusive) and a grain, as one value every query takes its parameters from."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

PRESETS = ("Last 30 days", "Last 90 days", "Last 12 months", "Year to date", "All time", "Custom")
GRAINS = ("day", "week", "month")
EPOCH_DAY = date(1970, 1, 1)  # "all time" starts here

# The sidebar's choices: currencies with the most payments first (money is never added across them).
CURRENCIES = "SELECT currency FROM revenue_daily GROUP BY 1 ORDER BY sum(succeeded_payments) DESC"
PRODUCTS = "SELECT product_id, coalesce(name, product_id) AS name FROM products ORDER BY name"


@dataclass(frozen=True)
class Filters:
    currency: str
    products: tuple[str, ...]  # empty: every product
    start: date | None  # None: all time
    end: date
    timezone: str  # the business time zone the warehouse's days are in
    grain: str = "day"  # day, week or month, where a page groups by period

    @property
    def first_day(self) -> date:
        return self.start or EPOCH_DAY

    def params(self) -> dict[str, Any]:
        """The named parameters of every query ($currency, $products, ...); a query takes those it uses."""
        return {
            "currency": self.currency,
            "products": list(self.products),  # a list: DuckDB binds it as VARCHAR[]
            "start": self.first_day,
            "end": self.end,
            "timezone": self.timezone,
            "grain": self.grain,
        }

    def previous(self) -> "Filters":
        """The period of the same length just before this one, for the "vs the period before" changes."""
        first = self.first_day
        return replace(
            self, start=first - (self.end - first) - timedelta(days=1), end=first - timedelta(days=1)
        )


def period(
    preset: str, today: date, custom_from: date | None = None, custom_to: date | None = None
) -> tuple[date | None, date]:
    """(first day or None for all time, last day) of a preset period ending at `today`."""
    if preset == "Custom":
        return custom_from, custom_to or today
    start = {
        "Last 30 days": today - timedelta(days=29),
        "Last 90 days": today - timedelta(days=89),
        "Last 12 months": today - timedelta(days=364),
        "Year to date": date(today.year, 1, 1),
        "All time": None,
    }[preset]
    return start, today
