from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from hub.config import Settings
from hub.errors import ConfigError


def test_defaults_work_on_a_fresh_machine() -> None:
    settings = Settings.from_env({})
    assert settings.env == "development"
    assert settings.database_url == "sqlite:///var/hub.db"
    assert settings.keys_dir == Path("keys")
    assert settings.public_url == "http://127.0.0.1:8000"


def test_environment_overrides_defaults() -> None:
    settings = Settings.from_env(
        {
            "HUB_ENV": "production",
            "HUB_DATABASE_URL": "postgresql://db/hub",
            "HUB_KEYS_DIR": "/etc/hub/keys",
            "HUB_HOST": "0.0.0.0",
            "HUB_PORT": "9000",
            "HUB_PUBLIC_URL": "https://hub.example.gr/",
        }
    )
    assert settings.is_production
    assert settings.database_url == "postgresql://db/hub"
    assert settings.keys_dir == Path("/etc/hub/keys")
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.public_url == "https://hub.example.gr"


@pytest.mark.parametrize(
    "env",
    [
        {"HUB_ENV": "staging"},
        {"HUB_PORT": "eighty"},
        {"HUB_PORT": "70000"},
        {"HUB_LOG_LEVEL": "LOUD"},
        {"HUB_MAX_BODY_BYTES": "10"},
        {"HUB_REGISTRY_TIMEOUT": "-1"},
        {"HUB_WORKERS": "-1"},
        {"HUB_WORKERS": "65"},
        {"HUB_WORKERS": "two"},
        {"HUB_NOTIFY_LEASE_SECONDS": "nan"},
        {"HUB_NOTIFY_POLL_SECONDS": "inf"},
        {"HUB_CHECKPOINT_SECONDS": "inf"},
        {"HUB_WEBHOOK_BACKOFF": "nan"},
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert "HUB_" in str(info.value)


def test_no_citizen_issuer_keeps_the_development_issuer() -> None:
    settings = Settings.from_env({})
    assert settings.citizen_issuer is None


def test_a_citizen_issuer_is_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "HUB_ENV": "production",
            "HUB_CITIZEN_ISSUER": "https://taxisnet.example.gr/oauth2/",
            "HUB_CITIZEN_CLIENT_ID": "oncehub",
            "HUB_CITIZEN_CLIENT_SECRET": "s3cret",
            "HUB_CITIZEN_AFM_CLAIM": "taxid",
            "HUB_CITIZEN_ALGORITHMS": "RS256, ES256",
        }
    )
    assert settings.citizen_issuer == "https://taxisnet.example.gr/oauth2"
    assert settings.citizen_afm_claim == "taxid"
    assert settings.citizen_algorithms == ("RS256", "ES256")
    assert settings.citizen_jwks_url is None
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HUB_CITIZEN_CLIENT_ID": "hub"}, "HUB_CITIZEN_ISSUER"),
        ({"HUB_CITIZEN_ISSUER": "ftp://idp"}, "HUB_CITIZEN_ISSUER"),
        ({"HUB_CITIZEN_ISSUER": "https://idp"}, "HUB_CITIZEN_CLIENT_ID"),
        (
            {"HUB_CITIZEN_ISSUER": "https://idp", "HUB_CITIZEN_CLIENT_ID": "hub"},
            "HUB_CITIZEN_CLIENT_SECRET",
        ),
        (
            {
                "HUB_ENV": "production",
                "HUB_CITIZEN_ISSUER": "http://idp",
                "HUB_CITIZEN_AUDIENCE": "a",
            },
            "https",
        ),
        (
            {
                "HUB_CITIZEN_ISSUER": "https://idp",
                "HUB_CITIZEN_AUDIENCE": "a",
                "HUB_CITIZEN_JWKS_URL": "not a url",
            },
            "HUB_CITIZEN_JWKS_URL",
        ),
        ({"HUB_CITIZEN_ALGORITHMS": "HS256"}, "HUB_CITIZEN_ALGORITHMS"),
        ({"HUB_CITIZEN_ALGORITHMS": "none,ES256"}, "HUB_CITIZEN_ALGORITHMS"),
        (
            {
                "HUB_CITIZEN_ISSUER": "https://idp",
                "HUB_CITIZEN_AUDIENCE": "a",
                "HUB_CITIZEN_AFM_CLAIM": "a b",
            },
            "HUB_CITIZEN_AFM_CLAIM",
        ),
        (
            {
                "HUB_CITIZEN_ISSUER": "https://idp",
                "HUB_CITIZEN_AUDIENCE": "a",
                "HUB_CITIZEN_SCOPES": "profile",
            },
            "openid",
        ),
    ],
)
def test_bad_citizen_issuer_settings_are_refused(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_the_tsa_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "HUB_TSA_URL": "https://tsa.example.gr/tsr",
            "HUB_TSA_BASIC_AUTH": "hub:tsa-secret",
            "HUB_TSA_FALLBACK": "development",
            "HUB_TSA_TIMEOUT": "3",
        }
    )
    assert settings.tsa_url == "https://tsa.example.gr/tsr"
    assert settings.tsa_credentials == ("hub", "tsa-secret")
    assert settings.tsa_fallback == "development"
    assert settings.tsa_timeout == 3.0
    assert "tsa-secret" not in repr(settings)
    assert Settings.from_env({}).tsa_url is None


@pytest.mark.parametrize(
    "env",
    [
        {"HUB_TSA_URL": "ftp://tsa"},
        {"HUB_TSA_FALLBACK": "anything"},
        {"HUB_TSA_TOKEN": "t"},
        {"HUB_TSA_URL": "https://tsa", "HUB_TSA_BASIC_AUTH": "nocolon"},
        {"HUB_TSA_URL": "https://tsa", "HUB_TSA_BASIC_AUTH": "a:b", "HUB_TSA_TOKEN": "t"},
        {"HUB_TSA_TIMEOUT": "0"},
    ],
)
def test_bad_tsa_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="HUB_TSA"):
        Settings.from_env(env)


def test_workers_default_to_one_outside_production_and_are_read() -> None:
    assert Settings.from_env({}).worker_count == 1
    assert Settings.from_env({"HUB_WORKERS": "0"}).worker_count == 1
    assert Settings.from_env({"HUB_WORKERS": "3"}).worker_count == 3


def test_workers_default_to_the_usable_cores_in_production() -> None:
    settings = replace(Settings.from_env({}), env="production")
    assert settings.worker_count == len(os.sched_getaffinity(0))


def test_the_notification_send_deadlines_are_read() -> None:
    settings = Settings.from_env(
        {"HUB_SMTP_TIMEOUT": "4", "HUB_SMS_TIMEOUT": "2.5", "HUB_VIBER_TIMEOUT": "30"}
    )
    assert (settings.smtp_timeout, settings.sms_timeout, settings.viber_timeout) == (4, 2.5, 30)


@pytest.mark.parametrize("name", ["HUB_SMTP_TIMEOUT", "HUB_SMS_TIMEOUT", "HUB_VIBER_TIMEOUT"])
@pytest.mark.parametrize("value", ["0", "-1", "301", "inf", "nan"])
def test_a_send_deadline_must_be_finite_and_positive(name: str, value: str) -> None:
    # A message's lease is held past its send's deadline: an endless one
    # would keep a crashed worker's message from every other worker.
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
