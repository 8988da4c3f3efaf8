"""etl/limiter.py: the client-side rate limit, both windows, against the sandbox's own arithmetic."""

import bisect

import pytest

from etl.limiter import Limiter
from helpers import FakeClock
from sandbox.ratelimit import RateLimiter


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
