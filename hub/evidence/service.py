"""The once-only exchange: an agency's evidence request, end to end.

Order matters and is the point of this module: check the purpose and the
agency, the purpose's parameters, then the legal basis or consent, and only
then touch a registry; resolve the citizen, fetch, normalise to the evidence
schema, keep only what the purpose allows, record the decision in the access
log, and only then seal the answer. Denials are recorded too.

The seal (a JWS) says whom the answer is about and under what authority:
the citizen as the agency named them, the purpose, legal basis or consent,
the parameters, and where the access sits in the log (its origin and
index). The index exists only once the entry is appended, so the entry is
appended first and the answer sealed after; the entry in turn commits to the
evidence by its digest. A court holding a sealed answer can therefore fetch
that entry, prove it is in the log, and see that both tell the same story.
An answer that cannot be sealed after its release was recorded leaves no
data and is logged again as an error under the same request id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from hub.audit.ports import AccessLog
from hub.audit.service import DEFAULT_ORIGIN
from hub.auth.models import AgencyPrincipal
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.domain.canonical import canonical_json
from hub.domain.catalog import Catalog, CatalogView, EvidenceType, Purpose, in_force
from hub.domain.identity import CitizenRef
from hub.domain.mapping import apply_mapping, lookup, minimise
from hub.domain.schemas import SchemaCheck
from hub.errors import (
    BadRequest,
    CitizenNotFound,
    ConsentRequired,
    HubError,
    PurposeNotAllowed,
    RegistryError,
)
from hub.evidence.models import EvidenceRequest, EvidenceResult, IdentityLookup
from hub.evidence.ports import ConsentGate, JsonSealer, RegistryClient

__all__ = [
    "ConsentGate",
    "EvidenceRequest",
    "EvidenceResult",
    "EvidenceService",
    "IdentityLookup",
    "NoConsentStore",
    "seal_payload",
]


class NoConsentStore:
    """A hub that keeps no consents: every consent purpose is refused."""

    def authorise(
        self,
        *,
        agency_id: str,
        purpose: Purpose,
        evidence_type: str,
        citizen: CitizenRef,
        consent_id: str | None,
    ) -> str:
        raise ConsentRequired(
            f"Purpose {purpose.id} needs the citizen's consent.",
            consent_request_endpoint="/v1/consent-requests",
        )

    def record_use(self, consent_id: str, entry: AccessEntry) -> int:
        # Unreachable through authorise, which refuses every consent.
        raise ConsentRequired(
            "This hub keeps no consents.", consent_request_endpoint="/v1/consent-requests"
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(value: Any) -> str:
    """SHA-256 over the RFC 8785 canonical form, as ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()


def seal_payload(
    entry: AccessEntry,
    *,
    agency: str,
    citizen: Mapping[str, str],
    evidence: Mapping[str, Any],
    log_origin: str,
    log_index: int,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the seal of an evidence answer signs, read from its granted log entry.

    Every claim but ``citizen``, ``agency``, ``evidence`` and the log's
    origin and index is copied from the entry, so that a verifier can compare
    them one by one with the entry at ``log_index``; the evidence is bound to
    the entry by ``response_digest`` (SHA-256 of its RFC 8785 form).
    """
    obj = entry.to_json_obj()
    return {
        "citizen": dict(citizen),
        "agency": agency,
        "official": obj["actor"]["official"],
        "evidence_type": obj["evidence_type"],
        "evidence": dict(evidence),
        "purpose": obj["purpose"],
        "legal_basis": obj["legal_basis"],
        "consent_id": obj["consent_id"],
        "parameters": obj["parameters"],
        "case_reference": obj["case_reference"],
        "request_id": obj["request_id"],
        "client_request_id": obj["client_request_id"],
        "issued_at": obj["time"],
        "log_origin": log_origin,
        "log_index": log_index,
        "provenance": dict(provenance or {}),
    }


class EvidenceService:
    def __init__(
        self,
        *,
        catalog: CatalogView,
        registries: Mapping[str, RegistryClient],
        access_log: AccessLog,
        identity: IdentityLookup,
        consents: ConsentGate | None = None,
        sealer: JsonSealer | None = None,
        clock: Callable[[], dt.datetime] = _now,
        log_origin: str = DEFAULT_ORIGIN,
    ) -> None:
        self._catalog = catalog
        self.registries = registries
        self.access_log = access_log
        self.identity = identity
        self.consents: ConsentGate = consents or NoConsentStore()
        #: Seals each answer (JWS) so an agency can later prove its origin.
        self.sealer = sealer
        #: The access log's name (its checkpoints' origin line), named in each seal.
        self.log_origin = log_origin
        self._clock = clock
        self._validators: tuple[Catalog | None, dict[str, SchemaCheck]] = (None, {})

    @property
    def catalog(self) -> Catalog:
        """The catalogue in force now (a reload swaps it whole)."""
        return in_force(self._catalog)

    def _validator(self, evidence_type: EvidenceType) -> SchemaCheck:
        """The schema validator of ``evidence_type``, built once per catalogue."""
        catalog = self.catalog
        built, validators = self._validators
        if built is not catalog:
            validators = {
                tid: SchemaCheck(t.schema, formats=False)
                for tid, t in catalog.evidence_types.items()
            }
            self._validators = (catalog, validators)
        found = validators.get(evidence_type.id)
        return found if found is not None else SchemaCheck(evidence_type.schema, formats=False)

    # -- policy ---------------------------------------------------------------

    def _authorise(
        self, principal: AgencyPrincipal, request: EvidenceRequest
    ) -> tuple[Purpose, EvidenceType, tuple[str, ...]]:
        purpose = self.catalog.purposes.get(request.purpose)
        if purpose is None:
            raise PurposeNotAllowed(f"There is no purpose {request.purpose!r}.")
        if not purpose.allows_agency(principal.agency_id) or (
            request.purpose not in principal.purposes
        ):
            raise PurposeNotAllowed(
                f"Agency {principal.agency_id} may not act for purpose {purpose.id}."
            )
        evidence_type = self.catalog.evidence_types.get(request.evidence_type)
        if evidence_type is None:
            raise BadRequest(f"There is no evidence type {request.evidence_type!r}.")
        allowed = purpose.allowed_fields(evidence_type.id)
        if allowed is None:
            raise PurposeNotAllowed(
                f"Purpose {purpose.id} does not cover evidence type {evidence_type.id}."
            )
        return purpose, evidence_type, allowed

    # -- the exchange -----------------------------------------------------------

    def request(
        self, principal: AgencyPrincipal, request: EvidenceRequest, request_id: str | None = None
    ) -> EvidenceResult:
        # Free text is refused before anything happens: it would be logged forever.
        request.check_text()
        request_id = request_id or uuid.uuid4().hex
        actor = Actor("agency", principal.agency_id, request.official or None)
        subject = f"{request.citizen.kind}:{request.citizen.value}"
        legal_basis: str | None = None
        consent_id: str | None = None
        parameters: Mapping[str, str] = request.parameters
        try:
            purpose, evidence_type, allowed = self._authorise(principal, request)
            parameters = purpose.resolve_parameters(
                self.catalog.agencies.get(principal.agency_id), request.parameters
            )
            legal_basis = purpose.legal_basis
            if purpose.consent_required:
                legal_basis = "consent"
                consent_id = self.consents.authorise(
                    agency_id=principal.agency_id,
                    purpose=purpose,
                    evidence_type=evidence_type.id,
                    citizen=request.citizen,
                    consent_id=request.consent_id,
                )
            evidence, used, origins = self._fetch_with_provenance(
                evidence_type, replace(request, parameters=parameters), request_id
            )
            shared = minimise(evidence, allowed)
            provenance = {name: origins.get(name, []) for name in shared}
            self._check_schema(evidence_type, shared)
            granted = AccessEntry(
                time=self._clock(),
                actor=actor,
                action="evidence.request",
                outcome="granted",
                subject=subject,
                evidence_type=evidence_type.id,
                purpose=purpose.id,
                legal_basis=legal_basis,
                consent_id=consent_id,
                fields=tuple(shared),
                request_id=request_id,
                response_digest=digest(shared),
                case_reference=request.case_reference,
                parameters=parameters,
                client_request_id=request.client_request_id,
            )
            # With a consent, the consent is re-checked and spent in the very
            # transaction that records the release: a revocation that commits
            # first wins.
            if consent_id is not None:
                index = self.consents.record_use(consent_id, granted)
            else:
                index = self.access_log.record(granted)
            seal = self._seal(principal, request, granted, index, shared, provenance=provenance)
        except HubError as exc:
            self._deny(
                exc,
                actor=actor,
                subject=subject,
                request=request,
                request_id=request_id,
                legal_basis=legal_basis,
                consent_id=consent_id,
                parameters=parameters,
            )
            raise
        return EvidenceResult(
            request_id=request_id,
            evidence_type=evidence_type.id,
            purpose=purpose.id,
            evidence=shared,
            registries=used,
            issued_at=granted.time,
            legal_basis=legal_basis,
            consent_id=consent_id,
            log_index=index,
            parameters=parameters,
            seal=seal,
            provenance=provenance,
        )

    def _seal(
        self,
        principal: AgencyPrincipal,
        request: EvidenceRequest,
        granted: AccessEntry,
        index: int,
        shared: dict[str, Any],
        *,
        provenance: Mapping[str, Any],
    ) -> str | None:
        if self.sealer is None:
            return None
        return self.sealer.seal(
            seal_payload(
                granted,
                agency=principal.agency_id,
                citizen={request.citizen.kind: request.citizen.value},
                evidence=shared,
                log_origin=self.log_origin,
                log_index=index,
                provenance=provenance,
            )
        )

    def fetch_for_holder(
        self, evidence_type: str, citizen: CitizenRef, request_id: str
    ) -> dict[str, Any]:
        """The full evidence about ``citizen``, for the citizen's own certificate.

        No purpose applies (the legal basis is the holder's own request), so
        nothing is minimised; the caller records the access. Unknown types
        are a ``BadRequest``; registry failures raise as for agencies.
        """
        found = self.catalog.evidence_types.get(evidence_type)
        if found is None:
            raise BadRequest(f"There is no evidence type {evidence_type!r}.")
        request = EvidenceRequest(citizen=citizen, evidence_type=found.id, purpose="holder-request")
        evidence, _used = self._fetch(found, request, request_id)
        self._check_schema(found, evidence)
        return evidence

    def _deny(
        self,
        exc: HubError,
        *,
        actor: Actor,
        subject: str,
        request: EvidenceRequest,
        request_id: str,
        legal_basis: str | None,
        consent_id: str | None,
        parameters: Mapping[str, str],
    ) -> None:
        self.access_log.record(
            AccessEntry(
                time=self._clock(),
                actor=actor,
                action="evidence.request",
                outcome="denied" if exc.status < 500 else "error",
                subject=subject,
                evidence_type=request.evidence_type,
                purpose=request.purpose,
                legal_basis=legal_basis,
                consent_id=consent_id or request.consent_id,
                reason=exc.slug,
                request_id=request_id,
                case_reference=request.case_reference,
                parameters=parameters,
                client_request_id=request.client_request_id,
            )
        )

    def preview(
        self, *, purpose: Purpose, evidence_type: str, citizen: CitizenRef, request_id: str
    ) -> dict[str, Any]:
        """What a request for ``purpose`` would share, fetched live; nothing is logged.

        The citizen previews a consent request with this before deciding, so
        it runs exactly the fetch, mapping, minimisation and schema check of
        :meth:`request`, but skips policy (the caller already holds a
        request the purpose covers) and leaves the logging to the caller.
        """
        found = self.catalog.evidence_types.get(evidence_type)
        allowed = purpose.allowed_fields(evidence_type)
        if found is None or allowed is None:
            raise PurposeNotAllowed(
                f"Purpose {purpose.id} does not cover evidence type {evidence_type}."
            )
        request = EvidenceRequest(citizen=citizen, evidence_type=evidence_type, purpose=purpose.id)
        evidence, _ = self._fetch(found, request, request_id)
        shared = minimise(evidence, allowed)
        self._check_schema(found, shared)
        return shared

    def _identifiers(self, citizen: CitizenRef, request_id: str) -> dict[str, str]:
        """The citizen's other identifiers, from the registry the catalogue says resolves them.

        The identifier's own ``resolve`` (identifiers.yaml) names a registry
        operation and where each other kind is in its answer; AFM and AMKA
        fall back to the identity lookup of registries.yaml. A kind nothing
        resolves yields only itself, and a source that needs another finds none.
        """
        spec = self.catalog.identifiers.get(citizen.kind)
        resolve = spec.resolve if spec is not None else None
        if resolve is not None:
            registry, operation, fields = resolve.registry, resolve.operation, resolve.fields
        elif citizen.kind in ("afm", "amka"):
            registry, operation = self.identity.registry, self.identity.operation
            fields = {"afm": self.identity.afm_path, "amka": self.identity.amka_path}
        else:
            return {citizen.kind: citizen.value}
        answer = self.registries[registry].call(
            operation, {citizen.kind: citizen.value}, request_id=request_id
        )
        ids: dict[str, str] = {citizen.kind: citizen.value}
        for kind, path in fields.items():
            value = lookup(answer, path)
            if isinstance(value, str):
                ids.setdefault(kind, value)
        return ids

    def _fetch(
        self, evidence_type: EvidenceType, request: EvidenceRequest, request_id: str
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        evidence, used, _ = self._fetch_with_provenance(evidence_type, request, request_id)
        return evidence, used

    def _fetch_with_provenance(
        self, evidence_type: EvidenceType, request: EvidenceRequest, request_id: str
    ) -> tuple[dict[str, Any], tuple[str, ...], dict[str, list[dict[str, str | None]]]]:
        ids: dict[str, str] = {request.citizen.kind: request.citizen.value}
        if any(s.identifier not in ids for s in evidence_type.sources):
            ids = self._identifiers(request.citizen, request_id)
        answers: dict[str, Any] = {}
        used: list[str] = []
        origin: dict[str, dict[str, str | None]] = {}
        for source in evidence_type.sources:
            value = ids.get(source.identifier)
            if value is None:
                raise CitizenNotFound("The registries hold no such citizen.")
            try:
                answers[source.name] = self.registries[source.registry].call(
                    source.operation, {source.identifier: value}, request_id=request_id
                )
            except CitizenNotFound:
                if not source.optional:
                    raise
                answers[source.name] = None
            if source.registry not in used:
                used.append(source.registry)
            as_of = lookup(answers[source.name], source.as_of) if source.as_of else None
            origin[source.name] = {
                "registry": source.registry,
                "as_of": as_of if isinstance(as_of, str) else None,
            }
        evidence = apply_mapping(
            evidence_type.mapping, answers, params=request.parameters, today=self._clock().date()
        )
        provenance = {
            name: [origin[s] for s in evidence_type.field_sources.get(name, ()) if s in origin]
            for name in evidence
        }
        return evidence, tuple(used), provenance

    def _check_schema(self, evidence_type: EvidenceType, evidence: dict[str, Any]) -> None:
        if not self._validator(evidence_type).is_valid(evidence):
            raise RegistryError(
                "A registry's answer does not fit the evidence type; nothing was shared.",
                evidence_type=evidence_type.id,
            )
