"""What the sync reads and where it lands, declared once: each resource's API path, how it is read,
its warehouse table and that table's columns. The warehouse creates its tables from here, the sync
reads from here, and the tests and benchmarks look tables up here."""

from dataclasses import dataclass
from enum import StrEnum

from .records import (
    CUSTOMERS,
    DISPUTES,
    LEDGER,
    PAYMENT_DETAIL,
    PAYMENT_LIST,
    PAYOUTS,
    PRODUCTS,
    REFUNDS,
    SUBSCRIPTIONS,
    Column,
)


class Mode(StrEnum):
    """How a resource is read on each pass."""

    INCREMENTAL = "incremental"  # new records plus a look-back
    FULL = "full"  # every record every run (the API has no updated_at filter)
    ALL = "all"  # no time filter at all
    DETAIL = "detail"  # one GET per record, for records the list already gave


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    table: str
    mode: Mode
    columns: tuple[Column, ...]  # the typed columns, from the API object; the first is the key
    # the table's other columns besides synced_at: every row keeps the object the API sent
    extra_columns: str = "raw JSON"
    # fixed query parameters, one set per window of a Mode.ALL resource
    param_sets: tuple[tuple[tuple[str, str], ...], ...] = ((),)

    @property
    def key(self) -> str:
        return self.columns[0].name


# In dependency order (the order a run reads them and the summary lists them).
RESOURCES = {
    r.name: r
    for r in (
        Resource(
            "products",
            "/products",
            "products",
            Mode.ALL,
            PRODUCTS,
            extra_columns="archived BOOLEAN, raw JSON",
            param_sets=((("archived", "false"),), (("archived", "true"),)),
        ),
        Resource("customers", "/customers", "customers", Mode.FULL, CUSTOMERS),
        Resource("subscriptions", "/subscriptions", "subscriptions", Mode.FULL, SUBSCRIPTIONS),
        Resource("payments", "/payments", "payments", Mode.INCREMENTAL, PAYMENT_LIST),
        Resource("refunds", "/refunds", "refunds", Mode.INCREMENTAL, REFUNDS),
        Resource("disputes", "/disputes", "disputes", Mode.INCREMENTAL, DISPUTES),
        Resource("ledger", "/balances/ledger", "ledger_entries", Mode.INCREMENTAL, LEDGER),
        # a few a month, and their status moves (in_progress to success): read whole every run
        Resource("payouts", "/payouts", "payouts", Mode.FULL, PAYOUTS),
    )
}
# Payment details live apart from the list rows, so a list re-read replaces the list row whole
# without touching what the detail added.
DETAILS = Resource("payment_details", "/payments/{id}", "payment_details", Mode.DETAIL, PAYMENT_DETAIL)

# every warehouse table of API data -> the resource that fills it
TABLES = {r.table: r for r in (*RESOURCES.values(), DETAILS)}
