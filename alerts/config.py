"""The alerts file (DODO_ANALYTICS_ALERTS_FILE, TOML): channels, digests and rules, read and checked in
one place. A mistake is one line naming the file, the key and the problem (exit 2). Secrets are not in
the file: it names the environment variables that hold them (`password_env`, `url_env`), read here
and held where no message prints them."""

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import SettingsError
from core.settings import Secret

CADENCES = ("daily", "weekly", "monthly")
SECURITY = {"starttls": 587, "tls": 465, "plain": 25}
# rule -> {option: (kind, default, low, high)}; kind "number" or "whole"
RULES: dict[str, dict[str, tuple[str, float | None, float, float]]] = {
    "success_rate": {"below_percent": ("number", None, 0, 100), "min_payments": ("whole", 20, 1, 10**9)},
    "mrr_drop": {"percent": ("number", None, 0, 100)},
    "movement": {"at_least": ("number", None, 0, 10**15)},
    "dispute_opened": {},
    "payout_tie_out": {},
    "decline_spike": {"factor": ("number", 3, 1, 10**6), "min_count": ("whole", 10, 1, 10**9)},
    "sync_failing": {},
    "stale": {"hours": ("whole", 26, 1, 8760)},
}


@dataclass(frozen=True)
class Email:
    host: str
    port: int
    security: str  # starttls, tls or plain (a relay on this machine or network)
    sender: str
    to: tuple[str, ...]
    username: str | None = None
    password: Secret | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    email: Email | None = None
    webhook: Secret | None = None  # a Slack-style incoming-webhook URL (it is the credential)
    digests: tuple[str, ...] = ()
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule -> options, incl. "channels"

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c for c, on in (("email", self.email), ("webhook", self.webhook)) if on)


class ConfigError(SettingsError):
    """A mistake in the alerts file; the message names the file and the key."""


def load(path: Path, env: dict[str, str] | None = None) -> Config:
    """The alerts file at `path`, checked; environment variables it names are read from `env`."""
    env = dict(os.environ) if env is None else env

    def bad(key: str, problem: str) -> ConfigError:
        return ConfigError(f"alerts file {path}: {key}: {problem}")

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"alerts file {path} cannot be read ({type(exc).__name__}): fix the path in "
            "DODO_ANALYTICS_ALERTS_FILE, or unset it"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"alerts file {path} is not valid TOML: {exc}") from None
    if unknown := set(data) - {"email", "webhook", "digest", "rules"}:
        raise bad(sorted(unknown)[0], "unknown section; the sections are email, webhook, digest and rules")
    email = _email(data.get("email"), env, bad)
    webhook = _webhook(data.get("webhook"), env, bad)
    if not email and not webhook:
        raise bad("email", "no channel: add an [email] or a [webhook] section")
    channels = tuple(c for c, on in (("email", email), ("webhook", webhook)) if on)
    digest = data.get("digest", {})
    every = digest.get("every", [])
    if not isinstance(every, list) or any(c not in CADENCES for c in every):
        raise bad("digest.every", f"a list of {', '.join(CADENCES)} (got {every!r})")
    rules = {}
    for name, options in _table(data, "rules", bad).items():
        if name not in RULES:
            raise bad(f"rules.{name}", f"unknown rule; the rules are {', '.join(RULES)}")
        rules[name] = _rule(name, options, channels, bad)
    return Config(path, email, webhook, tuple(dict.fromkeys(every)), rules)


def _table(data: dict, key: str, bad) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise bad(key, "must be a table")
    return value


def _text(section: dict, key: str, where: str, bad, required: bool = True) -> str | None:
    value = section.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise bad(f"{where}.{key}", "must be a non-empty string")
    return value.strip()


def _secret(section: dict, key: str, where: str, env: dict[str, str], bad, required: bool) -> Secret | None:
    name = _text(section, key, where, bad, required)
    if name is None:
        return None
    value = env.get(name, "").strip()
    if not value:
        raise bad(f"{where}.{key}", f"names the environment variable {name}, which is not set")
    return Secret(value)


def _email(section: Any, env: dict[str, str], bad) -> Email | None:
    if section is None:
        return None
    if not isinstance(section, dict):
        raise bad("email", "must be a table")
    security = section.get("security", "starttls")
    if security not in SECURITY:
        raise bad("email.security", f"one of {', '.join(SECURITY)} (got {security!r})")
    port = section.get("port", SECURITY[security])
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise bad("email.port", f"a port number (got {port!r})")
    to = section.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to or not all(isinstance(t, str) and "@" in t for t in to):
        raise bad("email.to", "a list of e-mail addresses")
    sender = _text(section, "from", "email", bad)
    assert sender is not None
    host = _text(section, "host", "email", bad)
    assert host is not None
    return Email(
        host,
        port,
        security,
        sender,
        tuple(to),
        _text(section, "username", "email", bad, required=False),
        _secret(section, "password_env", "email", env, bad, required=False),
    )


def _webhook(section: Any, env: dict[str, str], bad) -> Secret | None:
    if section is None:
        return None
    if not isinstance(section, dict):
        raise bad("webhook", "must be a table")
    url = _secret(section, "url_env", "webhook", env, bad, required=True)
    assert url is not None
    if not url.reveal().startswith(("https://", "http://")):
        raise bad("webhook.url_env", "the variable must hold an http(s) URL")
    return url


def _rule(name: str, options: Any, channels: tuple[str, ...], bad) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise bad(f"rules.{name}", "must be a table")
    allowed = RULES[name]
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key == "channels":
            if not isinstance(value, list) or not value or any(c not in channels for c in value):
                raise bad(
                    f"rules.{name}.channels", f"a list of the configured channels ({', '.join(channels)})"
                )
            continue
        if key not in allowed:
            known = ", ".join(allowed) or "no options"
            raise bad(f"rules.{name}.{key}", f"unknown option; this rule takes {known} (and channels)")
    for key, (kind, default, low, high) in allowed.items():
        value = options.get(key, default)
        if value is None:
            raise bad(f"rules.{name}.{key}", "is required")
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not (whole or (kind == "number" and isinstance(value, float))) or not low <= value <= high:
            what = "a whole number" if kind == "whole" else "a number"
            raise bad(f"rules.{name}.{key}", f"{what} from {low:g} to {high:g} (got {value!r})")
        out[key] = value
    out["channels"] = tuple(options.get("channels", channels))
    return out
