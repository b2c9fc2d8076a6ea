"""What the evidence exchange needs from the outside: registries, a sealer, a consent gate.

:class:`RegistryClient` is implemented by the REST and SOAP adapters
(``adapters/rest.py``, ``adapters/soap.py``), :class:`JsonSealer` by the key
store's JWS sealer, :class:`ConsentGate` by the consent feature's
:class:`~hub.consent.service.StoredConsentGate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from hub.domain.auditlog.entry import AccessEntry
from hub.domain.catalog import Purpose
from hub.domain.identity import CitizenRef

__all__ = ["ConsentGate", "JsonSealer", "RegistryClient"]


class ConsentGate(Protocol):
    """Decides whether a consent purpose may proceed, and spends the consent.

    ``authorise`` runs before any registry is called; by the time the data is
    ready, the citizen may have revoked, or another request may have spent a
    one-time consent. So every gate also has ``record_use``, which re-checks
    the consent and appends the granted entry in one transaction: the entry
    is written (and its index returned) only if the consent is still usable,
    otherwise it raises :class:`~hub.errors.ConsentRequired` and no data
    leaves. Both are part of the port, so a gate that cannot spend a consent
    does not type-check as one.
    """

    def authorise(
        self,
        *,
        agency_id: str,
        purpose: Purpose,
        evidence_type: str,
        citizen: CitizenRef,
        consent_id: str | None,
    ) -> str:
        """The id of the consent that covers the request, or ConsentRequired."""
        ...

    def record_use(self, consent_id: str, entry: AccessEntry) -> int:
        """Spend ``consent_id`` and log ``entry`` together; ConsentRequired if it is spent."""
        ...


@runtime_checkable
class RegistryClient(Protocol):
    """One authoritative registry, whatever protocol it speaks.

    ``call`` runs a named operation of the registry's description with
    simple parameters and returns the answer as plain JSON-like data (dicts,
    lists, strings, numbers, booleans, ISO dates). It raises only
    :class:`hub.errors.RegistryError` subclasses, or
    :class:`hub.errors.CitizenNotFound` when the registry knows no such person.
    """

    name: str

    def call(self, operation: str, params: Mapping[str, str], *, request_id: str) -> Any: ...

    def close(self) -> None: ...


@runtime_checkable
class JsonSealer(Protocol):
    """Seals a JSON object so that its recipient can later prove where it came from."""

    def seal(self, payload: Mapping[str, Any]) -> str:
        """A compact JWS over the canonical payload, naming its key."""
        ...
