"""core/settings.py: one settings object from the environment, one-line errors, the key never shown."""

import pytest

from core.errors import SettingsError
from core.settings import BASE_URLS, Settings

KEY = "sk_test_Zq9XUNIQUEkeyVALUE4711"  # distinctive, so a leak is easy to spot


def env(**overrides):
    base = {"DODO_PAYMENTS_API_KEY": KEY, "DODO_PAYMENTS_ENVIRONMENT": "test_mode"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def settings_error(values) -> str:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(values)
    message = str(info.value)
    assert KEY not in message
    return message


@pytest.mark.parametrize("key", [None, "", "   "])
def test_settings_missing_key_names_the_variable(key):
    assert "DODO_PAYMENTS_API_KEY" in settings_error(env(DODO_PAYMENTS_API_KEY=key))


@pytest.mark.parametrize("mode", [None, "", "prod", "live", "TEST_MODE"])
def test_settings_environment_must_be_explicit(mode):
    assert "DODO_PAYMENTS_ENVIRONMENT" in settings_error(env(DODO_PAYMENTS_ENVIRONMENT=mode))


@pytest.mark.parametrize("url", ["api.test", "ftp://api.test", "//api.test"])
def test_settings_bad_base_url(url):
    message = settings_error(env(DODO_PAYMENTS_BASE_URL=url))
    assert "DODO_PAYMENTS_BASE_URL" in message and url in message


@pytest.mark.parametrize("zone", ["Mars/Base", "../etc/passwd"])
def test_settings_bad_timezone(zone):
    message = settings_error(env(DODO_ANALYTICS_TIMEZONE=zone))
    assert "DODO_ANALYTICS_TIMEZONE" in message and zone in message


@pytest.mark.parametrize("rate", ["abc", "12.5", "0", "-5", "100001"])
def test_settings_rate_per_minute_must_be_a_whole_number_in_range(rate):
    message = settings_error(env(DODO_ANALYTICS_RATE_PER_MINUTE=rate))
    assert "DODO_ANALYTICS_RATE_PER_MINUTE" in message and rate in message


@pytest.mark.parametrize(
    "var",
    [
        "DODO_PAYMENTS_ENVIRONMENT",
        "DODO_PAYMENTS_BASE_URL",
        "DODO_ANALYTICS_TIMEZONE",
        "DODO_ANALYTICS_RATE_PER_MINUTE",
    ],
)
def test_settings_key_pasted_into_another_variable_is_not_echoed(var):
    settings_error(env(**{var: KEY}))  # asserts KEY is absent from the message


def test_settings_base_url_without_a_host_is_rejected():
    assert "DODO_PAYMENTS_BASE_URL" in settings_error(env(DODO_PAYMENTS_BASE_URL="http://"))


@pytest.mark.parametrize("mode", ["test_mode", "live_mode"])
def test_settings_valid_env_gives_defaults(mode):
    s = Settings.from_env(env(DODO_PAYMENTS_ENVIRONMENT=mode))
    assert s.api_key.reveal() == KEY
    assert s.environment == mode
    assert s.base_url == BASE_URLS[mode] == f"https://{mode.split('_')[0]}.dodopayments.com"
    assert s.lookback_days == {"payments": 7, "refunds": 30, "disputes": 120}
    assert (s.per_second, s.per_minute, s.timezone) == (100, 1000, "UTC")


def test_settings_valid_env_reads_overrides():
    s = Settings.from_env(
        env(
            DODO_PAYMENTS_API_KEY=f"  {KEY}\n",
            DODO_PAYMENTS_BASE_URL="http://localhost:8080/",
            DODO_ANALYTICS_TIMEZONE="Europe/Berlin",
            DODO_ANALYTICS_RATE_PER_MINUTE="240",
            DODO_ANALYTICS_RATE_PER_SECOND="40",
            DODO_ANALYTICS_LOOKBACK_REFUNDS_DAYS="3",
        )
    )
    assert s.api_key.reveal() == KEY
    assert s.base_url == "http://localhost:8080"
    assert (s.timezone, s.per_second, s.per_minute) == ("Europe/Berlin", 40, 240)
    assert s.lookback_days == {"payments": 7, "refunds": 3, "disputes": 120}


def test_settings_never_show_the_key():
    s = Settings.from_env(env())
    for text in (repr(s), str(s), repr(s.api_key), str(s.api_key), f"{s}", f"{s.api_key}"):
        assert KEY not in text
    assert "****" in repr(s)


def test_readers_need_no_key_and_never_hold_one():
    s = Settings.from_env({"DODO_PAYMENTS_API_KEY": KEY}, api=False)
    assert s.api_key is None and s.environment == "" and KEY not in repr(s)
    with pytest.raises(SettingsError, match="DODO_PAYMENTS_API_KEY"):
        s.key()


@pytest.mark.parametrize("hours", ["soon", "0", "26.5"])
def test_a_bad_stale_hours_is_refused_by_readers_too(hours):
    with pytest.raises(SettingsError, match="DODO_ANALYTICS_STALE_HOURS must be"):
        Settings.from_env({"DODO_ANALYTICS_STALE_HOURS": hours}, api=False)


def test_readers_check_a_mode_that_is_set():
    with pytest.raises(SettingsError, match="DODO_PAYMENTS_ENVIRONMENT"):
        Settings.from_env({"DODO_PAYMENTS_ENVIRONMENT": "prod"}, api=False)
    assert Settings.from_env({"DODO_PAYMENTS_ENVIRONMENT": "live_mode"}, api=False).environment == "live_mode"


def test_a_key_with_a_character_that_is_not_ascii_is_a_settings_error():
    key = KEY[:-1] + "’"  # a typographic quote pasted from a document
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env(DODO_PAYMENTS_API_KEY=key))
    assert "not ASCII" in str(info.value) and key not in str(info.value) and KEY[:-1] not in str(info.value)


def test_live_mode_refuses_plain_http_except_on_this_machine():
    message = settings_error(
        env(DODO_PAYMENTS_ENVIRONMENT="live_mode", DODO_PAYMENTS_BASE_URL="http://proxy.example")
    )
    assert "unencrypted" in message and "https://" in message
    local = Settings.from_env(
        env(DODO_PAYMENTS_ENVIRONMENT="live_mode", DODO_PAYMENTS_BASE_URL="http://127.0.0.1:8765")
    )
    assert local.base_url == "http://127.0.0.1:8765"
    assert Settings.from_env(env(DODO_PAYMENTS_BASE_URL="http://sandbox.test")).base_url  # test mode: allowed
