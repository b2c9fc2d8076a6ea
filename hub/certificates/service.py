"""Sealed certificates: issued to a citizen, checked by anyone, revocable.

A citizen asks for a certificate of their own data (birth, family status,
property, insurance). The legal basis is the holder's own request, so the
evidence is fetched in full, laid out as a bilingual PDF with a QR code, and
sealed (PAdES). The hub keeps a record per certificate — its code, type, the
holder's references, the digests of the record and of the PDF, its status —
and the sealed PDF itself, so that the holder can download it again and a
verifier can ask about the code.

A verifier (a bank, a landlord) is anonymous and needs no account:

* by upload, the PDF's seal is validated against the published trust, and the
  code inside it is then looked up: a revoked certificate is reported as
  revoked, an unknown code or a PDF that differs from the issued one is said
  so, but the cryptographic verdict is kept, since it stands on its own;
* by code, only the status and what lets the verifier match the paper (type,
  issue date, a masked holder name) are disclosed — and the check is logged
  under the holder's reference, so the holder sees who checked and when.

Uploaded documents are never stored. The PDF and JWS verifiers never raise
on bad input; neither does :meth:`CertificateService.verify_document`.
Storage, the registries and the log stay behind the ports below, so this
module imports no ORM and no web framework.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from hub.audit.ports import AccessLog
from hub.auth.models import CitizenPrincipal
from hub.certificates.models import (
    CertificateRecord,
    CertificateStatus,
    CodeCheck,
    IssuedCertificate,
    VerificationReport,
    iso_utc,
)
from hub.certificates.ports import CertificateStore, HolderEvidence, HolderNames
from hub.domain.auditlog.entry import NOT_OWNER, AccessEntry, Actor
from hub.domain.catalog import CatalogView, CertificateType, EvidenceType, in_force
from hub.domain.identity import CitizenRef
from hub.domain.sealing.jws import MAX_TOKEN_LENGTH, verify_jws
from hub.domain.sealing.keystore import KeyPurpose, KeyStore
from hub.domain.sealing.pades import PdfSealer, PdfVerifier
from hub.domain.sealing.pdf import (
    CertificateContent,
    EvidenceField,
    athens_time,
    is_verification_code,
    new_verification_code,
    render_certificate,
)
from hub.domain.sealing.report import Indication, Report, Status, SubIndication
from hub.domain.sealing.trust import Trust
from hub.errors import BadRequest, Conflict, HubError, NotFound
from hub.evidence.ports import RegistryClient

__all__ = [
    "HOLDER_REQUEST",
    "CertificateService",
    "RegistryHolderNames",
    "format_value",
    "mask_name",
    "normalise_code",
]

#: The evidence types a citizen may ask a certificate of.

#: The legal basis logged for a certificate: the holder asked for their own data.
HOLDER_REQUEST = "holder-request"

#: Revocation reasons are shown to verifiers; keep them short.
MAX_REASON_LENGTH = 500

_YES_NO = {True: "Ναι / Yes", False: "Όχι / No"}

# Labels of nested values that the catalogue's evidence types share but do
# not each spell out (the people in a family-status certificate).
_COMMON_LABELS: Mapping[str, tuple[str, str]] = {
    "given_name": ("Όνομα", "Given name"),
    "surname": ("Επώνυμο", "Surname"),
    "birth_date": ("Ημερομηνία γέννησης", "Date of birth"),
    "alive": ("Εν ζωή", "Alive"),
}


class RegistryHolderNames:
    """:class:`HolderNames` from the identity registry's person record.

    The Greek name is what the certificate prints; the Latin one follows it
    so that a foreign reader can match the holder's passport.
    """

    def __init__(self, registry: RegistryClient, operation: str = "GetPerson") -> None:
        self.registry = registry
        self.operation = operation

    def holder_name(self, citizen: CitizenRef, request_id: str) -> str | None:
        answer = self.registry.call(
            self.operation, {citizen.kind: citizen.value}, request_id=request_id
        )
        if not isinstance(answer, Mapping):
            return None
        greek = _join(answer.get("firstName"), answer.get("surname"))
        latin = _join(answer.get("firstNameLatin"), answer.get("surnameLatin"))
        if greek and latin and latin != greek:
            return f"{greek} / {latin}"
        return greek or latin or None


def _join(*parts: Any) -> str:
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


# -- helpers -------------------------------------------------------------------------


def mask_name(name: str | None) -> str | None:
    """``Ιωάννης Παπαδόπουλος`` → ``Ι*** Π***``: enough to match the paper, no more.

    Only the first (Greek) spelling is masked when the name carries both.
    """
    if not name:
        return None
    first = name.split(" / ", 1)[0]
    words = [w for w in first.split() if w]
    return " ".join(f"{w[0]}***" for w in words) or None


def normalise_code(text: str) -> str | None:
    """A verification code as typed by a person, in its canonical form, or None.

    Case and spaces do not matter, and the dashes may be left out.
    """
    if len(text) > 64:
        return None
    compact = "".join(ch for ch in text.upper() if ch not in " -")
    if len(compact) != 16:
        return None
    code = "-".join(compact[i : i + 4] for i in range(0, 16, 4))
    return code if is_verification_code(code) else None


def format_value(  # noqa: PLR0911  # one return per kind of JSON value reads best
    value: Any, labels: Mapping[str, tuple[str, str]]
) -> str:
    """One evidence value as the text of a table cell, both languages where it matters."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _YES_NO[value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        lines = []
        for key, item in value.items():
            el, en = labels.get(key) or _COMMON_LABELS.get(key) or (key, key.replace("_", " "))
            lines.append(f"{el} / {en}: {format_value(item, labels)}")
        return "\n".join(lines) or "—"
    if isinstance(value, list | tuple):
        if not value:
            return "—"
        return "\n\n".join(format_value(item, labels) for item in value)
    if isinstance(value, str):
        return _greek_date(value)
    return str(value)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def _greek_date(text: str) -> str:
    """ISO dates as a Greek reader writes them (dd/mm/yyyy); times in Greek time."""
    try:
        if _ISO_DATE.fullmatch(text):
            return dt.date.fromisoformat(text).strftime("%d/%m/%Y")
        if _ISO_TIME.fullmatch(text):
            return athens_time(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:  # looks like a date but is not one: print it as it is
        pass
    return text


def _notes(certificate: CertificateType, issued_at: dt.datetime) -> dict[str, str]:
    notes = {"Νομική βάση / Legal basis": "Αίτηση του κατόχου / Request of the holder"}
    if certificate.valid_for_days is not None:
        until = (issued_at + dt.timedelta(days=certificate.valid_for_days)).date()
        notes["Ισχύει έως / Valid until"] = f"{until:%d/%m/%Y}"
    return notes


def _fields(
    evidence_type: EvidenceType,
    evidence: Mapping[str, Any],
    overrides: Mapping[str, tuple[str, str]] | None = None,
) -> list[EvidenceField]:
    # The catalogue's label order is the order a reader expects; fields the
    # labels do not name follow in the evidence's own order. A certificate
    # may word a field its own way.
    labels = {**evidence_type.labels, **(overrides or {})}
    keys = [k for k in labels if k in evidence] + [k for k in evidence if k not in labels]
    rows: list[EvidenceField] = []
    for key in keys:
        el, en = labels.get(key) or _COMMON_LABELS.get(key) or (key, key.replace("_", " "))
        value = evidence[key]
        if isinstance(value, list | tuple) and len(value) > 1:
            # One row per item (a property, a child): a table row never
            # splits across pages, so one tall row would leave a page empty.
            count = len(value)
            rows.extend(
                EvidenceField(
                    f"{key}.{n}",
                    f"{el} ({n}/{count})",
                    f"{en} ({n}/{count})",
                    format_value(item, labels),
                )
                for n, item in enumerate(value, 1)
            )
            continue
        rows.append(EvidenceField(key, el, en, format_value(value, labels)))
    return rows


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the service -------------------------------------------------------------------------


class CertificateService:
    """Issues, lists, revokes and verifies certificates.

    Build it once: the PDF sealer and verifier it holds are costly to make.
    """

    def __init__(
        self,
        *,
        catalog: CatalogView,
        evidence: HolderEvidence,
        names: HolderNames | None,
        store: CertificateStore,
        access_log: AccessLog,
        keystore: KeyStore,
        sealer: PdfSealer,
        trust: Callable[[], Trust],
        public_url: str,
        authority_el: str = "Εθνικός Κόμβος Διαλειτουργικότητας",
        authority_en: str = "National Interoperability Hub",
        clock: Callable[[], dt.datetime] = _now,
        new_code: Callable[[], str] = new_verification_code,
    ) -> None:
        self.catalog = catalog
        self.evidence = evidence
        self.names = names
        self.store = store
        self.access_log = access_log
        self.keystore = keystore
        self.sealer = sealer
        self._trust = trust
        self.public_url = public_url.rstrip("/")
        self.authority_el = authority_el
        self.authority_en = authority_en
        self._clock = clock
        self._new_code = new_code
        self._lock = threading.Lock()
        self._verifier: tuple[Trust, PdfVerifier] | None = None

    @property
    def types(self) -> tuple[str, ...]:
        """The certificate types of the catalogue in force (``certificates.yaml``)."""
        return tuple(self.catalog.certificate_types)

    # -- issuing -------------------------------------------------------------------

    def issue(
        self, holder: CitizenPrincipal, evidence_type: str, request_id: str | None = None
    ) -> IssuedCertificate:
        """Fetch the holder's evidence, render and seal it, record it, log it."""
        request_id = request_id or uuid.uuid4().hex
        actor = Actor("citizen", holder.subjects[0])
        citizen = CitizenRef("afm", holder.afm)
        try:
            certificate, found = self._type(evidence_type)
            evidence = self.evidence.fetch_for_holder(found.id, citizen, request_id)
            if certificate.fields:
                evidence = {k: evidence[k] for k in certificate.fields if k in evidence}
            name = self.names.holder_name(citizen, request_id) if self.names else None
            name = name or holder.name or holder.afm
            issued_at = self._clock()
            content = CertificateContent(
                code=self._new_code(),
                evidence_type=certificate.id,
                title_el=certificate.title[0],
                title_en=certificate.title[1],
                holder_name=name,
                authority_el=self.authority_el,
                authority_en=self.authority_en,
                issued_at=issued_at,
                fields=_fields(found, evidence, certificate.labels),
                holder_id=holder.afm,
                holder_masked=mask_name(name) or "***",
                notes=_notes(certificate, issued_at),
            )
            rendered = render_certificate(content, self.keystore, self.public_url)
            pdf = self.sealer.seal(rendered.pdf)
        except HubError as exc:
            self.access_log.record(
                AccessEntry(
                    time=self._clock(),
                    actor=actor,
                    action="certificate.issue",
                    outcome="denied" if exc.status < 500 else "error",
                    subject=holder.subjects[0],
                    evidence_type=evidence_type[:64],
                    legal_basis=HOLDER_REQUEST,
                    reason=exc.slug,
                    request_id=request_id,
                )
            )
            raise
        pdf_sha256 = _sha256(pdf)
        record = CertificateRecord(
            code=content.code,
            evidence_type=certificate.id,
            subjects=holder.subjects,
            holder_masked=mask_name(name) or "***",
            record_sha256=rendered.record_sha256,
            pdf_sha256=pdf_sha256,
            issued_at=issued_at,
            kid=self.keystore.current(KeyPurpose.SEAL).kid,
        )
        entry = AccessEntry(
            time=issued_at,
            actor=actor,
            action="certificate.issue",
            outcome="granted",
            subject=holder.subjects[0],
            evidence_type=found.id,
            legal_basis=HOLDER_REQUEST,
            fields=tuple(evidence),
            request_id=request_id,
            response_digest=f"sha256:{pdf_sha256}",
        )
        self.store.add(record, pdf, [entry])
        return IssuedCertificate(record, pdf, rendered.token)

    def _type(self, certificate_type: str) -> tuple[CertificateType, EvidenceType]:
        current = in_force(self.catalog)
        found = current.certificate_types.get(certificate_type)
        if found is None:
            raise BadRequest(
                f"There is no certificate of type {certificate_type[:64]!r}; "
                f"choose one of {', '.join(current.certificate_types)}."
            )
        return found, current.evidence_types[found.evidence_type]

    # -- the holder's own view -------------------------------------------------------

    def list_for(self, holder: CitizenPrincipal) -> list[CertificateRecord]:
        return self.store.for_holder(holder.subjects)

    def own(
        self,
        holder: CitizenPrincipal,
        code: str,
        action: str = "certificate.download",
        request_id: str | None = None,
    ) -> CertificateRecord:
        """The holder's certificate; someone else's is reported as absent (404).

        Reaching for someone else's certificate is logged as a denial of
        ``action`` under that certificate's holder.
        """
        canonical = normalise_code(code)
        record = self.store.get(canonical) if canonical else None
        if record is None:
            raise NotFound("You hold no certificate with this code.")
        if not set(record.subjects) & set(holder.subjects):
            self.access_log.record(
                AccessEntry(
                    time=self._clock(),
                    actor=Actor("citizen", holder.subjects[0]),
                    action=action,
                    outcome="denied",
                    subject=record.subject,
                    evidence_type=record.evidence_type,
                    reason=NOT_OWNER,
                    request_id=request_id or uuid.uuid4().hex,
                )
            )
            raise NotFound("You hold no certificate with this code.")
        return record

    def pdf_for(
        self, holder: CitizenPrincipal, code: str, request_id: str | None = None
    ) -> tuple[CertificateRecord, bytes]:
        """The holder's certificate record and its sealed PDF, for downloading again."""
        record = self.own(holder, code, "certificate.download", request_id)
        pdf = self.store.pdf(record.code)
        if pdf is None:
            raise NotFound("The sealed PDF of this certificate is no longer kept.")
        return record, pdf

    # -- revocation ----------------------------------------------------------------------

    def revoke_by_holder(
        self,
        holder: CitizenPrincipal,
        code: str,
        reason: str,
        request_id: str | None = None,
    ) -> CertificateRecord:
        record = self.own(holder, code, "certificate.revoke", request_id)
        return self._revoke(record, reason, Actor("citizen", holder.subjects[0]), request_id)

    def revoke_by_operator(
        self, code: str, reason: str, operator: str = "cli", request_id: str | None = None
    ) -> CertificateRecord:
        canonical = normalise_code(code)
        record = self.store.get(canonical) if canonical else None
        if record is None:
            raise NotFound(f"There is no certificate with code {code[:64]!r}.")
        return self._revoke(record, reason, Actor("operator", operator), request_id)

    def operator_view(self, code: str) -> dict[str, Any]:
        """An operator's look at a record; not logged, since it discloses no evidence."""
        canonical = normalise_code(code)
        record = self.store.get(canonical) if canonical else None
        if record is None:
            raise NotFound(f"There is no certificate with code {code[:64]!r}.")
        return {**record.summary(), "holder": record.holder_masked, "kid": record.kid}

    def _revoke(
        self, record: CertificateRecord, reason: str, actor: Actor, request_id: str | None
    ) -> CertificateRecord:
        reason = " ".join(reason.split())
        if not reason or len(reason) > MAX_REASON_LENGTH:
            raise BadRequest(f"A revocation needs a reason of 1 to {MAX_REASON_LENGTH} characters.")
        if record.status is CertificateStatus.REVOKED:
            raise Conflict("This certificate is already revoked.")
        now = self._clock()
        # The free-text reason may hold personal data, so the immutable log
        # says only who revoked; the reason lives in the (mutable) record.
        entry = AccessEntry(
            time=now,
            actor=actor,
            action="certificate.revoke",
            outcome="granted",
            subject=record.subject,
            evidence_type=record.evidence_type,
            legal_basis=HOLDER_REQUEST if actor.kind == "citizen" else None,
            reason=f"revoked-by-{actor.kind}",
            request_id=request_id or uuid.uuid4().hex,
            response_digest=f"sha256:{record.pdf_sha256}",
        )
        return self.store.revoke(record.code, at=now, reason=reason, by=actor.kind, entries=[entry])

    # -- verification ----------------------------------------------------------------------

    def verify_code(
        self, code: str, verifier: str | None = None, request_id: str | None = None
    ) -> CodeCheck:
        """Status and minimal metadata of a code; ``unknown`` if the hub never issued it.

        Each check of a known code is logged under the holder's reference.
        """
        canonical = normalise_code(code)
        record = self.store.get(canonical) if canonical else None
        if record is None:
            return CodeCheck(status=str(Status.UNKNOWN), code=canonical or code[:64])
        self._log_check(record, verifier, request_id)
        return CodeCheck(
            status=str(record.status),
            code=record.code,
            evidence_type=record.evidence_type,
            issued_at=record.issued_at,
            holder=record.holder_masked,
            revoked_at=record.revoked_at,
            revocation_reason=record.revocation_reason,
        )

    def _log_check(
        self, record: CertificateRecord, verifier: str | None, request_id: str | None
    ) -> None:
        self.access_log.record(
            AccessEntry(
                time=self._clock(),
                actor=Actor("verifier", (verifier or "anonymous")[:128]),
                action="certificate.verify",
                outcome="granted",
                subject=record.subject,
                evidence_type=record.evidence_type,
                request_id=request_id or uuid.uuid4().hex,
                response_digest=f"sha256:{record.pdf_sha256}",
            )
        )

    def pdf_verifier(self) -> PdfVerifier:
        """The verifier for the current trust (rebuilt only when the CRLs change)."""
        trust = self._trust()
        with self._lock:
            if self._verifier is None or self._verifier[0] is not trust:
                self._verifier = (trust, PdfVerifier(trust))
            return self._verifier[1]

    def verify_document(
        self,
        data: bytes,
        media_type: str | None = None,
        *,
        verifier: str | None = None,
        request_id: str | None = None,
    ) -> VerificationReport:
        """Verify an uploaded PDF or compact JWS; never raises on bad input.

        The document is only read: it is neither stored nor logged. When it
        names a certificate the hub issued, the check is logged under the
        holder's reference, as a check by code is.
        """
        digest = f"sha256:{_sha256(data)}"
        kind = _kind(data, media_type)
        if kind == "pdf":
            report = self._verify_pdf(data, digest)
        elif kind == "jws":
            report = self._verify_jws(data)
        else:
            return _unreadable("the document is neither a PDF nor a compact JWS", digest)
        if report.code is None:
            return report
        record = self.store.get(report.code)
        if record is not None:
            self._log_check(record, verifier, request_id)
        return _with_record(report, record, data if kind == "pdf" else None)

    def _verify_pdf(self, data: bytes, digest: str) -> VerificationReport:
        pdf = self.pdf_verifier().verify(data)
        code = pdf.code if pdf.code and is_verification_code(pdf.code) else None
        return VerificationReport(
            **_verdict(pdf),
            format="pdf",
            content_digest=digest,
            code=code,
            level=str(pdf.level) if pdf.level else None,
            modifications=pdf.modifications,
            reasons=pdf.reasons,
        )

    def _verify_jws(self, data: bytes) -> VerificationReport:
        if len(data) > MAX_TOKEN_LENGTH:
            return _unreadable("the token is too long to be a seal", None)
        jws = verify_jws(data, self._trust())
        # A payload names a certificate only when the hub's own key signed
        # it: anyone can sign a token that names any code.
        payload = (jws.payload or {}) if jws.status not in _NOT_OURS else {}
        raw_code = payload.get("code")
        code = raw_code if isinstance(raw_code, str) and is_verification_code(raw_code) else None
        kind = payload.get("type", payload.get("evidence_type"))
        parts = data.strip().split(b".")
        # The digest of what the seal covers: the payload's bytes as signed.
        digest = f"sha256:{_sha256(parts[1])}" if len(parts) == 3 else None
        return VerificationReport(
            **_verdict(jws),
            format="jws",
            content_digest=digest,
            code=code,
            evidence_type=kind if isinstance(kind, str) else None,
            reasons=jws.reasons,
            token_claims=payload if code is not None else None,
        )


def _verdict(report: Report) -> dict[str, Any]:
    """What a PDF's or a JWS's report says of its seal, as the verification report takes it."""
    return {
        "status": report.status,
        "indication": report.indication,
        "sub_indication": report.sub_indication,
        "kid": report.kid,
        "signer": report.signer,
        "signing_time": report.signing_time,
    }


#: JWS verdicts under which the payload is not the hub's word.
_NOT_OURS = frozenset({Status.INVALID, Status.UNKNOWN})


def _kind(data: bytes, media_type: str | None) -> str | None:
    """``pdf`` or ``jws``: by media type when given, by content otherwise."""
    media = (media_type or "").split(";", 1)[0].strip().lower()
    if media == "application/pdf":
        return "pdf"
    if media in ("application/jose", "application/jws", "text/plain"):
        return "jws"
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if data.strip().count(b".") == 2:
        return "jws"
    return None


def _unreadable(reason: str, digest: str | None) -> VerificationReport:
    return VerificationReport(
        status=Status.INVALID,
        indication=Indication.TOTAL_FAILED,
        sub_indication=SubIndication.FORMAT_FAILURE,
        format="unknown",
        content_digest=digest,
        reasons=(reason,),
    )


def _claims_match(claims: Mapping[str, Any], record: CertificateRecord) -> bool:
    """Whether a QR token says what the hub recorded: type, issue time, masked holder.

    A sealed answer (``evidence_type``, no ``iat`` of the certificate) is
    matched on its type alone.
    """
    kind = claims.get("type", claims.get("evidence_type"))
    if kind != record.evidence_type:
        return False
    if "holder" in claims and claims["holder"] != record.holder_masked:
        return False
    if "iat" in claims and "type" in claims:
        return bool(claims["iat"] == int(record.issued_at.timestamp()))
    return True


def _with_record(
    report: VerificationReport, record: CertificateRecord | None, pdf: bytes | None
) -> VerificationReport:
    """Add what the hub's records say about the document's code to ``report``."""
    reasons = list(report.reasons)
    if record is None:
        reasons.append(f"the hub has no record of a certificate with code {report.code}")
        return replace(report, registered=False, reasons=tuple(reasons))
    matches: bool | None = None
    if pdf is not None:
        matches = _sha256(pdf) == record.pdf_sha256
    elif report.token_claims is not None:
        matches = _claims_match(report.token_claims, record)
    if matches is False:
        reasons.append("the document is not byte for byte the one the hub issued under this code")
    status = report.status
    if record.status is CertificateStatus.REVOKED:
        when = iso_utc(record.revoked_at) if record.revoked_at else "an unknown time"
        reasons.append(f"the certificate was revoked on {when}: {record.revocation_reason}")
        # A broken seal stays "invalid"; only a sound one becomes "revoked".
        if status is Status.VALID:
            status = Status.REVOKED
    return replace(
        report,
        status=status,
        evidence_type=record.evidence_type,
        issued_at=record.issued_at,
        registered=True,
        matches_issued=matches,
        revoked_at=record.revoked_at,
        revocation_reason=record.revocation_reason,
        reasons=tuple(reasons),
    )
