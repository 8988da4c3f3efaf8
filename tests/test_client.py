"""etl/client.py: GET only, retries, backoff, the 429 hint and errors a merchant can act on. The client
talks to an `httpx.MockTransport` with an injected clock and sleep: no network, no real sleeps."""

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from core.errors import ApiError, AuthError, ForbiddenError, NotFound
from core.settings import Secret, Settings
from etl.client import MAX_RETRIES, DodoClient, backoff, retry_hint
from helpers import FakeClock

KEY = "sk_test_Zq9XUNIQUEkeyVALUE4711"  # distinctive, so a leak is easy to spot


SETTINGS = Settings(api_key=Secret(KEY), environment="test_mode", base_url="http://api.test")
OK = {"items": [{"payment_id": "pay_1"}]}


@dataclass
class Outcome:
    result: object  # the decoded JSON, or the ApiError raised
    requests: list = field(default_factory=list)
    sleeps: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)


def call(replies, path="/payments", params=None, clock=None) -> Outcome:
    """One `DodoClient.get` against a transport answering `replies` in order (a Response, or an
    exception class to raise), with a fake clock that only moves when the client sleeps."""
    replies, out = list(replies), Outcome(None)
    clock = clock or FakeClock(1000.0)

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


def test_a_connection_failure_names_the_address_it_tried():
    out = call([httpx.ConnectError] * (MAX_RETRIES + 1))
    assert "ConnectError: no answer in time, from http://api.test" in str(out.result)


class SelfSigned(httpx.ConnectError):
    """What httpx raises for a server whose certificate does not verify."""

    def __init__(self, message, request):
        super().__init__(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate",
            request=request,
        )


def test_an_unverifiable_certificate_is_said_at_once_not_retried_as_an_outage(reliability):
    out = call([SelfSigned])
    assert "TLS certificate of http://api.test could not be verified" in str(out.result)
    assert "may be down" not in str(out.result) and len(out.requests) == 1
    reliability(
        "A self-signed certificate", "a TLS verification failure", 1, "said at once, not retried as an outage"
    )


def test_an_answer_larger_than_any_page_ends_the_run_without_being_read_whole(reliability):
    sent = []

    async def endless_page():
        for _ in range(64):  # 64 MB if read whole
            sent.append(1)
            yield b" " * 2**20

    out = call([httpx.Response(200, content=endless_page())])
    assert isinstance(out.result, ApiError) and "passed 16 MB" in str(out.result)
    assert "http://api.test" in str(out.result) and len(out.requests) == 1  # not retried
    assert len(sent) <= 17  # it stopped reading once past the limit
    reliability("A huge answer", "a 64 MB body", 1, f"{len(sent)} MB read, then an error naming the address")


def test_an_answer_dripping_a_byte_at_a_time_times_out_as_a_whole(reliability):
    clock = FakeClock(1000.0)

    async def drip():
        for _ in range(1000):
            clock.advance(5)  # each byte comes 5 s after the last: no single read ever times out
            yield b" "

    replies = [httpx.Response(200, content=drip()) for _ in range(MAX_RETRIES + 1)]
    out = call(replies, clock=clock)
    deadline = 4 * SETTINGS.timeout
    assert f"ReadTimeout: the answer took over {deadline:.0f} s" in str(out.result)
    # each attempt ended at the first byte past the deadline
    assert clock() - 1000.0 <= (MAX_RETRIES + 1) * (deadline + 5) + sum(out.sleeps)
    reliability(
        "A server dripping bytes",
        "a byte every 5 s, which no read timeout trips",
        len(replies),
        f"each answer ends at {deadline:.0f} s; the run ends saying so",
    )
