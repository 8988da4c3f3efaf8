"""Client-side rate limiting: use the whole quota, never more.

A sliding log of send times enforces both windows (per second and per minute). A sliding window is
stricter than the server's fixed windows (any fixed window lies inside some sliding one), so as
long as requests reach the server in the order and spacing they left, the server never counts more
than the limit. Requests do not arrive with exactly the spacing they left (latency varies), so each
window is padded by a small margin. The server's own view wins when it is stricter: an
`X-RateLimit-Remaining` of 0 or a 429's `Retry-After` holds every request until the time given.

Pure arithmetic on an injected clock value: `delay(now)` says how long to wait, `sent(now)`
records a send. The client does the sleeping.
"""

from collections import deque


class Limiter:
    def __init__(
        self, per_second: int, per_minute: int, second_margin: float = 0.25, minute_margin: float = 1.0
    ):
        self.windows: tuple[tuple[int, float, deque[float]], ...] = (
            (per_second, 1.0 + second_margin, deque()),
            (per_minute, 60.0 + minute_margin, deque()),
        )
        self.blocked_until = 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before the next request may be sent (0 when it may go now)."""
        wait = max(0.0, self.blocked_until - now)
        for limit, span, log in self.windows:
            while log and log[0] <= now - span:
                log.popleft()
            if len(log) >= limit:
                wait = max(wait, log[len(log) - limit] + span - now)
        return wait

    def sent(self, now: float) -> None:
        for _, _, log in self.windows:
            log.append(now)

    def block(self, now: float, seconds: float) -> None:
        """The server asked for a pause (429 Retry-After, or nothing remaining until a reset)."""
        self.blocked_until = max(self.blocked_until, now + seconds)

    def observe(self, now: float, remaining: str | None, reset: str | None) -> None:
        """Adapt to X-RateLimit-* headers: nothing remaining means nothing is sent until the reset."""
        try:
            if remaining is not None and int(remaining) <= 0 and reset is not None:
                self.block(now, min(float(reset), 60.0))  # no window is longer than a minute
        except ValueError:
            pass  # unparsable headers are ignored; the configured limits still hold
