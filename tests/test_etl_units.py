"""Unit tests of the ETL's parts: settings, rate-limit arithmetic, the HTTP client, paging, parsing.

Pure functions get literal inputs; the warehouse writer gets a real DuckDB; the client talks to an `httpx.MockTransport` with an injected
clock and sleep, so nothing touches the network or sleeps for real.
"""

import asyncio
import bisect
import json
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import duckdb
import httpx
import pytest

from conftest import FakeClock, client_for, make_api
from core.errors import ApiError, AuthError, ForbiddenError, NotFound, SettingsError
from core.settings import BASE_URLS, Secret, Settings
from etl import sync as etl_sync
from etl import warehouse as wh
from etl.client import MAX_RETRIES, DodoClient, backoff, retry_hint
from etl.limiter import Limiter
from etl.loader import Loader
from etl.pager import PAGE_SIZE, SPLIT_AFTER, Window, next_step, page_params, sdk_next_page, split
from etl.records import DISPUTES, LEDGER, PAYMENT_DETAIL, PAYMENT_LIST, SUBSCRIPTIONS, _clean, parse, table
from sandbox.ratelimit import RateLimiter

KEY = "sk_test_Zq9XUNIQUEkeyVALUE4711"  # distinctive, so a leak is easy to spot


# -- 1. Settings -------------------------------------------------------------------------------------
def env(**overrides):
    base = {"DODO_PAYMENTS_API_KEY": KEY, "DODO_PAYMENTS_ENVIRONMENT": "test_mode"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def settings_error(values) -> str:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(values)
    message = str(info.value)
    assert KEY not in message
    return message


@pytest.mark.parametrize("key", [None, "", "   "])
def test_settings_missing_key_names_the_variable(key):
    assert "DODO_PAYMENTS_API_KEY" in settings_error(env(DODO_PAYMENTS_API_KEY=key))


@pytest.mark.parametrize("mode", [None, "", "prod", "live", "TEST_MODE"])
def test_settings_environment_must_be_explicit(mode):
    assert "DODO_PAYMENTS_ENVIRONMENT" in settings_error(env(DODO_PAYMENTS_ENVIRONMENT=mode))


@pytest.mark.parametrize("url", ["api.test", "ftp://api.test", "//api.test"])
def test_settings_bad_base_url(url):
    message = settings_error(env(DODO_PAYMENTS_BASE_URL=url))
    assert "DODO_PAYMENTS_BASE_URL" in message and url in message


@pytest.mark.parametrize("zone", ["Mars/Base", "../etc/passwd"])
def test_settings_bad_timezone(zone):
    message = settings_error(env(DODO_ANALYTICS_TIMEZONE=zone))
    assert "DODO_ANALYTICS_TIMEZONE" in message and zone in message


@pytest.mark.parametrize("rate", ["abc", "12.5", "0", "-5", "100001"])
def test_settings_rate_per_minute_must_be_a_whole_number_in_range(rate):
    message = settings_error(env(DODO_ANALYTICS_RATE_PER_MINUTE=rate))
    assert "DODO_ANALYTICS_RATE_PER_MINUTE" in message and rate in message


@pytest.mark.parametrize(
    "var",
    [
        "DODO_PAYMENTS_ENVIRONMENT",
        "DODO_PAYMENTS_BASE_URL",
        "DODO_ANALYTICS_TIMEZONE",
        "DODO_ANALYTICS_RATE_PER_MINUTE",
    ],
)
def test_settings_key_pasted_into_another_variable_is_not_echoed(var):
    settings_error(env(**{var: KEY}))  # asserts KEY is absent from the message


def test_settings_base_url_without_a_host_is_rejected():
    assert "DODO_PAYMENTS_BASE_URL" in settings_error(env(DODO_PAYMENTS_BASE_URL="http://"))


@pytest.mark.parametrize("mode", ["test_mode", "live_mode"])
def test_settings_valid_env_gives_defaults(mode):
    s = Settings.from_env(env(DODO_PAYMENTS_ENVIRONMENT=mode))
    assert s.api_key.reveal() == KEY
    assert s.environment == mode
    assert s.base_url == BASE_URLS[mode] == f"https://{mode.split('_')[0]}.dodopayments.com"
    assert s.lookback_days == {"payments": 7, "refunds": 30, "disputes": 120}
    assert (s.per_second, s.per_minute, s.timezone) == (100, 1000, "UTC")


def test_settings_valid_env_reads_overrides():
    s = Settings.from_env(
        env(
            DODO_PAYMENTS_API_KEY=f"  {KEY}\n",
            DODO_PAYMENTS_BASE_URL="http://localhost:8080/",
            DODO_ANALYTICS_TIMEZONE="Europe/Berlin",
            DODO_ANALYTICS_RATE_PER_MINUTE="240",
            DODO_ANALYTICS_RATE_PER_SECOND="40",
            DODO_ANALYTICS_LOOKBACK_REFUNDS_DAYS="3",
        )
    )
    assert s.api_key.reveal() == KEY
    assert s.base_url == "http://localhost:8080"
    assert (s.timezone, s.per_second, s.per_minute) == ("Europe/Berlin", 40, 240)
    assert s.lookback_days == {"payments": 7, "refunds": 3, "disputes": 120}


def test_settings_never_show_the_key():
    s = Settings.from_env(env())
    for text in (repr(s), str(s), repr(s.api_key), str(s.api_key), f"{s}", f"{s.api_key}"):
        assert KEY not in text
    assert "****" in repr(s)


# -- 2. Limiter --------------------------------------------------------------------------------------
def flat_out(per_second: int, per_minute: int, seconds: float) -> list[float]:
    """Send as fast as the limiter allows for `seconds` of simulated time; the send times."""
    limiter, now, times = Limiter(per_second, per_minute), 0.0, []
    while True:
        while (wait := limiter.delay(now)) > 0:
            now += wait
        if now >= seconds:
            return times
        limiter.sent(now)
        times.append(now)


def most_in_any_window(times: list[float], width: float) -> int:
    """The largest number of sends inside any closed interval [t, t + width] (a sliding scan)."""
    return max(bisect.bisect_right(times, t + width) - i for i, t in enumerate(times))


@pytest.mark.parametrize("per_second, per_minute", [(100, 1000), (40, 240)])
def test_limiter_never_exceeds_either_window_and_uses_the_quota(per_second, per_minute):
    times = flat_out(per_second, per_minute, 130.0)
    assert times == sorted(times)
    assert most_in_any_window(times, 1.0) <= per_second
    assert most_in_any_window(times, 60.0) <= per_minute
    # in the long run at least 90% of the quota: any per_minute consecutive sends span <= 60 s / 0.9
    assert len(times) > 2 * per_minute
    assert max(b - a for a, b in zip(times, times[per_minute:], strict=False)) <= 60.0 / 0.9
    assert bisect.bisect_left(times, 120.0) >= 2 * 0.9 * per_minute


@pytest.mark.parametrize("per_second, per_minute", [(100, 1000), (40, 240)])
@pytest.mark.parametrize("offset", [0.0, 0.999, 30.5])
def test_limiter_sends_are_all_accepted_by_the_sandboxs_fixed_windows(per_second, per_minute, offset):
    clock = FakeClock(1_800_000_000.0)
    server = RateLimiter(per_second, per_minute, clock=clock)
    for t in flat_out(per_second, per_minute, 130.0):
        clock.t = 1_800_000_000.0 + offset + t
        assert server.hit().allowed, t


def test_limiter_observe_blocks_until_reset():
    limiter = Limiter(100, 1000)
    limiter.observe(100.0, remaining="0", reset="7")
    assert limiter.delay(100.0) == 7.0
    assert limiter.delay(103.0) == 4.0
    assert limiter.delay(107.0) == 0.0


def test_limiter_observe_with_quota_left_does_not_block():
    limiter = Limiter(100, 1000)
    limiter.observe(100.0, remaining="3", reset="7")
    assert limiter.delay(100.0) == 0.0


def test_limiter_block_takes_the_later_time():
    limiter = Limiter(100, 1000)
    limiter.block(0.0, 10.0)
    limiter.block(0.0, 3.0)
    assert limiter.delay(0.0) == 10.0
    limiter.block(5.0, 10.0)
    assert limiter.delay(5.0) == 10.0


@pytest.mark.parametrize(
    "remaining, reset", [("abc", "7"), ("0", "soon"), ("0", None), (None, "7"), ("", ""), ("0", "")]
)
def test_limiter_ignores_unparsable_headers(remaining, reset):
    limiter = Limiter(100, 1000)
    limiter.observe(50.0, remaining, reset)
    assert limiter.delay(50.0) == 0.0


# -- 3. DodoClient -----------------------------------------------------------------------------------
SETTINGS = Settings(api_key=Secret(KEY), environment="test_mode", base_url="http://api.test")
OK = {"items": [{"payment_id": "pay_1"}]}


@dataclass
class Outcome:
    result: object  # the decoded JSON, or the ApiError raised
    requests: list = field(default_factory=list)
    sleeps: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)


def call(replies, path="/payments", params=None) -> Outcome:
    """One `DodoClient.get` against a transport answering `replies` in order (a Response, or an
    exception class to raise), with a fake clock that only moves when the client sleeps."""
    replies, out = list(replies), Outcome(None)
    clock = FakeClock(1000.0)

    async def sleep(seconds):
        out.sleeps.append(seconds)
        clock.advance(seconds)
        await asyncio.sleep(0)

    async def handler(request: httpx.Request) -> httpx.Response:
        out.requests.append(request)
        reply = replies.pop(0)  # an IndexError here means the client asked more often than expected
        if isinstance(reply, type):
            raise reply("no answer in time", request=request)
        return reply

    async def main():
        transport = httpx.MockTransport(handler)
        async with DodoClient(SETTINGS, transport, clock=clock, sleep=sleep, rng=random.Random(3)) as client:
            try:
                out.result = await client.get(path, params)
            except ApiError as exc:
                out.result = exc
            out.stats = dict(client.stats)

    asyncio.run(main())
    assert [r.method for r in out.requests] == ["GET"] * len(out.requests)
    assert not replies, "the client stopped before using every reply"
    return out


def error(status, code="X", message="m", headers=None):
    return httpx.Response(status, json={"code": code, "message": message}, headers=headers)


def test_client_sends_a_bearer_get_and_returns_json():
    out = call([httpx.Response(200, json=OK)], params={"page_size": 100, "page_number": 0})
    assert out.result == OK
    (request,) = out.requests
    assert request.method == "GET"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.url == httpx.URL("http://api.test/payments?page_size=100&page_number=0")
    assert out.sleeps == []


def test_client_has_no_way_to_write():
    for name in ("post", "put", "patch", "delete", "request", "send", "stream"):
        assert not hasattr(DodoClient, name), name


def test_client_retries_503_then_returns_json():
    out = call([error(503), httpx.Response(200, json=OK)])
    assert out.result == OK
    assert len(out.requests) == 2
    assert out.stats["retries"] == 1 and out.stats["status:503"] == 1
    (slept,) = out.sleeps
    assert 0.375 <= slept <= 0.5  # backoff(0): 0.5 s with jitter in [0.75, 1]


@pytest.mark.parametrize(
    "headers, hint",
    [({"retry-after-ms": "1500"}, 1.5), ({"Retry-After": "2"}, 2.0), ({"retry-after": "0"}, 0.0)],
)
def test_client_honours_the_429_hint(headers, hint):
    out = call([error(429, "TOO_MANY_REQUESTS", headers=headers), httpx.Response(200, json=OK)])
    assert out.result == OK
    assert out.sleeps == [hint]
    assert out.stats["rate_limited"] == 1
    assert len(out.requests) == 2


def test_client_waits_out_a_long_retry_after_before_the_next_request():
    out = call([error(429, headers={"Retry-After": "120"}), httpx.Response(200, json=OK)])
    assert out.result == OK
    assert sum(out.sleeps) == pytest.approx(120.0)
    assert out.stats["rate_limited"] == 1


@pytest.mark.parametrize(
    "body", [b'{"items": [{"payment_id": "pay_1"', b"", b"<html>oops</html>", b"\xff\xfe{"]
)
def test_client_retries_a_broken_json_200(body):
    broken = httpx.Response(200, content=body, headers={"content-type": "application/json"})
    out = call([broken, httpx.Response(200, json=OK)])
    assert out.result == OK
    assert len(out.requests) == 2 and out.stats["retries"] == 1


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError])
def test_client_retries_timeouts_and_transport_errors(exc):
    out = call([exc, exc, httpx.Response(200, json=OK)])
    assert out.result == OK
    assert len(out.requests) == 3 and len(out.sleeps) == 2


def test_client_gives_up_after_max_retries_plus_one():
    out = call([error(503)] * (MAX_RETRIES + 1))
    assert isinstance(out.result, ApiError) and not isinstance(out.result, AuthError | NotFound)
    message = str(out.result)
    assert f"failed after {MAX_RETRIES + 1} attempts" in message
    assert "/payments" in message and "HTTP 503" in message
    assert len(out.requests) == MAX_RETRIES + 1
    assert len(out.sleeps) == MAX_RETRIES
    assert KEY not in message


def test_client_gives_up_after_timeouts_saying_so():
    out = call([httpx.ReadTimeout] * (MAX_RETRIES + 1))
    assert "failed after" in str(out.result) and "ReadTimeout" in str(out.result)


def test_client_401_explains_test_and_live_keys():
    out = call([error(401, "UNAUTHORIZED", "You are not authorised to perform this action.")])
    assert type(out.result) is AuthError
    message = str(out.result)
    assert "test and live" in message and "DODO_PAYMENTS_API_KEY" in message and "test_mode" in message
    assert KEY not in message
    assert len(out.requests) == 1


def test_client_403_names_the_path():
    out = call([error(403, "FORBIDDEN")], path="/disputes")
    assert type(out.result) is ForbiddenError
    assert out.result.path == "/disputes" and "/disputes" in str(out.result)
    assert len(out.requests) == 1


def test_client_404_is_not_found():
    out = call([error(404, "NOT_FOUND", "no such payment")], path="/payments/pay_x")
    assert type(out.result) is NotFound
    assert "/payments/pay_x" in str(out.result)
    assert len(out.requests) == 1


def test_client_422_is_not_retried():
    out = call([error(422, "INVALID_REQUEST", "page_size must be at most 100")])
    assert type(out.result) is ApiError
    assert "422" in str(out.result) and "page_size must be at most 100" in str(out.result)
    assert len(out.requests) == 1 and out.sleeps == []


def test_backoff_follows_the_sdk_schedule_with_jitter():
    for n in range(12):
        cap = min(0.5 * 2**n, 8.0)
        values = [backoff(n, random.Random(seed)) for seed in range(200)]
        assert all(0.75 * cap <= v <= cap for v in values), n
        assert max(values) - min(values) > 0.1 * cap  # there is jitter
    assert 6.0 <= backoff(30, random.Random(0)) <= 8.0


def test_retry_hint_parses_seconds_ms_and_dates():
    assert retry_hint(httpx.Headers({"retry-after": "3"})) == 3.0
    assert retry_hint(httpx.Headers({"retry-after": "1.5"})) == 1.5
    assert retry_hint(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert retry_hint(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_hint(httpx.Headers({"retry-after-ms": "soon", "retry-after": "9"})) == 9.0
    assert retry_hint(httpx.Headers({"retry-after": "-4"})) == 0.0
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 115.0 <= retry_hint(httpx.Headers({"retry-after": soon})) <= 121.0
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry_hint(httpx.Headers({"retry-after": past})) == 0.0
    assert retry_hint(httpx.Headers({"retry-after": "whenever"})) is None
    assert retry_hint(httpx.Headers({})) is None


# -- 4. Pager ----------------------------------------------------------------------------------------
def full_page():
    return [{}] * PAGE_SIZE


def test_page_params_for_a_window():
    w = Window(1_780_000_000_000_000, 1_780_000_000_123_456, (("archived", "true"),))
    assert page_params(w, 3) == {
        "archived": "true",
        "page_size": 100,
        "page_number": 3,
        "created_at_gte": "2026-05-28T20:26:40.000000Z",
        "created_at_lte": "2026-05-28T20:26:40.123456Z",
    }
    assert page_params(Window(None, None), 0) == {"page_size": 100, "page_number": 0}
    assert page_params(Window(0, None), 0)["created_at_gte"] == "1970-01-01T00:00:00.000000Z"


@pytest.mark.parametrize("n", [0, 1, PAGE_SIZE - 1])
def test_next_step_short_page_is_done(n):
    w = Window(0, 1_000_000)
    assert next_step(w, 0, [{}] * n, 500) == ("done", [])
    assert next_step(w, SPLIT_AFTER + 5, [{}] * n, 500) == ("done", [])


def test_next_step_full_page_reads_on_until_split_after():
    w = Window(0, 1_000_000)
    for page in range(SPLIT_AFTER - 1):
        assert next_step(w, page, full_page(), 900_000 - page) == ("next", []), page


@pytest.mark.parametrize("gte, lte, oldest", [(0, 1_000_000, 400_000), (10, 10_000, 11), (5, 99, 98)])
def test_next_step_splits_the_unread_rest_after_split_after_pages(gte, lte, oldest):
    w = Window(gte, lte, (("status", "succeeded"),))
    step, windows = next_step(w, SPLIT_AFTER - 1, full_page(), oldest)
    assert step == "split"
    assert len(windows) == (2 if oldest - gte >= 2 else 1)  # a 2-microsecond rest is not cut further
    assert windows[0].gte == gte and windows[-1].lte == oldest
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.lte + 1 == b.gte
    assert all(x.gte <= x.lte and x.extra == w.extra for x in windows)


def test_next_step_keeps_paging_when_the_page_is_all_at_the_windows_end():
    w = Window(0, 1_000_000)
    assert next_step(w, SPLIT_AFTER - 1, full_page(), 1_000_000) == ("next", [])
    assert next_step(w, SPLIT_AFTER + 7, full_page(), 1_000_000) == ("next", [])


@pytest.mark.parametrize(
    "gte, lte", [(0, 9), (0, 10), (7, 1_000_006), (-50, 50), (1_780_000_000_000_000, 1_780_086_399_999_999)]
)
@pytest.mark.parametrize("parts", [2, 3, 7])
def test_split_covers_the_window_exactly(gte, lte, parts):
    windows = split(Window(gte, lte, (("a", "b"),)), parts)
    assert len(windows) == parts
    assert windows[0].gte == gte and windows[-1].lte == lte
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.lte + 1 == b.gte
    assert all(w.gte <= w.lte and w.extra == (("a", "b"),) for w in windows)
    assert sum(w.lte - w.gte + 1 for w in windows) == lte - gte + 1


def test_split_leaves_tiny_or_unbounded_windows_whole():
    assert split(Window(5, 6), 2) == [Window(5, 6)]
    assert split(Window(None, 100), 2) == [Window(None, 100)]
    assert split(Window(0, None), 2) == [Window(0, None)]


def test_sdk_next_page_skips_page_one():
    # The API pages from 0. The SDKs' `(page_number or 1) + 1` goes 0 -> 2, so page 1 is never read.
    assert sdk_next_page(None) == 2
    assert sdk_next_page(0) == 2
    assert sdk_next_page(2) == 3


# -- 5. Records --------------------------------------------------------------------------------------
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


# -- 6. The writer thread ---------------------------------------------------------------------------
def test_loader_keeps_order_batches_commits_and_fails_only_the_bad_one(tmp_path):
    con = wh.open_work(tmp_path / "w.duckdb")
    release = threading.Event()
    entry = {
        "created_at": "2026-01-01T00:00:00Z",
        "amount": 100,
        "currency": "USD",
        "event_type": "payment",
        "is_credit": True,
    }

    def blocked(con):
        release.wait(5)  # the writer is busy: the commits below queue up and share transactions

    def change(n):
        rows = table(LEDGER, [dict(entry, id=f"led_{n // 10}")])[0]
        return wh.Change("ledger", "ledger_entries", rows, False, rejected=((n, "ledger", str(n), ""),))

    async def queued_behind_a_busy_writer(loader, ns):
        release.clear()
        first = asyncio.ensure_future(loader.call(blocked))
        await asyncio.sleep(0.05)
        jobs = [asyncio.ensure_future(loader.commit(change(n))) for n in ns]
        await asyncio.sleep(0.05)
        release.set()
        await first
        return await asyncio.gather(*jobs, return_exceptions=True)

    async def go():
        loader = Loader(con)
        try:
            # led_3 is inserted twice: that change alone fails (its rejected record with it), the others commit
            failing = await queued_behind_a_busy_writer(loader, (10, 20, 30, 31, 40))
            clean = await queued_behind_a_busy_writer(loader, (50, 60, 70))
            return failing, clean
        finally:
            loader.close()

    failing, clean = asyncio.run(go())
    assert [type(r).__name__ for r in failing] == [
        "NoneType",
        "NoneType",
        "NoneType",
        "ConstraintException",
        "NoneType",
    ]
    assert clean == [None, None, None]
    assert con.execute("SELECT id FROM ledger_entries ORDER BY id").fetchall() == [
        (f"led_{n}",) for n in range(1, 8)
    ]
    assert con.execute("SELECT run_id FROM rejected_records ORDER BY 1").fetchall() == [
        (n,) for n in (10, 20, 30, 40, 50, 60, 70)
    ]
    # the clean changes queued together went in as one transaction and one statement: one synced_at
    stamps = con.execute(
        "SELECT count(DISTINCT synced_at) FROM ledger_entries WHERE id IN ('led_5', 'led_6', 'led_7')"
    )
    assert stamps.fetchall() == [(1,)]
    assert con.execute("SELECT current_setting('threads')").fetchall()[0][0] > 1  # reset for the metrics


def test_store_replaces_a_record_read_twice_in_a_first_backfill(tmp_path):
    """A first backfill inserts without replacing (fast); a record read again (split windows share an
    instant) must replace its row, not fail the window."""
    con = wh.open_work(tmp_path / "w.duckdb")
    sync = etl_sync.Sync(Settings.from_env(env()), None, con)
    sync.out, sync.fresh = etl_sync.Outcome(1, None), {"ledger_entries"}
    entry = {
        "id": "led_1",
        "created_at": "2026-01-01T00:00:00Z",
        "amount": 100,
        "currency": "USD",
        "event_type": "payment",
        "is_credit": True,
    }
    ledger = etl_sync.RESOURCES["ledger"]

    async def go():
        sync.db = Loader(con)
        try:
            for amount in (100, 250):
                await sync.store(ledger, *table(LEDGER, [dict(entry, amount=amount)]))
        finally:
            sync.db.close()

    asyncio.run(go())
    assert con.execute("SELECT id, amount FROM ledger_entries").fetchall() == [("led_1", 250)]


@pytest.mark.parametrize("header", [None, "", "not a date", "Thu, 99 Nov 2026 25:61:00 GMT"])
def test_pin_falls_back_to_this_machines_clock_without_a_usable_date_header(header):
    con = duckdb.connect()
    con.execute(wh.BOOKKEEPING)
    started = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    through, note = etl_sync.pin(con, header, started)
    assert through == started and "no usable Date header" in note


def test_pin_never_trusts_a_server_clock_ahead_of_this_machines():
    con = duckdb.connect()
    con.execute(wh.BOOKKEEPING)
    started = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    ahead = format_datetime(started + timedelta(days=1), usegmt=True)
    through, note = etl_sync.pin(con, ahead, started)
    assert through == started and "ahead of this machine's" in note
    near = format_datetime(started + timedelta(minutes=2), usegmt=True)  # ordinary skew: the API's clock
    assert etl_sync.pin(con, near, started) == (started + timedelta(minutes=2), None)
