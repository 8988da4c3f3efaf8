"""Sandbox time: integer milliseconds since the epoch (UTC), RFC 3339 text, calendar arithmetic."""

import calendar
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

MS_PER_DAY = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(dt: datetime) -> int:
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def iso(ms: int | None) -> str | None:
    """RFC 3339 in UTC with milliseconds, e.g. 2026-01-15T10:30:00.123Z."""
    if ms is None:
        return None
    return from_ms(ms).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str) -> int:
    """Parse an RFC 3339 date-time (Z or offset, optional fraction) to ms. Raises ValueError."""
    if not isinstance(text, str) or "T" not in text.upper():
        raise ValueError(f"{text!r} is not an RFC 3339 date-time such as 2026-01-15T10:30:00Z")
    dt = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add Z for UTC")
    return to_ms(dt)


def http_date(ms: int) -> str:
    return format_datetime(from_ms(ms).replace(microsecond=0), usegmt=True)


def add_interval(ms: int, interval: str, count: int) -> int:
    """Add count Day/Week/Month/Year to a UTC instant; a month past the end of the target month clamps to
    its last day (Jan 31 + 1 month = Feb 28), as billing systems do."""
    if interval == "Day":
        return ms + count * MS_PER_DAY
    if interval == "Week":
        return ms + count * 7 * MS_PER_DAY
    months = count * (12 if interval == "Year" else 1)
    if interval not in ("Month", "Year"):
        raise ValueError(f"unknown interval {interval!r}")
    dt = from_ms(ms)
    y, m = divmod(dt.month - 1 + months, 12)
    year, month = dt.year + y, m + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return to_ms(dt.replace(year=year, month=month, day=day))
