"""Query parameters of each list endpoint (docs/dodo-api.md §3, §4) and their validation."""

from .clock import parse_iso
from .enums import (
    CURRENCIES,
    DISPUTE_STAGES,
    DISPUTE_STATUSES,
    LEDGER_EVENT_TYPES,
    PAYMENT_STATUSES,
    REFUND_STATUSES,
    SUBSCRIPTION_STATUSES,
)


class BadParam(ValueError):
    """A malformed query value; the message names the parameter."""


def _integer(lo, hi):
    def parse(name, text):
        try:
            value = int(text)
        except ValueError:
            raise BadParam(f"{name} must be an integer, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise BadParam(f"{name} must be {bound}, got {value}")
        return value

    return parse


def _choice(values):
    def parse(name, text):
        if text not in values:
            shown = ", ".join(sorted(values)) if len(values) < 30 else "an ISO 4217 code such as USD"
            raise BadParam(f"{name} must be one of {shown}; got {text!r}")
        return text

    return parse


def _date(name, text):
    try:
        return parse_iso(text)
    except ValueError as exc:
        raise BadParam(f"{name}: {exc}") from None


def _boolean(name, text):
    if text not in ("true", "false"):
        raise BadParam(f"{name} must be true or false, got {text!r}")
    return text == "true"


def _text(name, text):
    return text


PAGE = {"page_size": _integer(0, 100), "page_number": _integer(0, None)}
CREATED = {"created_at_gte": _date, "created_at_lte": _date}

PARAMS = {
    "payments": {
        **PAGE,
        **CREATED,
        "brand_id": _text,
        "currency": _choice(CURRENCIES),
        "customer_id": _text,
        "product_id": _text,
        "status": _choice(PAYMENT_STATUSES),
        "subscription_id": _text,
    },
    "subscriptions": {
        **PAGE,
        **CREATED,
        "brand_id": _text,
        "cancel_at_next_billing_date": _boolean,
        "customer_id": _text,
        "product_id": _text,
        "status": _choice(SUBSCRIPTION_STATUSES + ("past_due",)),
    },
    "refunds": {
        **PAGE,
        **CREATED,
        "customer_id": _text,
        "status": _choice(REFUND_STATUSES),
        "subscription_id": _text,
    },
    "disputes": {
        **PAGE,
        **CREATED,
        "customer_id": _text,
        "dispute_stage": _choice(DISPUTE_STAGES),
        "dispute_status": _choice(DISPUTE_STATUSES),
    },
    "customers": {**PAGE, **CREATED, "email": _text, "name": _text},
    "products": {**PAGE, "archived": _boolean, "brand_id": _text, "recurring": _boolean},
    "ledger": {
        **PAGE,
        **CREATED,
        "currency": _choice(CURRENCIES),
        "event_type": _choice(LEDGER_EVENT_TYPES),
        "limit": _integer(1, 100),
        "reference_object_id": _text,
    },
    "payouts": {**PAGE, **CREATED},
}


def parse_params(resource: str, pairs: list[tuple[str, str]]) -> dict:
    """Validated values of the known parameters; unknown parameters are ignored, as the API does."""
    spec, out = PARAMS[resource], {}
    for name, text in pairs:
        if name in spec:
            out[name] = spec[name](name, text)
    return out
