"""The evidence service with stored consents, against the sandbox registries.

The decisive moment is the release, not the check: a citizen who revokes
while the registries are being asked wins, the request is refused and
logged as denied, and no data leaves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from sqlalchemy import select

from hub.auth.models import CitizenPrincipal
from hub.config import Settings
from hub.consent.service import ConsentService
from hub.domain.identity import CitizenRef
from hub.errors import ConsentRequired
from hub.evidence.models import EvidenceRequest
from hub.evidence.ports import RegistryClient
from hub.evidence.service import EvidenceService
from hub.persistence.models import AuditEntryRow
from tests.common.consent import BANK, grant_consent, property_owner
from tests.common.hubs import migrated_services


class RevokingRegistry:
    """The land registry, with a citizen who revokes while it answers."""

    def __init__(self, inner: RegistryClient, revoke: Any) -> None:
        self.name = inner.name
        self.inner = inner
        self.revoke = revoke

    def call(self, operation: str, params: Mapping[str, str], *, request_id: str) -> Any:
        self.revoke()
        return self.inner.call(operation, params, request_id=request_id)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def services(settings: Settings) -> Iterator[Any]:
    with migrated_services(settings) as built:
        assert built.consents is not None, "build_services wires the consent service"
        yield built


def _ask(evidence: EvidenceService, alice: CitizenPrincipal) -> Any:
    return evidence.request(
        BANK,
        EvidenceRequest(
            citizen=CitizenRef("amka", alice.amka or ""),
            evidence_type="property-ownership",
            purpose="mortgage-application",
        ),
    )


def _log(services: Any) -> list[dict[str, Any]]:
    with services.db.session() as session:
        rows = session.scalars(select(AuditEntryRow.entry).order_by(AuditEntryRow.idx))
        return [json.loads(row) for row in rows]


def test_a_revocation_during_the_fetch_wins(services: Any, citizens: list[dict[str, Any]]) -> None:
    alice = property_owner(citizens)
    consents: ConsentService = services.consents
    consent_id = grant_consent(consents, alice)
    evidence = EvidenceService(
        catalog=services.catalog.catalog,
        registries={
            **services.registries,
            "land": RevokingRegistry(
                services.registries["land"], lambda: consents.revoke(alice, consent_id)
            ),
        },
        access_log=services.access_log,
        identity=services.catalog.identity,
        consents=services.evidence.consents,
    )
    with pytest.raises(ConsentRequired):
        _ask(evidence, alice)
    last = _log(services)[-1]
    assert (last["action"], last["outcome"], last["reason"]) == (
        "evidence.request",
        "denied",
        "consent-required",
    )
    assert last["consent_id"] == consent_id
    releases = [e for e in _log(services) if e["action"] == "evidence.request"]
    assert [e["outcome"] for e in releases] == ["denied"]


def test_a_one_time_consent_by_amka_serves_one_request(
    services: Any, citizens: list[dict[str, Any]]
) -> None:
    alice = property_owner(citizens)
    consent_id = grant_consent(services.consents, alice, once=True)
    result = _ask(services.evidence, alice)
    assert result.consent_id == consent_id
    assert result.evidence["property_count"] >= 1
    with pytest.raises(ConsentRequired):
        _ask(services.evidence, alice)
    granted = [e for e in _log(services) if e["action"] == "evidence.request"]
    assert [e["outcome"] for e in granted] == ["granted", "denied"]
