"""A one-time consent serves one release, whatever the gate's first answer.

A gate whose ``authorise`` keeps answering with a one-time consent it
approved once (a cache, a replica that lags) still cannot release data a
second time: the evidence service spends the consent through the gate's
``record_use`` in the transaction that logs the release, and the store
refuses a consent already spent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hub.auth.models import AgencyPrincipal, CitizenPrincipal
from hub.config import Settings
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.catalog import Purpose
from hub.domain.identity import CitizenRef
from hub.errors import ConsentRequired
from hub.evidence.models import EvidenceRequest
from hub.evidence.ports import ConsentGate
from hub.evidence.service import EvidenceService
from tests.common.hubs import migrated_services

BANK = AgencyPrincipal("bank-demo", ("mortgage-application",), "tok")


class RememberingGate:
    """Answers every request with the first consent it approved; spends through ``inner``."""

    def __init__(self, inner: ConsentGate) -> None:
        self.inner = inner
        self.remembered: str | None = None

    def authorise(
        self,
        *,
        agency_id: str,
        purpose: Purpose,
        evidence_type: str,
        citizen: CitizenRef,
        consent_id: str | None,
    ) -> str:
        if self.remembered is None:
            self.remembered = self.inner.authorise(
                agency_id=agency_id,
                purpose=purpose,
                evidence_type=evidence_type,
                citizen=citizen,
                consent_id=consent_id,
            )
        return self.remembered

    def record_use(self, consent_id: str, entry: AccessEntry) -> int:
        return self.inner.record_use(consent_id, entry)


@pytest.fixture
def services(settings: Settings) -> Iterator[Any]:
    with migrated_services(settings) as built:
        yield built


def test_a_one_time_consent_cannot_be_reused(services: Any, citizens: list[dict[str, Any]]) -> None:
    found = next(c for c in citizens if c["owns_property"] and not c["deceased"])
    alice = CitizenPrincipal(afm=found["afm"], amka=found["amka"], name=None)
    request = services.consents.open_request(
        BANK,
        citizen=CitizenRef("afm", alice.afm),
        purpose="mortgage-application",
        evidence_types=["property-ownership"],
    )
    _, consent = services.consents.decide(alice, request.id, approve=True, once=True)
    gate = RememberingGate(services.evidence.consents)
    evidence = EvidenceService(
        catalog=services.catalog.catalog,
        registries=services.registries,
        access_log=services.access_log,
        identity=services.catalog.identity,
        consents=gate,
    )
    ask = EvidenceRequest(
        citizen=CitizenRef("afm", alice.afm),
        evidence_type="property-ownership",
        purpose="mortgage-application",
    )
    first = evidence.request(BANK, ask)
    assert first.consent_id == consent.id
    with pytest.raises(ConsentRequired, match="nothing was shared"):
        evidence.request(BANK, ask)
    assert gate.remembered == consent.id  # the gate said yes both times
