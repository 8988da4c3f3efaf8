"""What a page shows: one currency, some products (none: all), a period of local days in the business
time zone (both ends inclusive) and a grain, as one value every query takes its parameters from."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

PRESETS = ("Last 30 days", "Last 90 days", "Last 12 months", "Year to date", "All time", "Custom")
GRAINS = ("day", "week", "month")
EPOCH_DAY = date(1970, 1, 1)  # "all time" starts here

# Monthly tables show the months that overlap the period (the first may begin before it).
IN_PERIOD_MONTHS = "month BETWEEN date_trunc('month', $start::DATE) AND $end"

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

    def complete_days(self, today: date) -> "Filters":
        """The period without its last day when that day is still running at now (`today`, the local day
        of data_through): what a comparison with the period before may use (docs/metrics.md §1)."""
        return replace(self, end=min(self.end, today - timedelta(days=1)))

    @property
    def days(self) -> int:
        return (self.end - self.first_day).days + 1

    def previous(self) -> "Filters":
        """The period of the same length just before this one, for the "vs the period before" changes."""
        first = self.first_day
        return replace(
            self, start=first - (self.end - first) - timedelta(days=1), end=first - timedelta(days=1)
        )


def complete(first_day: date, grain: str, today: date) -> bool:
    """Whether the day, week or month bucket starting on `first_day` had ended at now (`today` is the
    local day of data_through: a bucket ends at local midnight, so it has ended when its next day is
    today or earlier)."""
    if grain == "day":
        end = first_day + timedelta(days=1)
    elif grain == "week":
        end = first_day + timedelta(days=7)
    else:
        end = (first_day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return end <= today


def mark_complete(rows: Any, x: str, grain: str, today: date) -> Any:
    """`rows` (a DataFrame of buckets whose first days are in column `x`) with `is_complete`."""
    rows["is_complete"] = [complete(pd.Timestamp(d).date(), grain, today) for d in rows[x]]
    return rows


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
