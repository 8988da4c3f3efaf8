"""One settings object for every entry point (sync, doctor, dashboard, export, demo), built from the
environment with the same validation everywhere. Each setting's default is stated once, on its field.
The API key is held in a `Secret` that never shows itself in a repr, a log line or an error."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import SettingsError

BASE_URLS = {"test_mode": "https://test.dodopayments.com", "live_mode": "https://live.dodopayments.com"}
DEFAULT_WAREHOUSE = "var/warehouse.duckdb"
LOOPBACK = ("127.0.0.1", "::1", "localhost")  # plain http stays on this machine


class Secret:
    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__


def _whole(env: str, default: int, lo: int, hi: int):
    """A whole-number setting read from `env`, between `lo` and `hi`."""
    return field(default=default, metadata={"env": env, "range": (lo, hi)})


@dataclass(frozen=True)
class Settings:
    api_key: Secret | None = None  # None where the API is not called (the dashboard never gets the key)
    environment: str = ""  # test_mode or live_mode; "" where it is not needed and not set
    base_url: str = ""
    warehouse: Path = Path(DEFAULT_WAREHOUSE)
    timezone: str = "UTC"  # the business time zone (IANA) for the metrics
    per_second: int = _whole("DODO_ANALYTICS_RATE_PER_SECOND", 100, 1, 10_000)
    per_minute: int = _whole("DODO_ANALYTICS_RATE_PER_MINUTE", 1000, 1, 100_000)
    lookback_payments: int = _whole("DODO_ANALYTICS_LOOKBACK_PAYMENTS_DAYS", 7, 0, 3650)
    lookback_refunds: int = _whole("DODO_ANALYTICS_LOOKBACK_REFUNDS_DAYS", 30, 0, 3650)
    lookback_disputes: int = _whole("DODO_ANALYTICS_LOOKBACK_DISPUTES_DAYS", 120, 0, 3650)
    detail_budget: int = _whole("DODO_ANALYTICS_DETAIL_BUDGET", 500, 0, 1_000_000)
    grace_days: int = _whole("DODO_ANALYTICS_GRACE_DAYS", 30, 0, 365)
    recovery_days: int = _whole("DODO_ANALYTICS_RECOVERY_DAYS", 30, 1, 365)
    concurrency: int = _whole("DODO_ANALYTICS_CONCURRENCY", 16, 1, 256)
    # a first sync publishes what is complete at least this often while it loads (0: after each stage)
    publish_minutes: int = _whole("DODO_ANALYTICS_PUBLISH_MINUTES", 5, 0, 1440)
    stale_hours: int = _whole("DODO_ANALYTICS_STALE_HOURS", 26, 1, 8760)  # the dashboard warns past this
    # a run stops at its deadline with an error (what it read is kept; the next run resumes)
    run_deadline_minutes: int = _whole("DODO_ANALYTICS_RUN_DEADLINE_MINUTES", 240, 1, 10_080)
    timeout: float = 30.0  # seconds a request may take
    password_file: Path | None = None  # the dashboard's password, first line of this file
    allowed_hosts: tuple[str, ...] = ()  # Host names the dashboard answers besides loopback and --host
    alerts_file: Path | None = None  # the alert rules, channels and digests (TOML); none: no alerts
    dashboard_url: str = ""  # the dashboard's address as readers reach it, linked from the digests
    # the API's clock dates a pass even when it is ahead of this machine's: for a sandbox whose clock
    # was moved on purpose (the demo's "move time"); never for Dodo's API
    trust_api_clock: bool = False

    @property
    def lookback_days(self) -> dict[str, int]:
        """How far back the sync re-reads records whose status can still change, per resource."""
        return {
            "payments": self.lookback_payments,
            "refunds": self.lookback_refunds,
            "disputes": self.lookback_disputes,
        }

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, warehouse: str | Path | None = None, api: bool = True
    ) -> "Settings":
        """The settings in `env` (the process environment by default); `warehouse` (a command's
        --warehouse) wins over DODO_ANALYTICS_WAREHOUSE. With `api=False` (the dashboard, exports)
        the key is not read and the mode is optional."""
        env = os.environ if env is None else env
        key = env.get("DODO_PAYMENTS_API_KEY", "").strip()
        if api and not key:
            raise SettingsError(
                "DODO_PAYMENTS_API_KEY is not set: export your Dodo API key (a read-only key is enough)"
            )
        if api and not key.isascii():  # it would fail in the HTTP header, far from here
            raise SettingsError(
                "DODO_PAYMENTS_API_KEY holds a character that is not ASCII, which no API key has: copy "
                "the key again from the Dodo dashboard (a quote or a space from a document may have come along)"
            )
        mode = env.get("DODO_PAYMENTS_ENVIRONMENT", "").strip()
        if (api or mode) and mode not in BASE_URLS:
            raise SettingsError(
                f"DODO_PAYMENTS_ENVIRONMENT must be test_mode or live_mode (got {_echo(mode, key)}); "
                "set it to the mode your key belongs to"
            )
        base_url = ""
        if api:
            base_url = env.get("DODO_PAYMENTS_BASE_URL", "").strip() or BASE_URLS[mode]
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SettingsError(
                    "DODO_PAYMENTS_BASE_URL must be an http:// or https:// address with a host, such as "
                    f"http://127.0.0.1:8765 (got {_echo(base_url, key)})"
                )
            if mode == "live_mode" and parts.scheme == "http" and parts.hostname not in LOOPBACK:
                raise SettingsError(
                    "DODO_PAYMENTS_BASE_URL is plain http:// in live_mode: the live key would cross the "
                    f"network unencrypted (got {_echo(base_url, key)}); use https://"
                )
        timezone = env.get("DODO_ANALYTICS_TIMEZONE", "").strip() or "UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                "DODO_ANALYTICS_TIMEZONE must be an IANA time zone such as Europe/Berlin "
                f"(got {_echo(timezone, key)})"
            ) from None
        numbers = {
            f.name: _number(env, key, f.metadata, f.default) for f in fields(cls) if "env" in f.metadata
        }
        path = str(warehouse or "").strip() or env.get("DODO_ANALYTICS_WAREHOUSE", "").strip()
        password_file = env.get("DODO_ANALYTICS_PASSWORD_FILE", "").strip()
        alerts_file = env.get("DODO_ANALYTICS_ALERTS_FILE", "").strip()
        return cls(
            alerts_file=Path(alerts_file) if alerts_file else None,
            dashboard_url=env.get("DODO_ANALYTICS_DASHBOARD_URL", "").strip(),
            trust_api_clock=env.get("DODO_ANALYTICS_TRUST_API_CLOCK", "").strip().lower()
            in ("1", "true", "yes"),
            password_file=Path(password_file) if password_file else None,
            allowed_hosts=tuple(env.get("DODO_ANALYTICS_ALLOWED_HOSTS", "").replace(",", " ").split()),
            api_key=Secret(key) if api else None,
            environment=mode,
            base_url=base_url.rstrip("/"),
            warehouse=Path(path or DEFAULT_WAREHOUSE),
            timezone=timezone,
            **numbers,
        )

    def with_warehouse(self, warehouse: str | Path) -> "Settings":
        return replace(self, warehouse=Path(warehouse))

    def dashboard_password(self) -> str | None:
        """The dashboard's password, None when none is configured; a file that is set but cannot be
        read, or is empty, is an error (the dashboard refuses to start rather than open without one)."""
        if self.password_file is None:
            return None
        try:
            text = self.password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(
                f"DODO_ANALYTICS_PASSWORD_FILE names {self.password_file}, which cannot be read "
                f"({type(exc).__name__}): make it readable by this user, or unset the variable"
            ) from None
        password = text.splitlines()[0].strip() if text.strip() else ""
        if not password:
            raise SettingsError(
                f"DODO_ANALYTICS_PASSWORD_FILE names {self.password_file}, which is empty: write the "
                "password on its first line"
            )
        return password

    def key(self) -> str:
        """The API key, for the one place that sends it; a clear error where none was configured."""
        if self.api_key is None:
            raise SettingsError("DODO_PAYMENTS_API_KEY is not set: export your Dodo API key")
        return self.api_key.reveal()


def _echo(value: str, key: str) -> str:
    """A bad value, quoted back only when it cannot be (part of) a secret pasted in the wrong place."""
    if not value:
        return "nothing"
    if (key and key in value) or value.startswith(("sk_", "pk_")) or len(value) > 40:
        return "a value not shown here"
    return repr(value)


def _number(env: Mapping[str, str], key: str, spec: Mapping, default) -> int:
    name, (lo, hi) = spec["env"], spec["range"]
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
