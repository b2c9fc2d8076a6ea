"""Services is built once, whole, and cannot be changed afterwards."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.app import build_services
from hub.config import Settings
from hub.services import Services, unavailable_reason

# Services that need the key store, and so are disabled stand-ins without it
# (services added later may join them; each must say how to fix it).
_NEED_KEYS = ("keystore", "tokens", "audit", "certificates", "consents")
# What a hub without keys still does: evidence (unsealed), limits, health.
_KEYLESS = (
    "settings",
    "db",
    "metrics",
    "catalog",
    "registries",
    "access_log",
    "evidence",
    "verify_limiter",
    "token_limiter",
    "readiness",
)


@pytest.fixture
def with_keys(tmp_path: Path, keys_dir: Path) -> Iterator[Services]:
    built = build_services(Settings.for_tests(tmp_path, keys_dir=keys_dir))
    yield built
    built.close()


@pytest.fixture
def keyless(tmp_path: Path) -> Iterator[Services]:
    built = build_services(Settings.for_tests(tmp_path))
    yield built
    built.close()


def test_services_cannot_be_changed_after_they_are_built(with_keys: Services) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        with_keys.certificates = with_keys.certificates  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        with_keys.token_limiter = with_keys.verify_limiter  # type: ignore[misc]


def test_with_keys_every_service_is_a_working_one(with_keys: Services) -> None:
    for field in dataclasses.fields(Services):
        value = getattr(with_keys, field.name)
        # None selects the development sign-in, and means "no witnesses configured".
        if field.name not in ("citizen_signin", "witnessing"):
            assert value is not None, field.name
        assert unavailable_reason(value) is None, field.name


def test_without_keys_what_needs_them_is_disabled_and_says_why(keyless: Services) -> None:
    for name in _KEYLESS:
        assert unavailable_reason(getattr(keyless, name)) is None, name
    for name in _NEED_KEYS:
        assert unavailable_reason(getattr(keyless, name)) is not None, name
    for field in dataclasses.fields(Services):
        reason = unavailable_reason(getattr(keyless, field.name))
        assert reason is None or "hub keys init" in reason, field.name
    ok, checks = keyless.ready()
    assert not ok
    assert checks["keys"]["ok"] is False
