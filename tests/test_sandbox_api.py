"""The sandbox's HTTP contract: pagination, filters, ordering, errors, auth, rate limits, faults."""

import json

import httpx
import pytest

from helpers import RO_KEY, RW_KEY, FakeClock, client_for, make_api, read_all
from sandbox.faults import FaultConfig, Faults

LISTS = ["/payments", "/subscriptions", "/refunds", "/disputes", "/customers", "/balances/ledger", "/payouts"]
ID_FIELD = {
    "/payments": "payment_id",
    "/subscriptions": "subscription_id",
    "/refunds": "refund_id",
    "/disputes": "dispute_id",
    "/customers": "customer_id",
    "/balances/ledger": "id",
    "/payouts": "payout_id",
    "/products": "product_id",
}
TOTAL_KEY = {"/balances/ledger": "ledger"}


@pytest.mark.parametrize("path", LISTS)
def test_paging_from_zero_returns_every_object_once_newest_first(small_api, small_client, path):
    items = read_all(small_client, path)
    ids = [i[ID_FIELD[path]] for i in items]
    assert len(ids) == len(set(ids))
    total = small_api.data.totals()["resources"][TOTAL_KEY.get(path, path.strip("/"))]["count"]
    assert len(ids) == total and total > 0
    keys = [(i["created_at"], i[ID_FIELD[path]]) for i in items]
    assert keys == sorted(keys, reverse=True)


def test_products_hide_archived_unless_asked(small_api, small_client):
    live = read_all(small_client, "/products")
    archived = read_all(small_client, "/products", archived="true")
    assert len(live) + len(archived) == small_api.data.totals()["resources"]["products"]["count"]
    assert len(archived) == 1 and "archived" in archived[0]["name"]
    assert {p["is_recurring"] for p in read_all(small_client, "/products", recurring="false")} == {False}


def test_default_page_size_is_ten_and_past_the_end_is_empty(small_client):
    assert len(small_client.get("/payments").json()["items"]) == 10
    assert small_client.get("/payments", params={"page_size": 100, "page_number": 50}).json() == {"items": []}
    assert small_client.get("/payments", params={"page_size": 0}).json() == {"items": []}


def test_equality_filters(small_client):
    failed = read_all(small_client, "/payments", status="failed")
    assert failed and {p["status"] for p in failed} == {"failed"}
    one = failed[0]
    mine = read_all(small_client, "/payments", customer_id=one["customer"]["customer_id"])
    assert one["payment_id"] in {p["payment_id"] for p in mine}
    assert {p["customer"]["customer_id"] for p in mine} == {one["customer"]["customer_id"]}
    renewal = next(p for p in failed if p["subscription_id"])
    sub = read_all(small_client, "/payments", subscription_id=renewal["subscription_id"])
    assert {p["subscription_id"] for p in sub} == {renewal["subscription_id"]}
    jpy = read_all(small_client, "/payments", currency="JPY")
    assert jpy and {p["currency"] for p in jpy} == {"JPY"}
    on_hold = read_all(small_client, "/subscriptions", status="on_hold")
    assert {s["status"] for s in on_hold} <= {"on_hold"}
    assert read_all(small_client, "/payments", customer_id="cus_nobody") == []
    ledger = read_all(small_client, "/balances/ledger", event_type="payment_fees", currency="USD")
    assert ledger and {(e["event_type"], e["currency"]) for e in ledger} == {("payment_fees", "USD")}


def test_customer_name_matches_part_of_the_name_ignoring_case(small_client):
    first = small_client.get("/customers").json()["items"][0]
    part = first["name"].split()[1][:4].upper()
    found = read_all(small_client, "/customers", name=part)
    assert first["customer_id"] in {c["customer_id"] for c in found}
    assert all(part.lower() in c["name"].lower() for c in found)
    assert (
        read_all(small_client, "/customers", email=first["email"])[0]["customer_id"] == first["customer_id"]
    )


def test_created_at_bounds_are_inclusive(small_client):
    items = small_client.get("/payments", params={"page_size": 5}).json()["items"]
    t = items[2]["created_at"]
    exact = read_all(small_client, "/payments", created_at_gte=t, created_at_lte=t)
    assert items[2]["payment_id"] in {p["payment_id"] for p in exact}
    older = read_all(small_client, "/payments", created_at_lte=t)
    assert all(p["created_at"] <= t for p in older) and items[2]["payment_id"] in {
        p["payment_id"] for p in older
    }
    # An offset form of the same instant works too.
    same = read_all(small_client, "/payments", created_at_gte=t.replace("Z", "+00:00"), created_at_lte=t)
    assert {p["payment_id"] for p in same} == {p["payment_id"] for p in exact}


@pytest.mark.parametrize(
    "params, named",
    [
        ({"page_size": 101}, "page_size"),
        ({"page_size": -1}, "page_size"),
        ({"page_number": -1}, "page_number"),
        ({"page_number": "two"}, "page_number"),
        ({"created_at_gte": "yesterday"}, "created_at_gte"),
        ({"created_at_lte": "2026-01-01T00:00:00"}, "created_at_lte"),
        ({"status": "paid"}, "status"),
        ({"currency": "XYZ"}, "currency"),
        ({"page_number": 501, "page_size": 100}, "page_number"),
    ],
)
def test_bad_query_values_get_422_naming_the_parameter(small_client, params, named):
    r = small_client.get("/payments", params=params)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "INVALID_QUERY_PARAMS" and named in body["message"]


def test_bad_boolean_and_limit(small_client):
    r = small_client.get("/subscriptions", params={"cancel_at_next_billing_date": "yes"})
    assert r.status_code == 422 and "cancel_at_next_billing_date" in r.json()["message"]
    r = small_client.get("/balances/ledger", params={"limit": 0})
    assert r.status_code == 422 and "limit" in r.json()["message"]
    assert len(small_client.get("/balances/ledger", params={"limit": 7}).json()["items"]) == 7


def test_auth_and_unknown_paths(small_api):
    for key in (None, "sk_test_wrong"):
        with client_for(small_api, key) as c:
            r = c.get("/payments")
            assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED"
    with client_for(small_api, RO_KEY) as c:
        assert c.post("/payments", json={}).status_code == 401
        assert c.delete("/customers/cus_x").json()["code"] == "UNAUTHORIZED"
        r = c.get("/nothing/here")
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
        r = c.get("/payments/pay_missing")
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    with client_for(small_api, RW_KEY) as c:
        assert c.post("/payments", json={}).status_code == 405
        assert c.get("/payments").status_code == 200


def test_read_only_key_can_be_refused_a_resource():
    api = make_api(300, ro_denied=("balances/ledger",))
    with client_for(api, RO_KEY) as c:
        r = c.get("/balances/ledger")
        assert r.status_code == 403 and "/balances/ledger" in r.json()["message"]
        assert c.get("/payments").status_code == 200
    with client_for(api, RW_KEY) as c:
        assert c.get("/balances/ledger").status_code == 200


def test_every_response_carries_the_sandbox_date_and_rate_headers(small_client):
    for r in (small_client.get("/payments"), small_client.get("/payments/pay_missing")):
        assert r.headers["date"] == "Tue, 30 Jun 2026 00:00:00 GMT"
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(r.headers)


def test_rate_limit_holds_both_windows():
    clock = FakeClock(1_800_000_000.0)  # a whole minute
    api = make_api(300, per_second=5, per_minute=12, clock=clock)
    with client_for(api) as c:
        got = [c.get("/products") for _ in range(6)]
        assert [r.status_code for r in got] == [200] * 5 + [429]
        assert got[4].headers["x-ratelimit-remaining"] == "0" and got[4].headers["x-ratelimit-limit"] == "5"
        assert got[5].json()["code"] == "TOO_MANY_REQUESTS" and got[5].headers["retry-after"] == "1"
        clock.advance(1)
        assert [c.get("/products").status_code for _ in range(6)] == [200] * 5 + [429]
        clock.advance(1)
        got = [c.get("/products") for _ in range(3)]
        assert [r.status_code for r in got] == [200, 200, 429]  # the minute's 12 are spent
        assert got[1].headers["x-ratelimit-limit"] == "12"
        assert got[2].headers["retry-after"] == "58"
        clock.advance(58)
        assert c.get("/products").status_code == 200


def test_default_tier_profile_numbers():
    from sandbox.ratelimit import PROFILES

    assert PROFILES["default"] == (40, 240) and PROFILES["tier1"] == (100, 1000)


def fault_api(**config):
    return make_api(300, faults=Faults(FaultConfig(**config)))


def test_error_faults_answer_5xx_with_html_from_the_gateway():
    with client_for(fault_api(error_rate=1.0, seed=3)) as c:
        codes = {c.get("/payments").status_code for _ in range(40)}
        assert codes == {500, 502, 503}
        r = next(r for r in (c.get("/payments") for _ in range(40)) if r.status_code == 502)
        assert r.headers["content-type"] == "text/html"


def test_hung_requests_time_out_in_process():
    with client_for(fault_api(hang_rate=1.0)) as c, pytest.raises(httpx.ReadTimeout):
        c.get("/payments")


def test_truncated_bodies_are_invalid_json():
    with client_for(fault_api(truncate_rate=1.0)) as c:
        r = c.get("/payments")
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)


def test_latency_is_injected_through_the_transport_sleep():
    from sandbox.server import SandboxTransport

    slept = []
    api = fault_api(latency_ms=150, latency_max_ms=250)
    transport = SandboxTransport(api, sleep=slept.append)
    with httpx.Client(
        transport=transport, base_url="http://s", headers={"Authorization": f"Bearer {RO_KEY}"}
    ) as c:
        for _ in range(20):
            c.get("/products")
    assert len(slept) == 20 and all(0.15 <= s <= 0.25 for s in slept) and len(set(slept)) > 1


def test_forced_429_bursts_and_control_endpoint():
    api = fault_api(burst_429=2, burst_every=10)
    with client_for(api) as c:
        codes = [c.get("/products").status_code for _ in range(20)]
        assert codes.count(429) == 4
        r = c.post("/_sandbox/faults", json={"force_429": 3, "burst_429": 0})
        assert r.status_code == 200 and r.json()["force_429"] == 3
        assert [c.get("/products").status_code for _ in range(4)] == [429, 429, 429, 200]
        assert c.post("/_sandbox/faults", json={"nonsense": 1}).status_code == 422


def test_fault_knobs_refuse_values_that_would_hang_or_break_every_call(reliability):
    api = make_api(300)
    with client_for(api) as c:
        for bad in ({"latency_ms": "inf"}, {"latency_ms": 1e12}, {"error_rate": 2}, {"hang_rate": "nan"}):
            r = c.post("/_sandbox/faults", json=bad)
            assert r.status_code == 422, bad
        assert api.faults.config.latency_ms == 0 and api.faults.config.error_rate == 0
    reliability(
        "Sandbox fault knobs", "latency inf and 1e12 ms, error rate 2, hang rate nan", 4, "each refused (422)"
    )


def test_control_endpoints_refuse_a_web_pages_request(reliability):
    api = make_api(300)
    with client_for(api) as c:
        # what a page on any site can send without asking: a text/plain POST, with its Origin
        r = c.post(
            "/_sandbox/faults",
            content=b'{"error_rate": 1}',
            headers={"content-type": "text/plain", "origin": "https://attacker.example"},
        )
        assert r.status_code == 403 and api.faults.config.error_rate == 0
        assert (
            c.post("/_sandbox/advance?days=7", headers={"origin": "https://attacker.example"}).status_code
            == 403
        )
        assert (
            c.post("/_sandbox/faults", json={"error_rate": 0.5}).status_code == 200
        )  # curl, a test: no Origin
    reliability(
        "Sandbox control from a web page",
        "a cross-origin text/plain POST to /_sandbox/faults and /_sandbox/advance",
        2,
        "refused (403); nothing changed",
    )


def test_stats_count_requests_by_method(small_api):
    api = make_api(300)
    with client_for(api, RW_KEY) as c:
        c.get("/payments")
        c.post("/payments", json={})
        stats = c.get("/_sandbox/stats").json()
    assert stats["method:GET"] == 1 and stats["method:POST"] == 1 and stats["requests"] == 2
