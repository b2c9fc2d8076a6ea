"""The onboarding sandbox (vehicles over OAuth2, education over mutual TLS) and hubs that use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from adapters.sandbox.onboarding import OnboardingSandbox, start_onboarding_sandbox
from adapters.sandbox.population import Population
from hub.config import Settings
from tests.common.server import serve_hub
from tests.conftest import SANDBOX_SEED, SANDBOX_SIZE
from tests.integration.registries._onboarding import onboarded_settings

HubFactory = Callable[..., AbstractContextManager[tuple[str, Any, Any]]]


@pytest.fixture(scope="session")
def onboarding(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnboardingSandbox]:
    handle = start_onboarding_sandbox(
        tmp_path_factory.mktemp("onboarding-pki"), Population(SANDBOX_SIZE, SANDBOX_SEED)
    )
    yield handle
    handle.stop()


@pytest.fixture
def onboarded_hub(settings: Settings, onboarding: OnboardingSandbox) -> HubFactory:
    """Starts a hub with the extension, and any setting overridden as environment text."""

    def start(**env: str) -> AbstractContextManager[tuple[str, Any, Any]]:
        return serve_hub(onboarded_settings(settings, onboarding, **env))

    return start
