"""etl/records.py: API objects to Arrow columns, the fast way and the field-by-field way, held equal."""

import json

import pytest

from etl.records import DISPUTES, LEDGER, PAYMENT_DETAIL, PAYMENT_LIST, SUBSCRIPTIONS, _clean, parse, table
from helpers import client_for, make_api


@pytest.fixture(scope="module")
def payment_items():
    with client_for(make_api(20)) as c:
        r = c.get("/payments", params={"page_size": 5, "page_number": 0})
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 5
    return items


def test_parse_a_sandbox_payment(payment_items):
    item = payment_items[0]
    out, bad = parse(PAYMENT_LIST, [item])
    assert bad == []
    assert out["payment_id"] == [item["payment_id"]]
    # timestamps stay RFC 3339 text (checked here) until DuckDB casts them in bulk
    assert out["created_at"] == [item["created_at"]] and item["created_at"].endswith("Z")
    assert type(out["total_amount"][0]) is int and out["total_amount"][0] == item["total_amount"]
    assert out["customer_id"] == [item["customer"]["customer_id"]]
    assert json.loads(out["raw"][0]) == item
    assert set(out) == {name for name, *_ in PAYMENT_LIST} | {"raw"}


def test_parse_duplicate_id_keeps_the_last(payment_items):
    first = payment_items[0]
    later = {**first, "total_amount": first["total_amount"] + 1, "status": "failed"}
    out, bad = parse(PAYMENT_LIST, [first, payment_items[1], later])
    assert bad == []
    assert sorted(out["payment_id"]) == sorted([first["payment_id"], payment_items[1]["payment_id"]])
    kept = out["payment_id"].index(first["payment_id"])
    assert out["total_amount"][kept] == first["total_amount"] + 1
    assert out["status"][kept] == "failed"
    assert json.loads(out["raw"][kept]) == later
    assert all(len(v) == 2 for v in out.values())


def test_parse_reports_bad_items_and_keeps_good_ones(payment_items):
    good_a, good_b, p2, p3, p4 = payment_items
    no_currency = {k: v for k, v in p2.items() if k != "currency"}
    string_amount = {**p3, "total_amount": str(p3["total_amount"])}
    no_customer = {**p4, "customer": {"email": "a@b.c"}}
    out, bad = parse(PAYMENT_LIST, [good_a, no_currency, string_amount, "not-a-payment", no_customer, good_b])
    assert out["payment_id"] == [good_a["payment_id"], good_b["payment_id"]]
    assert all(len(v) == 2 for v in out.values())
    reasons = dict(bad)
    assert set(reasons) == {p2["payment_id"], p3["payment_id"], "?", p4["payment_id"]} and len(bad) == 4
    assert "currency" in reasons[p2["payment_id"]] and "missing" in reasons[p2["payment_id"]]
    assert "total_amount" in reasons[p3["payment_id"]] and "int" in reasons[p3["payment_id"]]
    assert "not an object" in reasons["?"]
    assert "customer.customer_id" in reasons[p4["payment_id"]]


@pytest.mark.parametrize("amount", [True, 12.0, None])
def test_parse_rejects_non_integer_money(payment_items, amount):
    out, bad = parse(PAYMENT_LIST, [{**payment_items[0], "total_amount": amount}])
    assert out["payment_id"] == []
    assert len(bad) == 1 and "total_amount" in bad[0][1]


# Changes to a clean payment that pyarrow might read differently from `parse` if it were trusted
# with them: `table` must give exactly what `parse` gives, whichever way it takes.
ODD_PAYMENTS = {
    "float amount": {"total_amount": 12.0},
    "bool amount": {"total_amount": True},
    "amount beyond 64 bits": {"total_amount": 2**64},
    "int as text": {"currency": 5},
    "int as bool": {"digital_products_delivered": 1},
    "text in a list column": {"subscription_ids": "sub_1"},
    "empty text as the customer": {"customer": ""},
    "empty list as the customer": {"customer": []},
    "list of pairs as the customer": {"customer": [["customer_id", "cus_x"]]},
    "customer without its id": {"customer": {"email": "a@b.c"}},
    "optional text missing": {"customer": {"customer_id": "cus_x"}},
    "naive timestamp": {"created_at": "2026-06-01T12:00:00"},
    "February 30": {"created_at": "2026-02-30T00:00:00Z"},
    "second 60": {"created_at": "2026-06-01T23:59:60Z"},
    "space for T": {"created_at": "2026-06-01 12:00:00Z"},
    "no created_at": {"created_at": None},
    "year 1600 (beyond Arrow's nanoseconds)": {"created_at": "1600-01-01T00:00:00Z"},
    "offset of 99 minutes": {"created_at": "2026-06-01T00:00:00+00:99"},
    "offset without a colon": {"created_at": "2026-06-01T00:00:00.5-0530"},
    "service periods of any shape": {"service_periods": {"odd": [1, None]}},
    "status null": {"status": None},
}


@pytest.mark.parametrize("change", list(ODD_PAYMENTS.values()), ids=list(ODD_PAYMENTS))
def test_table_gives_what_parse_gives(payment_items, change):
    items = payment_items[:2] + [{**payment_items[2], **change}] + payment_items[3:]
    batch, bad = table(PAYMENT_LIST, items)
    values, expected_bad = parse(PAYMENT_LIST, items)
    assert bad == expected_bad
    assert batch.to_pydict() == values and len(batch) == len(values["raw"]) >= 4
    clean = table(PAYMENT_LIST, payment_items)[0]
    assert batch.schema == clean.schema  # a clean and an odd batch of one table insert as one statement


def test_table_reads_clean_pages_without_parse_and_gives_the_same(payment_items):
    with client_for(make_api(60)) as c:
        pages = {
            path: c.get(path, params={"page_size": 100}).json()["items"]
            for path in ("/payments", "/subscriptions")
        }
        details = [c.get(f"/payments/{p['payment_id']}").json() for p in pages["/payments"][:20]]
    duplicated = payment_items + [payment_items[0]]
    for columns, items in [
        (PAYMENT_LIST, pages["/payments"]),
        (SUBSCRIPTIONS, pages["/subscriptions"]),
        (PAYMENT_DETAIL, details),
        (DISPUTES, [DISPUTE, {**DISPUTE, "dispute_id": "dsp_2"}]),
    ]:
        assert len(items) > 1 and _clean(columns, items) is not None  # the fast way is taken
        batch, bad = table(columns, items)
        assert bad == [] and batch.to_pydict() == parse(columns, items)[0]
    assert _clean(PAYMENT_LIST, duplicated) is None  # a repeated id goes through parse, which keeps the last
    assert table(PAYMENT_LIST, duplicated)[0].to_pydict() == parse(PAYMENT_LIST, duplicated)[0]


DISPUTE = {
    "dispute_id": "dsp_1",
    "payment_id": "pay_1",
    "created_at": "2026-06-01T12:00:00.123Z",
    "amount": "15000",
    "currency": "USD",
    "dispute_stage": "dispute",
    "dispute_status": "dispute_opened",
}


def test_parse_dispute_amounts():
    items = [
        DISPUTE,
        {**DISPUTE, "dispute_id": "dsp_2", "amount": "12.5"},
        {**DISPUTE, "dispute_id": "dsp_3", "amount": 700},
    ]
    out, bad = parse(DISPUTES, items)
    assert out["dispute_id"] == ["dsp_1", "dsp_3"]
    assert out["amount"] == [15000, 700]
    assert out["created_at"][0] == "2026-06-01T12:00:00.123Z"
    assert len(bad) == 1 and bad[0][0] == "dsp_2" and "amount" in bad[0][1] and "12.5" in bad[0][1]


def test_parse_keeps_unknown_fields_in_raw():
    item = {**DISPUTE, "brand_new_field": {"nested": [1, 2]}, "ünïcode": "€"}
    out, bad = parse(DISPUTES, [item])
    assert bad == []
    raw = json.loads(out["raw"][0])
    assert raw["brand_new_field"] == {"nested": [1, 2]} and raw["ünïcode"] == "€"
    assert "brand_new_field" not in out


@pytest.mark.parametrize("text", ["2026-06-01T12:00:00", "2026-06-01", "yesterday", "2026-06-01 12:00:00Z"])
def test_parse_refuses_timestamps_without_a_zone_or_not_rfc3339(text):
    item = {
        "id": "led_1",
        "created_at": text,
        "amount": 5,
        "currency": "USD",
        "event_type": "payment",
        "is_credit": True,
    }
    out, bad = parse(LEDGER, [item])
    assert out["id"] == [] and bad[0][0] == "led_1" and "created_at" in bad[0][1]


@pytest.mark.parametrize(
    "field, value",
    [
        ("created_at", "2026-13-45T10:00:00Z"),
        ("created_at", "2026-02-30T00:00:00Z"),
        ("amount", 2**63),
        ("amount", -(2**63) - 1),
    ],
)
def test_parse_refuses_impossible_dates_and_out_of_range_money(field, value):
    item = {
        "id": "led_1",
        "created_at": "2026-06-01T00:00:00Z",
        "amount": 5,
        "currency": "USD",
        "event_type": "payment",
        "is_credit": True,
        field: value,
    }
    out, bad = parse(LEDGER, [item])
    assert out["id"] == [] and bad[0][0] == "led_1" and field in bad[0][1]


@pytest.mark.parametrize("text", ["2026-01-01", "2026-01-01T00:00", "2026-01-01T00:00:00+00:00", "20260101"])
def test_since_is_always_an_aware_instant(text):
    from etl.cli import _since

    since = _since(text)
    assert since.tzinfo is not None and since.isoformat().startswith("2026-01-01T00:00:00")
