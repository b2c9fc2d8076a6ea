"""What certificates need from the outside: where records live, the holder's evidence and name.

:class:`CertificateStore` is implemented by ``hub/persistence/certificates.py``,
:class:`HolderEvidence` by the evidence service, :class:`HolderNames` by
:class:`~hub.certificates.service.RegistryHolderNames` over the identity registry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from hub.certificates.models import CertificateRecord
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.identity import CitizenRef

__all__ = ["CertificateStore", "HolderEvidence", "HolderNames"]


@runtime_checkable
class CertificateStore(Protocol):
    """Certificate records and their sealed PDFs, with the log in one transaction.

    ``add`` and ``revoke`` append ``entries`` to the access log in the same
    transaction as the change they record, so neither exists without the other.
    """

    def add(
        self, record: CertificateRecord, pdf: bytes, entries: Sequence[AccessEntry]
    ) -> None: ...

    def get(self, code: str) -> CertificateRecord | None: ...

    def pdf(self, code: str) -> bytes | None: ...

    def for_holder(self, subjects: Sequence[str]) -> list[CertificateRecord]:
        """The certificates held under any of ``subjects``, newest first."""
        ...

    def revoke(
        self,
        code: str,
        *,
        at: dt.datetime,
        reason: str,
        by: str,
        entries: Sequence[AccessEntry],
    ) -> CertificateRecord:
        """Mark the certificate revoked; ``Conflict`` if it already is."""
        ...


@runtime_checkable
class HolderEvidence(Protocol):
    """The full evidence about a citizen, fetched for the citizen's own use."""

    def fetch_for_holder(
        self, evidence_type: str, citizen: CitizenRef, request_id: str
    ) -> dict[str, Any]: ...


@runtime_checkable
class HolderNames(Protocol):
    """The holder's full name as the population registry spells it."""

    def holder_name(self, citizen: CitizenRef, request_id: str) -> str | None: ...
