"""Shared test helpers: an in-process sandbox reached through an httpx transport (no sockets, no sleeps)."""

import json
import os

import httpx
import pytest

from sandbox.api import SandboxAPI
from sandbox.clock import parse_iso
from sandbox.data import SimulatedData
from sandbox.ratelimit import RateLimiter
from sandbox.server import SandboxTransport

NOW = "2026-06-30T00:00:00Z"
RO_KEY, RW_KEY = "sk_test_sandbox_readonly", "sk_test_sandbox_readwrite"


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make_api(
    payments: int = 300, seed: int = 7, now: str = NOW, per_second=10_000, per_minute=1_000_000, **kw
):
    """A sandbox over a simulated business; limits are high unless a test is about them."""
    limiter = RateLimiter(per_second, per_minute, clock=kw.pop("clock", FakeClock()))
    return SandboxAPI(SimulatedData(seed, payments, parse_iso(now)), limiter=limiter, **kw)


def client_for(api, key: str | None = RO_KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(
        transport=SandboxTransport(api, sleep=lambda s: None), base_url="http://sandbox.test", headers=headers
    )


@pytest.fixture(scope="session")
def small_api():
    """A ~2,000-payment business shared by read-only tests (built once)."""
    return make_api(2000)


@pytest.fixture
def small_client(small_api):
    with client_for(small_api) as c:
        yield c


@pytest.fixture
def reliability(request):
    """`reliability(check, tried, times, outcome)` adds a row to the README's reliability table when
    bench/reliability.py runs the suite (it sets RELIABILITY_LOG); a test records only once its
    assertions have passed, and the script marks a failed test's check as failed."""

    def record(check: str, tried: str, times: int, outcome: str) -> None:
        path = os.environ.get("RELIABILITY_LOG")
        if path:
            row = {
                "test": request.node.nodeid,
                "check": check,
                "tried": tried,
                "times": times,
                "outcome": outcome,
            }
            with open(path, "a") as f:
                f.write(json.dumps(row) + "\n")

    return record
