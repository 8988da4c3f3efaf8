"""The official `dodopayments` SDK (1.123.0) as an oracle of the sandbox's shapes.

The SDK is pointed at the in-process sandbox (no sockets, no sleeps). Its models are lenient when it
builds them from a response, so every raw JSON item is re-validated here with the SDK's own pydantic
classes: `model_validate` (a missing required field or an unknown enum value raises), a strict JSON
validation (no "12" for an int), and key checks (every field of the model is sent, nulls included,
and no key the model does not know, at any depth).

Pages are read by hand from page_number 0; the SDK's auto-pagination skips page 1
(docs/dodo-api.md §3), which `test_sdk_auto_pagination_skips_page_one` pins down.
"""

import json
from decimal import Decimal

import dodopayments
import httpx
import pydantic
import pytest
from dodopayments import types as T

from helpers import RO_KEY, make_api
from sandbox.server import SandboxTransport

BASE = "http://sandbox.test"
PAGE_SIZE = 100
DETAIL_SAMPLE = 50


def sdk_client(api) -> dodopayments.DodoPayments:
    http = httpx.Client(transport=SandboxTransport(api, sleep=lambda s: None), base_url=BASE)
    return dodopayments.DodoPayments(bearer_token=RO_KEY, base_url=BASE, http_client=http, max_retries=0)


# name -> (raw-response list method, extra query, SDK item model, id field, sandbox collection)
LISTS = {
    "payments": (
        lambda c: c.payments.with_raw_response.list,
        {},
        T.PaymentListResponse,
        "payment_id",
        "payments",
    ),
    "subscriptions": (
        lambda c: c.subscriptions.with_raw_response.list,
        {},
        T.SubscriptionListResponse,
        "subscription_id",
        "subscriptions",
    ),
    "refunds": (lambda c: c.refunds.with_raw_response.list, {}, T.RefundListItem, "refund_id", "refunds"),
    "disputes": (
        lambda c: c.disputes.with_raw_response.list,
        {},
        T.DisputeListResponse,
        "dispute_id",
        "disputes",
    ),
    "customers": (lambda c: c.customers.with_raw_response.list, {}, T.Customer, "customer_id", "customers"),
    "products": (lambda c: c.products.with_raw_response.list, {}, T.ProductListResponse, "product_id", None),
    "products_archived": (
        lambda c: c.products.with_raw_response.list,
        {"archived": True},
        T.ProductListResponse,
        "product_id",
        None,
    ),
    "ledger": (
        lambda c: c.balances.with_raw_response.retrieve_ledger,
        {},
        T.BalanceLedgerEntry,
        "id",
        "ledger",
    ),
    "payouts": (lambda c: c.payouts.with_raw_response.list, {}, T.PayoutListResponse, "payout_id", "payouts"),
}

# resource -> (raw-response retrieve method, SDK detail model, id field, list the ids come from)
DETAILS = {
    "payments": (lambda c: c.payments.with_raw_response.retrieve, T.Payment, "payment_id", "payments"),
    "subscriptions": (
        lambda c: c.subscriptions.with_raw_response.retrieve,
        T.Subscription,
        "subscription_id",
        "subscriptions",
    ),
    "refunds": (lambda c: c.refunds.with_raw_response.retrieve, T.Refund, "refund_id", "refunds"),
    "disputes": (lambda c: c.disputes.with_raw_response.retrieve, T.GetDispute, "dispute_id", "disputes"),
    "customers": (lambda c: c.customers.with_raw_response.retrieve, T.Customer, "customer_id", "customers"),
    "products": (lambda c: c.products.with_raw_response.retrieve, T.Product, "product_id", "products"),
}

# Fields both the list item and the detail model have, whose values differ by design (docs/dodo-api.md §5.3).
DIVERGENT = {
    "products": {"price"},  # an int in the list, a Price object in the detail
    "subscriptions": {"discounts"},  # {discount_id, discount_cycles_remaining} vs DiscountDetail objects
}


# -- strict validation --------------------------------------------------------------------------------
def _keys(model: type[pydantic.BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def _walk(value, path: str):
    """Every SDK model instance inside a validated value, with its path."""
    if isinstance(value, pydantic.BaseModel):
        yield path, value
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}[{k!r}]")


def validate_strictly(model: type[pydantic.BaseModel], raw: dict, where: str) -> pydantic.BaseModel:
    """Validate a raw JSON object against an SDK model, raising on anything the model would not accept."""
    assert isinstance(raw, dict), f"{where}: expected an object, got {raw!r}"
    required = [f.alias or n for n, f in model.model_fields.items() if f.is_required()]
    missing_required = [k for k in required if k not in raw]
    assert not missing_required, f"{where}: required fields missing: {missing_required}"
    missing = sorted(_keys(model) - set(raw))
    assert not missing, f"{where}: optional fields omitted (the sandbox must send null): {missing}"
    unknown = sorted(set(raw) - _keys(model))
    assert not unknown, f"{where}: keys {model.__name__} does not define: {unknown}"
    try:
        obj = model.model_validate(raw)
        model.model_validate_json(json.dumps(raw), strict=True)
    except pydantic.ValidationError as exc:
        raise AssertionError(f"{where}: {model.__name__} rejects the sandbox's JSON:\n{exc}") from None
    for path, node in _walk(obj, where):  # the same key checks inside nested objects
        name, omitted = type(node).__name__, sorted(set(type(node).model_fields) - node.model_fields_set)
        assert not omitted, f"{path}: {name} optional fields omitted (the sandbox must send null): {omitted}"
        assert not node.model_extra, f"{path}: keys {name} does not define: {sorted(node.model_extra)}"
    return obj


# -- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(small_api):
    c = sdk_client(small_api)
    yield c
    c.close()


def read_all_pages(client, name: str) -> list[dict]:
    """Every raw item of a list endpoint, paged by hand from page_number 0, checked against the SDK's parse."""
    method, query, model, id_field, _ = LISTS[name]
    items, page_number = [], 0
    while True:
        resp = method(client)(page_number=page_number, page_size=PAGE_SIZE, **query)
        body = resp.json()
        assert set(body) == {"items"}, f"{name} page {page_number}: envelope keys {sorted(body)}"
        page = resp.parse()  # what the SDK itself makes of the page
        assert [getattr(i, id_field) for i in page.items] == [r[id_field] for r in body["items"]]
        assert all(isinstance(i, model) for i in page.items)
        if not body["items"]:
            return items
        assert len(body["items"]) <= PAGE_SIZE
        items.extend(body["items"])
        page_number += 1


@pytest.fixture(scope="module")
def listed(client) -> dict[str, list[dict]]:
    return {name: read_all_pages(client, name) for name in LISTS}


# -- list endpoints -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LISTS)
def test_list_items_validate_against_sdk_models(listed, small_api, name):
    _, _, model, id_field, collection = LISTS[name]
    items = listed[name]
    assert items, f"{name}: the sandbox listed nothing"
    ids = [r[id_field] for r in items]
    assert len(ids) == len(set(ids)), f"{name}: duplicate ids across pages"
    if collection is not None:
        assert len(items) == small_api.data.totals()["resources"][collection]["count"]
    for i, raw in enumerate(items):
        validate_strictly(model, raw, f"{name}[{i}] {raw.get(id_field)}")


def test_products_archived_and_live_partition_the_catalogue(listed, small_api):
    live = {p["product_id"] for p in listed["products"]}
    archived = {p["product_id"] for p in listed["products_archived"]}
    assert not live & archived
    assert len(live | archived) == small_api.data.totals()["resources"]["products"]["count"]


# -- detail endpoints ---------------------------------------------------------------------------------
def sample_ids(listed, resource: str) -> list[str]:
    """Up to DETAIL_SAMPLE ids, plus one per status and the special cases the brief names."""
    _, _, id_field, source = DETAILS[resource]
    rows = listed[source] + (listed["products_archived"] if resource == "products" else [])
    ids = [r[id_field] for r in rows[:DETAIL_SAMPLE]]
    status_key = "dispute_status" if resource == "disputes" else "status"
    for status in sorted({r.get(status_key) for r in rows} - {None}):
        ids.append(next(r[id_field] for r in rows if r.get(status_key) == status))
    if resource == "payments":
        ids.append(next(r["payment_id"] for r in listed["refunds"] if r["status"] == "succeeded"))
        ids.append(next(r["payment_id"] for r in listed["payments"] if r["refund_status"] is not None))
        ids.append(listed["disputes"][0]["payment_id"])
        ids.append(next(r["payment_id"] for r in listed["payments"] if r["dispute_status"] is not None))
    if resource == "subscriptions":
        ids.append(next(r["subscription_id"] for r in rows if r["discounts"]))
    if resource == "products":
        ids.extend(r["product_id"] for r in listed["products_archived"])
    return list(dict.fromkeys(ids))


def retrieve_raw(client, resource: str, record_id: str) -> dict:
    method, model, id_field, _ = DETAILS[resource]
    resp = method(client)(record_id)
    parsed = resp.parse()
    assert isinstance(parsed, model) and getattr(parsed, id_field) == record_id
    return resp.json()


@pytest.fixture(scope="module")
def details(client, listed) -> dict[str, dict[str, dict]]:
    return {res: {i: retrieve_raw(client, res, i) for i in sample_ids(listed, res)} for res in DETAILS}


def test_detail_samples_cover_the_interesting_cases(listed, details):
    payments = details["payments"]
    assert any(d["status"] == "failed" for d in payments.values())
    assert any(d["refunds"] for d in payments.values())
    assert any(d["refund_status"] is not None for d in payments.values())
    assert any(d["disputes"] for d in payments.values())
    subs = details["subscriptions"].values()
    assert any(d["status"] == "cancelled" for d in subs)
    if any(r["status"] == "on_hold" for r in listed["subscriptions"]):
        assert any(d["status"] == "on_hold" for d in subs)
    for resource, got in details.items():
        assert got, f"{resource}: no detail sampled"


@pytest.mark.parametrize("resource", DETAILS)
def test_details_validate_against_sdk_models(details, resource):
    _, model, _, _ = DETAILS[resource]
    for record_id, raw in details[resource].items():
        validate_strictly(model, raw, f"{resource}/{record_id}")


@pytest.mark.parametrize("resource", DETAILS)
def test_detail_agrees_with_list_item(listed, details, resource):
    """Fields the list item and the detail share carry the same values, except the documented divergences."""
    _, detail_model, id_field, source = DETAILS[resource]
    list_model = LISTS[source][2]
    rows = listed[source] + (listed["products_archived"] if resource == "products" else [])
    by_id = {r[id_field]: r for r in rows}
    shared = (_keys(list_model) & _keys(detail_model)) - DIVERGENT.get(resource, set())
    for record_id, detail in details[resource].items():
        item = by_id[record_id]
        diff = {k: (item[k], detail[k]) for k in shared if item[k] != detail[k]}
        if resource == "payments":  # the list's customer is the limited shape; compare what both carry
            diff.pop("customer", None)
            assert all(detail["customer"][k] == v for k, v in item["customer"].items())
        assert not diff, f"{resource}/{record_id}: list and detail disagree: {diff}"


# -- list vs detail differences (docs/dodo-api.md §5) -------------------------------------------------
def test_payment_list_lacks_detail_only_fields(listed, details):
    for field in ("error_code", "tax", "updated_at"):
        assert field not in T.PaymentListResponse.model_fields and field in T.Payment.model_fields
        assert not any(field in r for r in listed["payments"]), f"payment list item carries {field}"
        assert all(field in d for d in details["payments"].values()), f"payment detail lacks {field}"
    failed = [d for d in details["payments"].values() if d["status"] == "failed"]
    assert failed and all(d["error_code"] for d in failed)
    assert any(d["tax"] is not None for d in details["payments"].values())


def test_product_price_is_int_in_list_and_object_in_detail(listed, details):
    for p in listed["products"] + listed["products_archived"]:
        assert p["price"] is None or type(p["price"]) is int, p
    kinds = {"one_time_price", "recurring_price", "usage_based_price"}
    for record_id, d in details["products"].items():
        assert isinstance(d["price"], dict) and d["price"]["type"] in kinds, (record_id, d["price"])


def test_dispute_amount_is_decimal_text(listed, details):
    amounts = [d["amount"] for d in listed["disputes"]]
    amounts += [d["amount"] for d in details["disputes"].values()]
    amounts += [x["amount"] for d in details["payments"].values() for x in d["disputes"]]
    assert amounts
    for amount in amounts:
        assert isinstance(amount, str), amount
        Decimal(amount)  # decimal text, not a number


def test_subscription_discount_shapes(listed, details):
    list_discounts = [x for s in listed["subscriptions"] for x in s["discounts"]]
    assert list_discounts, "no subscription in the sandbox carries a discount"
    for x in list_discounts:
        assert set(x) == {"discount_id", "discount_cycles_remaining"}, x
    detail_discounts = [x for s in details["subscriptions"].values() for x in s["discounts"] or []]
    assert detail_discounts
    for x in detail_discounts:
        assert "code" in x and "discount_id" in x, x


# -- the SDK's auto-pagination bug (docs/dodo-api.md §3) ----------------------------------------------
@pytest.fixture(scope="module")
def api300():
    return make_api(300)


def test_sdk_auto_pagination_skips_page_one(api300):
    total = api300.data.totals()["resources"]["payments"]["count"]
    assert total > 20
    with sdk_client(api300) as c:
        by_hand, page_number = [], 0
        while items := c.payments.list(page_number=page_number, page_size=10).items:
            by_hand.extend(p.payment_id for p in items)
            page_number += 1
        page_one = [p.payment_id for p in c.payments.list(page_number=1, page_size=10).items]
        auto = [p.payment_id for p in c.payments.list(page_size=10)]
        auto_from_zero = [p.payment_id for p in c.payments.list(page_number=0, page_size=10)]
    assert len(by_hand) == len(set(by_hand)) == total
    # The SDK computes the next page as (page_number or 1) + 1: pages 0, 2, 3, ... so page 1 is lost,
    # whether page_number=0 is passed or not.
    for got in (auto, auto_from_zero):
        assert len(got) < total
        assert len(got) == total - 10
        assert set(by_hand) - set(got) == set(page_one)
