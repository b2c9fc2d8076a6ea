"""A running sandbox on ephemeral ports, and zeep clients built from the WSDL files on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from zeep import Client, Settings
from zeep.transports import Transport

from adapters.sandbox.runner import SPECS_DIR, SandboxHandle, start_sandbox

CREDENTIALS = ("hub-test", "s3cret-for-tests")
POPULATION_BINDING = "{urn:gr:sandbox:population:v1}PopulationRegistryBinding"
SOCIAL_SECURITY_BINDING = "{urn:gr:sandbox:social-security:v1}SocialSecurityRegistryBinding"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    handle = start_sandbox(base_port=0, size=2_000, seed=2026, credentials=CREDENTIALS)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


SoapFactory = Callable[..., Any]


@pytest.fixture
def soap_service() -> Iterator[SoapFactory]:
    """Build a zeep service for a WSDL on disk, bound to a given base URL."""
    sessions: list[requests.Session] = []

    def build(wsdl: str, url: str, *, wsse: Any = None, timeout: float = 10) -> Any:
        session = requests.Session()
        sessions.append(session)
        transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
        # The hub must parse registry answers like this: no DTD, no entity, no network.
        settings = Settings(forbid_dtd=True, forbid_entities=True, forbid_external=True)
        client = Client(str(SPECS_DIR / wsdl), transport=transport, settings=settings, wsse=wsse)
        binding = POPULATION_BINDING if wsdl == "population.wsdl" else SOCIAL_SECURITY_BINDING
        return client.create_service(binding, url + "/")

    yield build
    for session in sessions:
        session.close()
