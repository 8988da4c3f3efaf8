"""From API objects to warehouse rows: pure functions, a declarative column list per table.

Each column names its DuckDB type, where it comes from in the API object (a key, or a path of
keys), and whether the API requires it. A required field that is missing or of the wrong type makes
the record unparseable: it is reported (id and reason) and skipped, never silently dropped or
half-loaded. Optional fields may be missing or null (older and newer API versions differ). Unknown
fields need nothing: the whole object is kept as JSON next to the typed columns.
"""

import functools
import json
import re
from datetime import datetime
from typing import NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc

# type code -> DuckDB type. Timestamps stay text until DuckDB casts them, in bulk.
SQL_TYPES = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "ts": "TIMESTAMPTZ",
    "json": "JSON",
    "strs": "VARCHAR[]",
    "intstr": "BIGINT",
}
# type code -> Arrow type of the parsed values. JSON text goes as Arrow's JSON type, which DuckDB stores
# as JSON without parsing it again (it was written by a JSON encoder here).
ARROW = {
    "str": pa.string(),
    "int": pa.int64(),
    "intstr": pa.int64(),
    "bool": pa.bool_(),
    "ts": pa.string(),
    "json": pa.json_(pa.string()),
    "strs": pa.list_(pa.string()),
}
# kinds that pyarrow reads out of the objects in `_clean`: it refuses what `_invalid` refuses for text
# and booleans, and timestamps (text to it) are checked after, in bulk. Not integers (it would let
# 12.0 into an int64) nor lists of text (it would split a string into characters).
_STRUCT = {"str", "bool", "ts"}
_RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)"
_TS = re.compile(_RFC3339 + r"\Z")
_DIGITS = re.compile(r"-?\d+\Z")


def _invalid(kind: str, values: list) -> list[int]:
    """Positions of non-null values that are not of the column's kind. Written per kind as one
    comprehension each: this runs for every field of every record, so it must be cheap."""
    if kind == "str":
        return [i for i, v in enumerate(values) if v is not None and v.__class__ is not str]
    if kind == "int":  # bool is an int subclass; it is not money; BIGINT bounds
        return [
            i
            for i, v in enumerate(values)
            if v is not None and (v.__class__ is not int or not -(2**63) <= v < 2**63)
        ]
    if kind == "bool":
        return [i for i, v in enumerate(values) if v is not None and v.__class__ is not bool]
    if kind == "ts":  # RFC 3339 with a zone and a real date; naive or date-only text is refused
        return [i for i, v in enumerate(values) if v is not None and not _timestamp(v)]
    if kind == "strs":
        return [
            i
            for i, v in enumerate(values)
            if v is not None and (v.__class__ is not list or any(x.__class__ is not str for x in v))
        ]
    if kind == "intstr":  # dispute amounts: a string holding the integer in minor units ("15000")
        return [
            i
            for i, v in enumerate(values)
            if v is not None and v.__class__ is not int and (v.__class__ is not str or not _DIGITS.match(v))
        ]
    return []  # json: anything goes


def _timestamp(value) -> bool:
    if value.__class__ is not str or not _TS.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))  # month 13 or February 30 match the pattern
    except ValueError:
        return False
    return True


def _dumps(value) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (integers beyond 64 bits) the standard library writes
        return json.dumps(value, ensure_ascii=False)


class Column(NamedTuple):
    """One typed column of a warehouse table and where its value is in the API object."""

    name: str
    kind: str  # a key of SQL_TYPES
    path: tuple[str, ...]  # keys (or list positions) from the object down to the value
    required: bool  # a record without it (or with a value of another kind) is rejected


def col(name: str, kind: str, path: str | None = None, required: bool = False) -> Column:
    return Column(name, kind, tuple((path or name).split(".")), required)


PAYMENT_LIST = (
    col("payment_id", "str", required=True),
    col("created_at", "ts", required=True),
    col("status", "str"),
    col("total_amount", "int", required=True),
    col("currency", "str", required=True),
    col("customer_id", "str", "customer.customer_id", required=True),
    col("customer_email", "str", "customer.email"),
    col("customer_name", "str", "customer.name"),
    col("subscription_id", "str"),
    col("subscription_ids", "strs"),
    col("is_multi_subscription", "bool"),
    col("charge_type", "str"),
    col("retry_attempt", "int"),
    col("service_periods", "json"),
    col("payment_method", "str"),
    col("payment_method_type", "str"),
    col("card_network", "str"),
    col("card_type", "str"),
    col("brand_id", "str"),
    col("refund_status", "str"),
    col("dispute_status", "str"),
    col("digital_products_delivered", "bool"),
)
PAYMENT_DETAIL = (
    col("payment_id", "str", required=True),
    col("detail_status", "str", "status"),
    col("tax", "int"),
    col("settlement_amount", "int"),
    col("settlement_currency", "str"),
    col("settlement_tax", "int"),
    col("error_code", "str"),
    col("error_message", "str"),
    col("is_update_payment_method", "bool"),
    col("detail_retry_attempt", "int", "retry_attempt"),
    col("updated_at", "ts"),
    col("billing_country", "str", "billing.country"),
    col("card_issuing_country", "str"),
    col("product_id", "str", "product_cart.0.product_id"),
    col("discount_id", "str"),
)
SUBSCRIPTIONS = (
    col("subscription_id", "str", required=True),
    col("created_at", "ts", required=True),
    col("status", "str", required=True),
    col("customer_id", "str", "customer.customer_id", required=True),
    col("customer_email", "str", "customer.email"),
    col("product_id", "str", required=True),
    col("product_name", "str"),
    col("currency", "str", required=True),
    col("quantity", "int"),
    col("recurring_pre_tax_amount", "int", required=True),
    col("tax_inclusive", "bool"),
    col("payment_frequency_interval", "str", required=True),
    col("payment_frequency_count", "int", required=True),
    col("subscription_period_interval", "str"),
    col("subscription_period_count", "int"),
    col("trial_period_days", "int"),
    col("on_demand", "bool"),
    col("cancel_at_next_billing_date", "bool"),
    col("cancelled_at", "ts"),
    col("cancelled_by", "str", "cancelled_by.actor_type"),
    col("next_billing_date", "ts"),
    col("previous_billing_date", "ts"),
    col("discount_id", "str"),
    col("billing_country", "str", "billing.country"),
)
REFUNDS = (
    col("refund_id", "str", required=True),
    col("payment_id", "str", required=True),
    col("created_at", "ts", required=True),
    col("status", "str", required=True),
    col("amount", "int"),
    col("currency", "str"),
    col("is_partial", "bool"),
    col("reason", "str"),
)
DISPUTES = (
    col("dispute_id", "str", required=True),
    col("payment_id", "str", required=True),
    col("created_at", "ts", required=True),
    col("amount", "intstr", required=True),
    col("currency", "str"),  # may be null: the dispute then takes its payment's
    col("dispute_stage", "str"),
    col("dispute_status", "str", required=True),
    col("is_resolved_by_rdr", "bool"),
)
PAYOUTS = (
    col("payout_id", "str", required=True),
    col("created_at", "ts", required=True),
    col("updated_at", "ts"),
    col("amount", "int", required=True),
    col("currency", "str", required=True),
    col("fee", "int"),
    col("status", "str", required=True),
    col("payment_method", "str"),
    col("name", "str"),
    col("remarks", "str"),
)
CUSTOMERS = (
    col("customer_id", "str", required=True),
    col("created_at", "ts", required=True),
    col("email", "str"),
    col("name", "str"),
    col("phone_number", "str"),
)
PRODUCTS = (
    col("product_id", "str", required=True),
    col("created_at", "ts", required=True),
    col("updated_at", "ts"),
    col("name", "str"),
    col("is_recurring", "bool"),
    col("price", "int"),
    col("currency", "str"),
    col("tax_category", "str"),
    col("payment_frequency_interval", "str", "price_detail.payment_frequency_interval"),
    col("payment_frequency_count", "int", "price_detail.payment_frequency_count"),
)
LEDGER = (
    col("id", "str", required=True),
    col("created_at", "ts", required=True),
    col("amount", "int", required=True),
    col("currency", "str", required=True),
    col("event_type", "str", required=True),
    col("is_credit", "bool", required=True),
    col("usd_equivalent_amount", "int"),
    col("before_balance", "int"),
    col("after_balance", "int"),
    col("reference_object_id", "str"),
    col("payout_id", "str"),
    col("description", "str"),
)


def _get(obj, path):
    for key in path:
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            return None
    return obj


def parse(columns: tuple[Column, ...], items: list) -> tuple[dict[str, list], list[tuple[str, str]]]:
    """Columns of values for the parseable items (plus `raw`, each object as JSON text), and
    (id, reason) for the others. Duplicate ids keep the last occurrence. Column by column, not
    record by record: a page of a hundred records costs a few list comprehensions."""
    objs = [o for o in items if o.__class__ is dict]
    bad = [("?", f"not an object: {str(o)[:80]}") for o in items if o.__class__ is not dict]
    out: dict[str, list] = {}
    problems: dict[int, str] = {}
    for name, kind, path, required in columns:
        values = _values(objs, path)
        label = ".".join(path)
        if required:
            for i, v in enumerate(values):
                if v is None:
                    problems.setdefault(i, f"required field {label} is missing")
        for i in _invalid(kind, values):
            problems.setdefault(i, f"field {label} is not a valid {kind}: {str(values[i])[:60]!r}")
        out[name] = _stored(kind, values)
    out["raw"] = [_dumps(o) for o in objs]
    ids = out[columns[0].name]
    bad += [(str(ids[i])[:80], reason) for i, reason in sorted(problems.items())]
    last = {record_id: i for i, record_id in enumerate(ids) if i not in problems}
    if len(last) < len(ids):  # rejected rows or duplicates across pages (the later read wins)
        keep = sorted(last.values())
        out = {name: [values[i] for i in keep] for name, values in out.items()}
    return out, bad


def table(columns: tuple[Column, ...], items: list) -> tuple[pa.Table, list[tuple[str, str]]]:
    """What `parse` gives, as an Arrow table for the warehouse. A clean batch (the usual case) has its
    text and boolean fields read by pyarrow straight from the objects, in C: several times cheaper
    than a Python list per column. Any other batch takes `parse`, which says what is wrong where."""
    arrays = _clean(columns, items)
    if arrays is not None:  # in the columns' order, as `parse` has it: batches of a table concatenate
        return pa.table({name: arrays[name] for name in [*(c.name for c in columns), "raw"]}), []
    values, bad = parse(columns, items)
    kinds = {c.name: c.kind for c in columns} | {"raw": "json"}
    return pa.table({name: pa.array(v, type=ARROW[kinds[name]]) for name, v in values.items()}), bad


def _clean(columns: tuple[Column, ...], items: list) -> dict[str, pa.Array] | None:
    """The arrays of `table` when every item is an object with every field of its kind and the ids
    are distinct; None as soon as something is not (then `parse` finds what and where)."""
    if any(o.__class__ is not dict for o in items):
        return None
    shape, names = _shape(columns)
    try:
        arrays = dict(zip(names, _leaves(pa.array(items, type=shape)), strict=True))
    except (pa.ArrowException, ValueError, TypeError, OverflowError):  # a field that is not of its kind
        return None
    for name, kind, path, required in columns:
        if name in arrays:
            if required and arrays[name].null_count or kind == "ts" and not _timestamps(arrays[name]):
                return None
            continue
        values = _values(items, path)
        if required and None in values or _invalid(kind, values):
            return None
        arrays[name] = pa.array(_stored(kind, values), type=ARROW[kind])
    if pc.count_distinct(arrays[columns[0].name]).as_py() < len(items):
        return None
    arrays["raw"] = pa.array([_dumps(o) for o in items], type=ARROW["json"])
    return arrays


def _timestamps(texts: pa.Array) -> bool:
    """Whether `_timestamp` would accept every text, checked in bulk. Arrow's parser refuses what
    Python's does (impossible dates, hour 24, second 60, year 0) and more (years outside 1678-2261,
    offsets over 59 minutes): then `parse` decides, value by value."""
    try:
        pc.cast(texts, pa.timestamp("ns", tz="UTC"))
    except pa.ArrowException:
        return False
    return pc.all(pc.match_substring_regex(texts, f"^{_RFC3339}$")).as_py() is not False


@functools.cache
def _shape(columns: tuple[Column, ...]) -> tuple[pa.DataType, list[str]]:
    """The Arrow struct that reads a table's strict columns out of the API objects (a column at
    `customer.email` is field `email` of struct `customer`), and the columns in the order of its leaves.
    pyarrow reads a parent that is not an object as null, or fails: `_get` gives None there too."""
    tree: dict = {}
    kinds = {c.name: c.kind for c in columns}
    for name, kind, path, _ in columns:
        if kind in _STRUCT and not any(key.isdigit() for key in path):  # not list positions
            node = tree
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = name
    names: list[str] = []

    def struct(node: dict) -> pa.DataType:
        fields = []
        for key, sub in node.items():
            if isinstance(sub, dict):
                fields.append((key, struct(sub)))
            else:
                names.append(sub)
                fields.append((key, ARROW[kinds[sub]]))
        return pa.struct(fields)

    return struct(tree), names


def _leaves(array: pa.StructArray) -> list[pa.Array]:
    """The struct's leaf arrays, depth first (a null parent makes its children null)."""
    out = []
    for child in array.flatten():
        out += _leaves(child) if pa.types.is_struct(child.type) else [child]
    return out


def _values(objs: list, path: tuple) -> list:
    return [o.get(path[0]) for o in objs] if len(path) == 1 else [_get(o, path) for o in objs]


def _stored(kind: str, values: list) -> list:
    """Valid values as the warehouse keeps them: JSON as text, integer strings as integers."""
    if kind == "json":
        return [None if v is None else _dumps(v) for v in values]  # a missing field stays SQL NULL
    if kind == "intstr":
        return [int(v) if v.__class__ is str and _DIGITS.match(v) else v for v in values]
    return values
