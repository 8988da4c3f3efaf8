"""Dodo's two rate-limit windows (a per-second burst and a per-minute sustained limit), per business.

Fixed windows aligned on the clock's whole seconds and minutes, as most API gateways count them: a
client that spends a minute's budget in its last second may spend the next minute's at once, and
must cope. The clock is injected so tests never sleep.
"""

import math
import time
from dataclasses import dataclass

PROFILES = {"tier1": (100, 1000), "default": (40, 240)}  # (per second, per minute), docs/dodo-api.md §9


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the reported window starts afresh
    retry_after: int  # whole seconds to wait when refused


class RateLimiter:
    def __init__(self, per_second: int = 100, per_minute: int = 1000, clock=time.time):
        self.per_second, self.per_minute, self.clock = per_second, per_minute, clock
        self.second = self.minute = None
        self.in_second = self.in_minute = 0

    def hit(self) -> Verdict:
        """Count one request if both windows allow it. Refused requests are not counted."""
        now = self.clock()
        second, minute = math.floor(now), math.floor(now / 60)
        if second != self.second:
            self.second, self.in_second = second, 0
        if minute != self.minute:
            self.minute, self.in_minute = minute, 0
        to_next_second = max(1, math.ceil(second + 1 - now))
        to_next_minute = max(1, math.ceil((minute + 1) * 60 - now))
        allowed = self.in_second < self.per_second and self.in_minute < self.per_minute
        if allowed:
            self.in_second += 1
            self.in_minute += 1
        left_s, left_m = self.per_second - self.in_second, self.per_minute - self.in_minute
        # The headers describe the window closer to running out (the minute on a tie).
        if left_s < left_m:
            limit, remaining, reset = self.per_second, left_s, to_next_second
        else:
            limit, remaining, reset = self.per_minute, left_m, to_next_minute
        wait = to_next_minute if self.in_minute >= self.per_minute else to_next_second
        return Verdict(allowed, limit, max(0, remaining), reset, wait)
