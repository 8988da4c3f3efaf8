"""Fault knobs for tests and benchmarks: latency, 5xx, hung requests, broken JSON, 429 bursts, and a
server clock (the Date header) jumping backwards.

Decisions come from a seeded random generator, so a fault run is repeatable.
"""

import random
from dataclasses import asdict, dataclass, fields

# what each knob may be set to: rates are shares, a latency at most a minute
LIMITS = {
    "latency_ms": (0, 60_000),
    "latency_max_ms": (0, 60_000),
    **{name: (0, 1) for name in ("error_rate", "hang_rate", "truncate_rate", "rate_429", "date_back_rate")},
    "date_back_s": (0, 10 * 365 * 86_400),
    "seed": (-(2**63), 2**63 - 1),
}


@dataclass
class FaultConfig:
    latency_ms: float = 0.0  # added to every API response
    latency_max_ms: float = (
        0.0  # when above latency_ms, the latency is uniform in [latency_ms, latency_max_ms]
    )
    error_rate: float = 0.0  # share of responses replaced by a 500, 502 or 503
    hang_rate: float = 0.0  # share of requests never answered (the client must time out)
    truncate_rate: float = 0.0  # share of 200 responses whose JSON body is cut in half
    rate_429: float = 0.0  # share of requests refused with 429 whatever the limits say
    burst_429: int = 0  # every `burst_every` requests, this many 429s in a row
    burst_every: int = 0
    force_429: int = 0  # the next N requests get 429 (set at run time through /_sandbox/faults)
    date_back_rate: float = 0.0  # share of responses whose Date header is `date_back_s` in the past
    date_back_s: float = 3600.0
    seed: int = 0

    def update(self, values: dict) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(known)}")
            try:
                number = (int if known[name] in (int, "int") else float)(value)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"fault {name!r} needs a number, got {value!r}") from None
            lo, hi = LIMITS.get(name, (0, 10**9))
            if not lo <= number <= hi:  # also refuses inf and nan, which would hang or break every call
                raise ValueError(f"fault {name!r} must be between {lo} and {hi}, got {value!r}")
            setattr(self, name, number)

    def as_dict(self) -> dict:
        return asdict(self)


class Faults:
    def __init__(self, config: FaultConfig | None = None):
        self.config = config or FaultConfig()
        self.rng = random.Random(self.config.seed)
        self.count = 0

    def latency(self) -> float:
        c = self.config
        if c.latency_max_ms > c.latency_ms:
            return self.rng.uniform(c.latency_ms, c.latency_max_ms) / 1000
        return c.latency_ms / 1000

    def before(self) -> str | None:
        """What to do instead of serving this request: '429', 'hang', '500', '502', '503' or None."""
        c, rng = self.config, self.rng
        self.count += 1
        if c.force_429 > 0:
            c.force_429 -= 1
            return "429"
        if c.burst_429 and c.burst_every and self.count % c.burst_every < c.burst_429:
            return "429"
        if c.rate_429 and rng.random() < c.rate_429:
            return "429"
        if c.hang_rate and rng.random() < c.hang_rate:
            return "hang"
        if c.error_rate and rng.random() < c.error_rate:
            return rng.choice(("500", "502", "503"))
        return None

    def truncate(self) -> bool:
        return bool(self.config.truncate_rate) and self.rng.random() < self.config.truncate_rate

    def date_shift(self) -> float:
        """Seconds to take off this response's Date header (a server clock jumping backwards)."""
        c = self.config
        return c.date_back_s if c.date_back_rate and self.rng.random() < c.date_back_rate else 0.0
