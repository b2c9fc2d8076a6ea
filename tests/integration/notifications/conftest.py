"""Real providers for notification tests: an aiosmtpd server and the HTTP gateway.

Both store what they receive in one SQLite file per test (a MessageBox),
which the tests read back like ``hub sandbox messages`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from adapters.sandbox.messages import (
    CALLBACK_SECRET,
    GATEWAY_TOKEN,
    MessageBox,
    SandboxGateway,
    SandboxMailServer,
)
from hub.config import Settings
from tests.common.server import serve


@dataclass
class Providers:
    box: MessageBox
    smtp_port: int
    gateway_url: str
    gateway: SandboxGateway
    mail: SandboxMailServer


@pytest.fixture
def providers(tmp_path: Path) -> Iterator[Providers]:
    box = MessageBox(tmp_path / "messages.db")
    mail = SandboxMailServer(box)
    mail.start()
    gateway = SandboxGateway(box)
    try:
        with serve(gateway) as gateway_url:
            yield Providers(box, mail.port, gateway_url, gateway, mail)
    finally:
        mail.stop()


def notify_settings(settings: Settings, providers: Providers, **overrides: Any) -> Settings:
    """``settings`` sending through the sandbox providers, polling fast."""
    return replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=providers.smtp_port,
        sms_url=providers.gateway_url + "/v1/messages",
        sms_token=GATEWAY_TOKEN,
        viber_url=providers.gateway_url + "/v1/messages",
        viber_token=GATEWAY_TOKEN,
        notify_callback_secret=CALLBACK_SECRET,
        notify_poll_seconds=0.05,
        notify_backoff_seconds=0.2,
        **overrides,
    )


class Hub:
    """A served hub and the HTTP verbs the tests use."""

    def __init__(self, url: str, services: Any) -> None:
        self.url = url
        self.services = services

    def citizen_token(self, citizen: dict[str, Any]) -> str:
        issued = self.services.tokens.issue_citizen(
            citizen["afm"], citizen["amka"], citizen["name"]
        )
        token: str = issued.access_token
        return token

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, self.url + path, json=body, headers=headers, timeout=30)


@pytest.fixture
def notifying_hub(settings: Settings, providers: Providers) -> Iterator[Hub]:
    from tests.common.server import serve_hub  # noqa: PLC0415

    with serve_hub(notify_settings(settings, providers)) as (url, services, _):
        yield Hub(url, services)
