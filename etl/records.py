"""From API objects to warehouse rows: pure functions, a declarative column list per table.

Each column names its DuckDB type, where it comes from in the API object (a key, or a path of
keys), and whether the API requires it. A required field that is missing or of the wrong type makes
the record unparseable: it is reported (id and reason) and skipped, never silently dropped or
half-loaded. Optional fields may be missing or null (older and newer API versions differ). Unknown
fields need nothing: the whole object is kept as JSON next to the typed columns.
"""

import json
from datetime import datetime

# type code -> DuckDB type
SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "bool": "BOOLEAN", "ts": "TIMESTAMPTZ", "json": "JSON",
             "strs": "VARCHAR[]", "intstr": "BIGINT"}  # fmt: skip


class BadRecord(ValueError):
    pass


def _ts(value):
    if not isinstance(value, str):
        raise TypeError
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("no time zone")
    return t


def _int(value):
    if type(value) is not int:  # bool is an int subclass; it is not money
        raise TypeError
    return value


def _intstr(value):
    """Dispute amounts arrive as a string holding the integer in minor units ("15000")."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return _int(value)


def _str(value):
    if not isinstance(value, str):
        raise TypeError
    return value


def _bool(value):
    if not isinstance(value, bool):
        raise TypeError
    return value


def _strs(value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError
    return value


def _json(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


CONVERT = {
    "str": _str,
    "int": _int,
    "bool": _bool,
    "ts": _ts,
    "json": _json,
    "strs": _strs,
    "intstr": _intstr,
}


def col(name, kind, path=None, required=False):
    return (name, kind, tuple((path or name).split(".")), required)


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
    col("currency", "str", required=True),
    col("dispute_stage", "str"),
    col("dispute_status", "str", required=True),
    col("is_resolved_by_rdr", "bool"),
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


def parse(columns: tuple, items: list) -> tuple[dict[str, list], list[tuple[str, str]]]:
    """Columns of values for the parseable items (plus `raw`, the object as JSON), and (id, reason)
    for the others. Duplicate ids keep the last occurrence."""
    out = {name: [] for name, *_ in columns}
    out["raw"] = []
    bad, position = [], {}
    id_path = columns[0][2]
    for item in items:
        if not isinstance(item, dict):
            bad.append(("?", f"not an object: {str(item)[:80]}"))
            continue
        values = []
        try:
            for _name, kind, path, required in columns:
                value = _get(item, path)
                if value is None:
                    if required:
                        raise BadRecord(f"required field {'.'.join(path)} is missing")
                    values.append(None if kind != "json" else "null")
                    continue
                try:
                    values.append(CONVERT[kind](value))
                except (TypeError, ValueError):
                    raise BadRecord(
                        f"field {'.'.join(path)} is not a valid {kind}: {str(value)[:60]!r}"
                    ) from None
        except BadRecord as exc:
            bad.append((str(_get(item, id_path))[:80], str(exc)))
            continue
        values.append(_json(item))
        record_id = values[0]
        if record_id in position:  # a duplicate across pages: the later read wins
            i = position[record_id]
            for (name, *_), value in zip(columns, values, strict=False):
                out[name][i] = value
            out["raw"][i] = values[-1]
            continue
        position[record_id] = len(out["raw"])
        for (name, *_), value in zip(columns, values, strict=False):
            out[name].append(value)
        out["raw"].append(values[-1])
    return out, bad
