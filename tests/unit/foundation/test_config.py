from __future__ import annotations

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
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert "HUB_" in str(info.value)
