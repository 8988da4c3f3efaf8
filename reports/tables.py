"""Record lists as people read them: money in major units with its currency in the header, readable
headers, blanks rather than None, and text neutralised as the CSV exports are (the table's own
"Download as CSV" writes what it shows)."""

import pandas as pd

from reports.exports import neutralise
from reports.money import exponent

# columns that hold money in minor units (MRR columns are fractions of minor units)
MONEY = frozenset(
    "total_amount amount mrr mrr_at_start mrr_at_end churned_mrr mrr_at_month_end starting_mrr "
    "recovered_amount recurring_pre_tax_amount gross_volume net_volume refunds disputes_lost tax "
    # the ledger's (Payouts & balance)
    "balance opening_balance closing_balance payments fees fee tax_reversals disputes adjustments payouts "
    "settled difference break revenue".split()
)
WORDS = {"id": "ID", "ids": "IDs", "mrr": "MRR"}


def header(column: str, currency: str) -> str:
    """`payment_id` -> "Payment ID"; a money column names its currency: "Total amount (USD)"."""
    words = [WORDS.get(w, w) for w in column.split("_")]
    text = " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])
    return f"{text} ({currency})" if column in MONEY else text


def shown(rows: pd.DataFrame, currency: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The rows to display, and {header: decimals} of the money columns (for their number format)."""
    out = pd.DataFrame(index=rows.index)
    decimals: dict[str, int] = {}
    for column in rows.columns:
        name, values = header(column, currency), rows[column]
        if column in MONEY:
            out[name] = values.astype("float64") / 10 ** exponent(currency)
            decimals[name] = exponent(currency)
        elif pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            out[name] = neutralise(values).fillna("")
        else:
            out[name] = values
    return out, decimals
