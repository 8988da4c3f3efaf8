"""One settings object, built once from the environment. The API key is held in a `Secret` that
never shows itself in a repr, a log line or an error."""

import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

BASE_URLS = {"test_mode": "https://test.dodopayments.com", "live_mode": "https://live.dodopayments.com"}
DEFAULT_WAREHOUSE = "var/warehouse.duckdb"


class SettingsError(Exception):
    """A missing or invalid setting; the message is one line naming the variable and what to do."""


class Secret:
    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    api_key: Secret
    environment: str
    base_url: str
    warehouse: Path = Path(DEFAULT_WAREHOUSE)
    per_second: int = 100
    per_minute: int = 1000
    lookback_days: dict = field(default_factory=lambda: {"payments": 7, "refunds": 30, "disputes": 120})
    detail_budget: int = 500
    timezone: str = "UTC"
    grace_days: int = 30
    recovery_days: int = 30
    concurrency: int = 16
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env=None, warehouse: str | None = None) -> "Settings":
        env = os.environ if env is None else env
        key = env.get("DODO_PAYMENTS_API_KEY", "").strip()
        if not key:
            raise SettingsError(
                "DODO_PAYMENTS_API_KEY is not set: export your Dodo API key (a read-only key is enough)"
            )
        mode = env.get("DODO_PAYMENTS_ENVIRONMENT", "").strip()
        if mode not in BASE_URLS:
            raise SettingsError(
                f"DODO_PAYMENTS_ENVIRONMENT must be test_mode or live_mode (got {_echo(mode, key)}); "
                "set it to the mode your key belongs to"
            )
        base_url = env.get("DODO_PAYMENTS_BASE_URL", "").strip() or BASE_URLS[mode]
        if not base_url.startswith(("http://", "https://")) or not httpx.URL(base_url).host:
            raise SettingsError(
                "DODO_PAYMENTS_BASE_URL must be an http:// or https:// address with a host, such as "
                f"http://127.0.0.1:8765 (got {_echo(base_url, key)})"
            )
        timezone = env.get("DODO_ANALYTICS_TIMEZONE", "").strip() or "UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"DODO_ANALYTICS_TIMEZONE must be an IANA time zone such as Europe/Berlin "
                f"(got {_echo(timezone, key)})"
            ) from None
        number = partial(_number, env, key)
        lookback = {
            name: number(f"DODO_ANALYTICS_LOOKBACK_{name.upper()}_DAYS", days, 0, 3650)
            for name, days in {"payments": 7, "refunds": 30, "disputes": 120}.items()
        }
        per_second = number("DODO_ANALYTICS_RATE_PER_SECOND", 100, 1, 10_000)
        per_minute = number("DODO_ANALYTICS_RATE_PER_MINUTE", 1000, 1, 100_000)
        return cls(
            api_key=Secret(key),
            environment=mode,
            base_url=base_url.rstrip("/"),
            warehouse=Path(warehouse or env.get("DODO_ANALYTICS_WAREHOUSE", "").strip() or DEFAULT_WAREHOUSE),
            per_second=per_second,
            per_minute=per_minute,
            lookback_days=lookback,
            detail_budget=number("DODO_ANALYTICS_DETAIL_BUDGET", 500, 0, 1_000_000),
            timezone=timezone,
            grace_days=number("DODO_ANALYTICS_GRACE_DAYS", 30, 0, 365),
            recovery_days=number("DODO_ANALYTICS_RECOVERY_DAYS", 30, 1, 365),
            concurrency=number("DODO_ANALYTICS_CONCURRENCY", 16, 1, 256),
        )


def _echo(value: str, key: str) -> str:
    """A bad value, quoted back only when it cannot be (part of) a secret pasted in the wrong place."""
    if not value:
        return "nothing"
    if key in value or value.startswith(("sk_", "pk_")) or len(value) > 40:
        return "a value not shown here"
    return repr(value)


def _number(env, key: str, name: str, default: int, lo: int, hi: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(
            f"{name} must be a whole number between {lo} and {hi} (got {_echo(text, key)})"
        ) from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi} (got {value})")
    return value
