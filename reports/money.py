"""Money as merchants read it: amounts are stored in minor units, and each currency has its own
decimals (JPY none, KWD three). Pure functions."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd

ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())


def exponent(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2


def missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA (a nullable column's gap, whose `!=` is NA, not a bool)."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def major(amount: Any, currency: str) -> str | None:
    """Minor units (int, or float for MRR) as major-unit text: 1234 USD -> '12.34', 1234 JPY -> '1234'."""
    if amount is None or pd.isna(amount):
        return None
    e = exponent(currency)
    value = Decimal(str(amount)).scaleb(-e).quantize(Decimal(1).scaleb(-e), rounding=ROUND_HALF_EVEN)
    return f"{value:f}"


def money(amount: Any, currency: str) -> str:
    """Minor units as a figure to show: 123456 USD -> '1,234.56 USD'; 'n/a' when unknown."""
    text = major(amount, currency)
    return (
        "n/a"
        if text is None
        else f"{float(text):,.{len(text.split('.')[1]) if '.' in text else 0}f} {currency}"
    )


def compact(amount: Any, currency: str) -> str:
    """A figure short enough for a card: exact below 10,000 (`money`), else three significant digits
    with k or M: 25958.40 USD -> '26.0k USD', 1234567 JPY -> '1.23M JPY'. The code, not a symbol: $
    names several currencies."""
    text = major(amount, currency)
    if text is None:
        return "n/a"
    value = float(text)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e4, "k")):
        if abs(value) >= limit:
            scaled = value / limit
            digits = 0 if abs(scaled) >= 100 else 1 if abs(scaled) >= 10 else 2
            return f"{scaled:.{digits}f}{suffix} {currency}"
    return money(amount, currency)
