"""PAdES seals on certificate PDFs, and their verification, through pyhanko.

Sealing follows the PAdES baseline profiles of ETSI EN 319 142-1: B-B with the
seal key, B-T with a signature timestamp, B-LT (the default with a
timestamper) when the chain and CRLs are also embedded in the document
security store so the seal can be checked without the network after the key
is gone, B-LTA with a document timestamp over all that. The seal key is used
through the ``KeyStore`` port, so an HSM can take its place; pyhanko only
sees a ``Signer`` that delegates.

A development TSA (``KeyStoreTimeStamper``) signs RFC 3161 tokens in-process
with the key store's TSA key, so B-T and B-LT work on a machine with no
network. A real TSA plugs in as any pyhanko ``TimeStamper`` — for instance
``pyhanko.sign.timestamps.HTTPTimeStamper(url)`` built by an adapter, since
the domain does not import an HTTP client.

Verification turns whatever pyhanko concludes — or raises, on truncated or
hostile input — into a ``PdfReport`` in ETSI EN 319 102-1 vocabulary. It never
raises. A verdict rests only on what the seal covers: the code is read from
the signed revision, and only from a seal that chains to the hub's root;
after the seal nothing but a DSS or document timestamps may follow, and any
other update (document information, an annotation, a form field, a second
signature…) makes the document invalid, named in ``modifications``.

Both sides are built to be reused: a ``PdfSealer`` keeps one signer per seal
key, whose certificates are parsed and whose signed attributes are encoded
once; a ``PdfVerifier`` parses its trust bundle once and gives each document
fresh validation contexts over it. Without a timestamp the signature's space
in the file is sized exactly, once per key, since every verifier reads it.
``hub._patches`` installs ``_speedups`` at start-up (faster name matching and
hex string reading in the libraries, with the same results).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import hashlib
import io
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asn1crypto import algos, cms, core, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DSSCompareRule,
    FormUpdatingRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    XrefStreamRule,
)
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import extract_ts_certs
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hub.domain.sealing.errors import (
    SealingError,
    TimestampAuthorityDown,
    TimestampUnavailable,
)
from hub.domain.sealing.keystore import KeyPurpose, KeyStore
from hub.domain.sealing.pdf import CODE_KEYWORD
from hub.domain.sealing.pki import certificate_kid
from hub.domain.sealing.report import (
    Indication,
    Status,
    SubIndication,
    report_head,
    status_for,
)
from hub.domain.sealing.trust import NOT_THE_HUBS_SEAL, Trust
from hub.errors import ServiceUnavailable

__all__ = [
    "SEAL_FIELD",
    "GuardedTimeStamper",
    "KeyStoreSigner",
    "KeyStoreTimeStamper",
    "PadesLevel",
    "PdfReport",
    "PdfSealer",
    "PdfVerifier",
    "seal_pdf",
    "verify_pdf",
]


class _OfflineByDesign(logging.Filter):
    """Drops pyHanko's warning that B-LT material is embedded without fetching.

    The hub embeds its own CRLs, which it holds, and never fetches when
    sealing; the warning would be logged for every certificate issued.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Validation/revocation info will be embedded")


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineByDesign())

_LOG = logging.getLogger(__name__)

#: The name of the signature field the hub's seal occupies.
SEAL_FIELD = "OnceHubSeal"

#: PDFs larger than this are refused before parsing.
MAX_PDF_BYTES = 20 * 1024 * 1024


class PadesLevel(enum.StrEnum):
    """The PAdES baseline levels (ETSI EN 319 142-1 §6) the hub seals and reports."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def timestamped(self) -> bool:
        return self is not PadesLevel.B_B

    @property
    def long_term(self) -> bool:
        return self in (PadesLevel.B_LT, PadesLevel.B_LTA)


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _asn1_crl(crl: x509.CertificateRevocationList) -> asn1_crl.CertificateList:
    return asn1_crl.CertificateList.load(crl.public_bytes(Encoding.DER))


# -- signing -------------------------------------------------------------------


class KeyStoreSigner(signers.Signer):
    """A pyhanko ``Signer`` whose private-key operation is ``KeyStore.sign``.

    Build one per seal key and reuse it: the certificates are parsed, and the
    PAdES signed attributes prepared, once.
    """

    def __init__(self, keystore: KeyStore, kid: str | None = None) -> None:
        self._keystore = keystore
        self.kid = kid or keystore.current(KeyPurpose.SEAL).kid
        chain = keystore.certificate_chain(self.kid)
        if not chain:
            raise SealingError(f"key {self.kid!r} has no certificate to seal with")
        signing_cert = _asn1_cert(chain[0])
        super().__init__(
            signing_cert=signing_cert,
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [_asn1_cert(c) for c in chain[1:]]
            ),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            embed_roots=False,
        )
        self.signed_attr_prov_spec = _PadesSignedAttributes(signing_cert)
        #: Hex digits a B-B seal's container takes, once a seal has shown it.
        self.container_size: int | None = None

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm.lower() != "sha256":
            raise SealingError(f"the seal key signs SHA-256 only, not {digest_algorithm}")
        if dry_run:
            # pyhanko sizes the signature container with a dry run; a DER
            # ECDSA P-256 signature is at most this long, and the key (maybe
            # an HSM) is spared an operation.
            return bytes(_MAX_ECDSA_DER)
        return self._keystore.sign(self.kid, data)


#: The longest DER ``ECDSA-Sig-Value`` for P-256: two 33-byte INTEGERs and headers.
_MAX_ECDSA_DER = 72


class _PadesSignedAttributes(SignedAttributeProviderSpec):
    """The signed attributes of a PAdES baseline seal, the certificate's pre-encoded.

    pyhanko's own PAdES spec (``CAdESSignedAttributeProviderSpec`` with
    ``is_pades``) yields exactly one attribute beyond content type and message
    digest — signing-certificate-v2 — when no CAdES extras (content timestamp,
    signer attributes, commitment type) are configured, and the hub configures
    none. It rebuilds and re-encodes that value for every document; here it is
    encoded once per certificate and handed out as parsed DER, whose encoding
    asn1crypto reuses rather than recomputes.
    """

    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        self._der = as_signing_certificate_v2(signing_cert).dump()

    def signed_attr_providers(
        self, data_digest: bytes, digest_algorithm: str
    ) -> Sequence[CMSAttributeProvider]:
        return (_EncodedSigningCertificate(self._der),)


class _EncodedSigningCertificate(CMSAttributeProvider):
    attribute_type = "signing_certificate_v2"

    def __init__(self, der: bytes) -> None:
        self._der = der

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        # A fresh parse per document: asn1crypto values are mutable.
        return tsp.SigningCertificateV2.load(self._der)


class GuardedTimeStamper(TimeStamper):
    """A timestamp authority behind a guard: it never fails silently.

    Whatever the TSA does wrong (refuses the connection, times out, answers
    garbage or a rejection) becomes :class:`TimestampAuthorityDown`, or, when
    the operator configured one, a request to the ``fallback`` authority.
    ``last_source`` says which answered, for the operator's metrics and logs.
    """

    def __init__(
        self, primary: TimeStamper, *, name: str, fallback: TimeStamper | None = None
    ) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._primary = primary
        self._fallback = fallback
        self.name = name

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        token = await self._ask(message_digest, md_algorithm)
        # Remember the certificates of whichever authority answered: pyhanko
        # embeds their validation data (B-LT) from this registry.
        for cert in extract_ts_certs(token, self.cert_registry):
            self._certs[cert.issuer_serial] = cert
        return token

    async def _ask(self, message_digest: bytes, md_algorithm: str) -> Any:
        try:
            return await self._primary.async_timestamp(message_digest, md_algorithm)
        except Exception as exc:  # any failure of the outside authority
            if self._fallback is None:
                raise TimestampAuthorityDown(
                    f"The timestamp authority {self.name} failed ({type(exc).__name__}); "
                    "no certificate was sealed without its timestamp."
                ) from exc
            _LOG.warning(
                "timestamp authority %s failed (%s); the fallback authority signs",
                self.name,
                type(exc).__name__,
            )
            return await self._fallback.async_timestamp(message_digest, md_algorithm)

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return await self._primary.async_request_tsa_response(req)


class KeyStoreTimeStamper(TimeStamper):
    """An in-process RFC 3161 TSA signing with the key store's TSA key (ES256).

    For development and tests: it vouches for the hub's own clock. pyhanko's
    ``DummyTimeStamper`` is RSA-only, hence this one.
    """

    def __init__(self, keystore: KeyStore) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._keystore = keystore
        self._kid = keystore.current(KeyPurpose.TSA).kid
        chain = keystore.certificate_chain(self._kid)
        if not chain:
            raise SealingError("the TSA key has no certificate")
        self._cert = _asn1_cert(chain[0])

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return self._respond(req)

    def _respond(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        imprint: tsp.MessageImprint = req["message_imprint"]
        md_algorithm = imprint["hash_algorithm"]["algorithm"].native
        if md_algorithm != "sha256":
            return tsp.TimeStampResp({"status": {"status": "rejection"}})
        now = datetime.now(UTC)
        info: dict[str, Any] = {
            "version": "v1",
            # A private-arc policy OID naming the development TSA's policy.
            "policy": "1.3.6.1.4.1.99999.1.1",
            "message_imprint": imprint,
            "serial_number": secrets.randbits(63),
            "gen_time": now,
            "tsa": asn1_x509.GeneralName(name="directory_name", value=self._cert.subject),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        tst_info = tsp.TSTInfo(info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                _attribute("content_type", "tst_info"),
                _attribute("signing_time", cms.Time({"utc_time": core.UTCTime(now)})),
                # SHA-512, not the DEFAULT SHA-256: asn1crypto marks a defaulted
                # field changed once read, and every enclosing structure then
                # re-encodes exponentially in its depth (a 10-70 s seal). The
                # guarded patch asn1crypto-clean-default mends that for any TSA;
                # this keeps the development TSA fast where it does not apply.
                _attribute(
                    "signing_certificate_v2", as_signing_certificate_v2(self._cert, "sha512")
                ),
                _attribute("message_digest", hashlib.sha256(tst_info).digest()),
            ]
        )
        signature = self._keystore.sign(self._kid, signed_attrs.dump())
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {
                                "issuer": self._cert.issuer,
                                "serial_number": self._cert.serial_number,
                            }
                        )
                    }
                ),
                "digest_algorithm": digest_algorithm,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": cms.DigestAlgorithms((digest_algorithm,)),
                "encap_content_info": cms.EncapsulatedContentInfo(
                    {
                        "content_type": "tst_info",
                        "content": cms.ParsableOctetString(tst_info),
                    }
                ),
                "certificates": [self._cert],
                "signer_infos": [signer_info],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})


def _attribute(name: str, value: Any) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": name, "values": (value,)})


class PdfSealer:
    """Seals PDFs with the current seal key; build once, reuse per document."""

    def __init__(
        self,
        keystore: KeyStore,
        *,
        level: PadesLevel | None = None,
        timestamper: TimeStamper | None = None,
        downgrade: bool = False,
    ) -> None:
        """``downgrade``: when the TSA is down, seal B-B rather than refuse (the
        operator's explicit choice, HUB_TSA_FALLBACK=B-B; the verifier's report
        then says B-B)."""
        chosen = level or (PadesLevel.B_LT if timestamper is not None else PadesLevel.B_B)
        if chosen.timestamped and timestamper is None:
            raise TimestampUnavailable(f"PAdES {chosen} needs a timestamp authority")
        self.level = chosen
        self._keystore = keystore
        self._timestamper = timestamper if chosen.timestamped else None
        self._signer: KeyStoreSigner | None = None
        self._lower = PdfSealer(keystore, level=PadesLevel.B_B) if downgrade else None

    def _current_signer(self) -> KeyStoreSigner:
        kid = self._keystore.current(KeyPurpose.SEAL).kid
        if self._signer is None or self._signer.kid != kid:
            self._signer = KeyStoreSigner(self._keystore, kid)
        return self._signer

    def seal(
        self,
        pdf: bytes,
        *,
        reason: str = "Ηλεκτρονική σφραγίδα / Electronic seal",
        location: str | None = None,
    ) -> bytes:
        """Return ``pdf`` with the hub's seal added as an incremental update."""
        try:
            return self._seal(pdf, reason=reason, location=location)
        except TimestampAuthorityDown:
            if self._lower is None:
                raise
            _LOG.warning("the timestamp authority is down: sealing at B-B as configured")
            return self._lower.seal(pdf, reason=reason, location=location)

    def _seal(self, pdf: bytes, *, reason: str, location: str | None) -> bytes:
        meta = signers.PdfSignatureMetadata(
            field_name=SEAL_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            # B-LT: the chain and the CRLs go into the document security
            # store, in an update after the signature; B-LTA then adds a
            # document timestamp over everything.
            embed_validation_info=self.level.long_term,
            use_pades_lta=self.level is PadesLevel.B_LTA,
            # Without a timestamp the container's size is known exactly from
            # pyhanko's dry run (the signature placeholder is the longest
            # possible); a TSA's token can vary, so it keeps pyhanko's margin.
            # The reserved space is hex in the file, read by every verifier.
            tight_size_estimates=self._timestamper is None,
            validation_context=(
                _validation_context(_material(self._keystore.trust()), timestamps=True)
                if self.level.long_term
                else None
            ),
        )
        signer = self._current_signer()
        # A B-B container always has the same size for one signer, so after
        # pyhanko has sized it once (with a dry run that builds a whole CMS
        # object) the size is reused. Should it ever fall short, pyhanko
        # refuses, and the seal is made again with a fresh estimate.
        known = signer.container_size if self._timestamper is None else None
        try:
            try:
                out = self._sign(pdf, meta, signer, known)
            except Exception:
                if known is None:
                    raise
                signer.container_size = known = None
                out = self._sign(pdf, meta, signer, None)
        except (SealingError, ServiceUnavailable):
            # A TSA or an HSM that is down: 503, for a retry, not a broken PDF.
            raise
        except Exception as exc:
            raise SealingError(f"could not seal the PDF: {type(exc).__name__}: {exc}") from exc
        if self._timestamper is None and known is None:
            signer.container_size = _container_size(out, len(pdf))
        return out

    def _sign(
        self,
        pdf: bytes,
        meta: signers.PdfSignatureMetadata,
        signer: KeyStoreSigner,
        reserved: int | None,
    ) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = signers.PdfSigner(meta, signer=signer, timestamper=self._timestamper).sign_pdf(
            writer, bytes_reserved=reserved
        )
        return bytes(out.getvalue())


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _container_size(sealed: bytes, start: int) -> int | None:
    """The length of the hex ``/Contents`` placeholder the seal after ``start`` got."""
    ranges = _BYTE_RANGE.findall(sealed, start)
    if not ranges:
        return None
    _, first_end, second_start, _ = (int(x) for x in ranges[-1])
    if sealed[first_end : first_end + 1] != b"<" or sealed[second_start - 1 : second_start] != b">":
        return None
    return second_start - first_end - 2


def seal_pdf(
    pdf: bytes,
    keystore: KeyStore,
    *,
    level: PadesLevel | None = None,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """One-shot :meth:`PdfSealer.seal`; prefer a long-lived ``PdfSealer``."""
    return PdfSealer(keystore, level=level, timestamper=timestamper).seal(pdf)


# -- verification ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PdfReport:
    """The outcome of verifying a sealed PDF."""

    status: Status
    indication: Indication
    sub_indication: SubIndication | None
    kid: str | None = None
    signer: str | None = None
    signing_time: datetime | None = None
    timestamp_time: datetime | None = None
    level: PadesLevel | None = None
    code: str | None = None
    signatures: int = 0
    #: What revisions after the seal changed (empty when nothing but DSS or
    #: document timestamps followed it).
    modifications: tuple[str, ...] = field(default_factory=tuple)
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def valid(self) -> bool:
        return self.status is Status.VALID

    def to_dict(self) -> dict[str, Any]:
        return {
            **report_head(self),
            "timestamp_time": self.timestamp_time.isoformat() if self.timestamp_time else None,
            "level": str(self.level) if self.level else None,
            "code": self.code,
            "signatures": self.signatures,
            "modifications": list(self.modifications),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class _TrustMaterial:
    """A ``Trust`` in asn1crypto form, as pyhanko's validator takes it."""

    roots: tuple[asn1_x509.Certificate, ...]
    others: tuple[asn1_x509.Certificate, ...]
    crls: tuple[asn1_crl.CertificateList, ...]
    #: ``roots`` and the roots trusted for timestamps only.
    timestamp_roots: tuple[asn1_x509.Certificate, ...]


@functools.lru_cache(maxsize=8)
def _material(trust: Trust) -> _TrustMaterial:
    # Keyed by the Trust object itself (identity): a bundle never changes, and
    # the key store hands out a new one when its CRLs are re-read or re-issued.
    return _TrustMaterial(
        roots=tuple(_asn1_cert(c) for c in trust.roots),
        others=tuple(_asn1_cert(c) for c in (*trust.intermediates, *trust.seal_certificates)),
        crls=tuple(_asn1_crl(c) for c in trust.crls),
        timestamp_roots=tuple(_asn1_cert(c) for c in (*trust.roots, *trust.timestamp_roots)),
    )


def _validation_context(
    material: _TrustMaterial,
    *,
    moment: datetime | None = None,
    retroactive: bool = False,
    timestamps: bool = False,
) -> ValidationContext:
    # An outside TSA's root anchors timestamps only: were it a root for
    # signers too, anything its CA certifies would pass for a seal.
    return ValidationContext(
        trust_roots=list(material.timestamp_roots if timestamps else material.roots),
        other_certs=list(material.others),
        crls=list(material.crls),
        allow_fetching=False,
        # Every certificate below a root must be covered by revocation data:
        # the hub always publishes CRLs, so their absence is a failure.
        revocation_mode="require",
        moment=moment,
        retroactive_revinfo=retroactive,
    )


_EXPIRY = {
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
    AdESIndeterminate.EXPIRED,
}


#: What may follow the seal and leave it "valid": PAdES long-term additions
#: only (a document security store, document timestamps). pyHanko's default
#: policy also accepts any rewrite of the document information dictionary at
#: that level; a verdict must not rest on what anyone can append, so this
#: policy leaves that rule out and such an update counts as a change. The XMP
#: metadata stream stays allowed because writers (pyHanko among them) restamp
#: its dates when they add a DSS or a document timestamp; what it says beyond
#: that bookkeeping is compared by ``_changes_after``.
_LONG_TERM_ONLY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),  # type: ignore[no-untyped-call]
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
        MetadataUpdateRule().as_qualified(ModificationLevel.LTA_UPDATES),  # type: ignore[no-untyped-call]
    ],
    form_rule=FormUpdatingRule(
        field_rules=[
            SigFieldCreationRule(),  # type: ignore[no-untyped-call]
            SigFieldModificationRule(),
        ]
    ),
)

#: The start of the reason given for any change after the seal.
MODIFIED_AFTER_SEALING = "modified after sealing"

#: A change pyHanko refuses that the comparison of revisions cannot name.
_UNNAMED_CHANGE = "the document's content changed"


class PdfVerifier:
    """Verifies sealed PDFs against one ``Trust``; reuse it across documents."""

    def __init__(self, trust: Trust) -> None:
        self.trust = trust
        self._material = _material(trust)
        # Seals found valid at their timestamp though revoked since, and when
        # the revocation came (keyed by the status object, for the report).
        self._revoked_later: dict[int, datetime] = {}

    def _context(
        self, moment: datetime | None = None, *, timestamps: bool = False
    ) -> ValidationContext:
        # A fresh context per document: pyhanko contexts accumulate state
        # (proofs of existence, fetched data) that must not leak between files.
        # What goes into one — the parsed roots, certificates and CRLs — is
        # parsed once per trust bundle.
        return _validation_context(
            self._material, moment=moment, retroactive=moment is not None, timestamps=timestamps
        )

    def verify(self, pdf: bytes) -> PdfReport:
        """Validate every seal in ``pdf``; report the worst. Never raises."""
        try:
            return self._verify(pdf)
        except Exception as exc:  # hostile input must become a report
            return _failed(SubIndication.FORMAT_FAILURE, f"unreadable PDF ({type(exc).__name__})")

    def _verify(self, pdf: bytes) -> PdfReport:
        if not isinstance(pdf, bytes | bytearray) or pdf.lstrip()[:5] != b"%PDF-":
            return _failed(SubIndication.FORMAT_FAILURE, "not a PDF document")
        if len(pdf) > MAX_PDF_BYTES:
            return _failed(SubIndication.FORMAT_FAILURE, "the PDF is too large")
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        sigs: Sequence[EmbeddedPdfSignature] = reader.embedded_regular_signatures
        if not sigs:
            return _failed(SubIndication.FORMAT_FAILURE, "the PDF carries no seal")
        archived, broken = self._document_timestamps(reader)
        reports = [self._one(reader, sig, archived) for sig in sigs]
        if broken is not None:
            reports.append(broken)
        worst = max(reports, key=_severity)
        # The code is the one the hub's own seal covers, whichever report is
        # the worst (a second signature is worse than the seal it follows).
        code = next((r.code for r in reports if r.code), None)
        modifications = next((r.modifications for r in reports if r.modifications), ())
        return _with(worst, signatures=len(sigs), code=code, modifications=modifications)

    def _one(self, reader: PdfFileReader, sig: EmbeddedPdfSignature, archived: bool) -> PdfReport:
        # One event loop per seal, for both passes; starting one costs more
        # than some of the checks it runs.
        status = asyncio.run(self._validate(sig))
        timestamp = status.timestamp_validity
        ts_time = timestamp.timestamp if timestamp is not None else None
        cert = x509.load_der_x509_certificate(status.signing_cert.dump())
        kid = certificate_kid(cert)
        changes = functools.cache(lambda: _changes_after(reader, sig, status))
        sub, reasons = _judge(status, changes)
        hubs = self.trust.is_hub_seal(cert)
        if sub is None and not hubs:
            # It chains to a root the hub trusts (an outside CA that certifies
            # the hub's seal certifies others too), and it is someone else's.
            sub, reasons = SubIndication.CHAIN_CONSTRAINTS_FAILURE, (NOT_THE_HUBS_SEAL,)
        later = self._revoked_later.pop(id(status), None)
        if later is not None and sub is None:
            reasons = (
                f"the seal certificate was revoked on {later.isoformat()}, after this "
                f"document was sealed (timestamp {ts_time.isoformat() if ts_time else '?'}): "
                "the seal stays valid",
            )
        modified = bool(reasons) and reasons[0].startswith(MODIFIED_AFTER_SEALING)
        # What the verdict names (the code, hence type and holder) is read
        # from the revision the seal covers, and only from a seal the hub's
        # own key made: anyone can append a revision, or seal with a key of
        # their own, and name any code they like.
        ours = (
            status.intact
            and status.valid
            and hubs
            and (self.trust.certificate_for(kid) is not None or _chains_to_root(status))
        )
        state, indication = status_for(sub)
        return PdfReport(
            state,
            indication,
            sub,
            kid=kid,
            signer=cert.subject.rfc4514_string(),
            signing_time=ts_time or status.signer_reported_dt,
            timestamp_time=ts_time,
            level=_level(reader, status, archived),
            code=_code(reader, sig) if ours else None,
            modifications=(changes() or (_UNNAMED_CHANGE,)) if modified else (),
            reasons=reasons,
        )

    async def _validate(self, sig: EmbeddedPdfSignature) -> PdfSignatureStatus:
        status = await async_validate_pdf_signature(
            sig,
            signer_validation_context=self._context(),
            ts_validation_context=self._context(timestamps=True),
            diff_policy=_LONG_TERM_ONLY,
        )
        timestamp = status.timestamp_validity
        if (
            status.trust_problem_indic in _EXPIRY
            and timestamp is not None
            and timestamp.trusted
            and timestamp.timestamp is not None
        ):
            # The timestamp proves the seal existed at its time: judge the
            # certificate then (a simplified past-signature validation).
            status = await async_validate_pdf_signature(
                sig,
                signer_validation_context=self._context(timestamp.timestamp),
                ts_validation_context=self._context(timestamps=True),
                diff_policy=_LONG_TERM_ONLY,
            )
        revoked = status.revocation_details
        if (
            revoked is not None
            and timestamp is not None
            and timestamp.trusted
            and timestamp.timestamp is not None
            and timestamp.timestamp < revoked.revocation_date
        ):
            # Sealed (the TSA vouches for when) before the key was revoked:
            # judge the certificate as it stood then. A document sealed after
            # the revocation gets no such second look and stays revoked.
            past = await async_validate_pdf_signature(
                sig,
                signer_validation_context=self._context(timestamp.timestamp),
                ts_validation_context=self._context(timestamps=True),
                diff_policy=_LONG_TERM_ONLY,
            )
            if past.revocation_details is None and past.trusted:
                self._revoked_later[id(past)] = revoked.revocation_date
                return past
        return status

    def _document_timestamps(self, reader: PdfFileReader) -> tuple[bool, PdfReport | None]:
        """Whether a trusted document timestamp archives the seal, and any broken one.

        A document timestamp from a TSA the hub does not know is tolerated (it
        changes nothing the seal covers) but does not make the document B-LTA.
        """
        archived = False
        for stamp in reader.embedded_timestamp_signatures:
            status = asyncio.run(
                async_validate_pdf_timestamp(
                    stamp,
                    validation_context=self._context(timestamps=True),
                    diff_policy=_LONG_TERM_ONLY,
                )
            )
            if not status.intact or not status.valid:
                return archived, _failed(
                    SubIndication.HASH_FAILURE, "a document timestamp does not verify"
                )
            archived = archived or status.trusted
        return archived, None


def _chains_to_root(status: PdfSignatureStatus) -> bool:
    """Whether pyHanko built the signer's path to a trusted root (sound or not now)."""
    return (
        status.trusted
        or status.revocation_details is not None
        or status.trust_problem_indic in _EXPIRY
    )


def _judge(  # noqa: PLR0911  # one return per check, in ETSI order, reads best
    status: PdfSignatureStatus, changes: Callable[[], tuple[str, ...]]
) -> tuple[SubIndication | None, tuple[str, ...]]:
    if not status.intact:
        return SubIndication.HASH_FAILURE, ("the document was altered after sealing",)
    if not status.valid:
        return SubIndication.SIG_CRYPTO_FAILURE, ("the seal's signature does not verify",)
    coverage = status.coverage
    if coverage is None or coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        return SubIndication.FORMAT_FAILURE, ("the seal does not cover the whole document",)
    level = status.modification_level
    # pyHanko's analysis decides; the hub's own comparison of the signed and
    # the latest revision names what changed (and is a second opinion).
    changed = changes() if coverage is not SignatureCoverageLevel.ENTIRE_FILE else ()
    if level is None or level > ModificationLevel.LTA_UPDATES or changed:
        named = changed or (_UNNAMED_CHANGE,)
        return SubIndication.FORMAT_FAILURE, (f"{MODIFIED_AFTER_SEALING}: {', '.join(named)}",)
    if status.revocation_details is not None:
        details = status.revocation_details
        when = details.revocation_date.isoformat()
        indic = status.trust_problem_indic
        sub = SubIndication(indic.standard_name) if indic is not None else SubIndication.REVOKED
        return sub, (f"the seal certificate was revoked on {when}",)
    indic = status.trust_problem_indic
    if indic is not None:
        try:
            sub = SubIndication(indic.standard_name)
        except ValueError:
            sub = SubIndication.GENERIC
        return sub, (_explain(sub),)
    if status.timestamp_validity is not None and not status.timestamp_validity.trusted:
        return SubIndication.GENERIC, ("the signature timestamp is not trusted",)
    return None, ()


def _explain(sub: SubIndication) -> str:
    return {
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND: "the sealer does not chain to a trusted root",
        SubIndication.OUT_OF_BOUNDS_NO_POE: "the seal certificate has expired",
        SubIndication.OUT_OF_BOUNDS_NOT_REVOKED: "the seal certificate has expired",
        SubIndication.EXPIRED: "the seal certificate has expired",
        SubIndication.NOT_YET_VALID: "the seal certificate was not yet valid",
        SubIndication.TRY_LATER: "revocation information is not available",
    }.get(sub, f"the seal could not be validated ({sub})")


def _level(reader: PdfFileReader, status: PdfSignatureStatus, archived: bool) -> PadesLevel:
    if status.timestamp_validity is None:
        return PadesLevel.B_B
    try:
        has_dss = "/DSS" in reader.root
    except Exception:  # a broken catalogue only lowers the claimed level
        has_dss = False
    if not has_dss:
        return PadesLevel.B_T
    return PadesLevel.B_LTA if archived else PadesLevel.B_LT


def _code(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> str | None:
    # /Info as of the signed revision, resolved in that revision: a later
    # update can point the trailer at a new dictionary or override the old one.
    try:
        signed = reader.get_historical_resolver(sig.signed_revision)
        keywords = str(_info(signed).get("/Keywords", ""))
    except Exception:  # the code is informative; its absence is reported as None
        return None
    for word in keywords.split():
        if word.startswith(CODE_KEYWORD):
            return word[len(CODE_KEYWORD) :] or None
    return None


# -- what changed after the seal ---------------------------------------------------


def _changes_after(
    reader: PdfFileReader, sig: EmbeddedPdfSignature, status: PdfSignatureStatus
) -> tuple[str, ...]:
    """Name what the revisions after the seal changed, long-term additions aside.

    It compares the signed revision with the latest one, as a reader of the
    file would see them; pyHanko's revision-by-revision analysis is what
    decides, this only says what to tell a person.
    """
    try:
        last = reader.xrefs.total_revisions - 1
        if sig.signed_revision >= last:
            return ()
        old = reader.get_historical_resolver(sig.signed_revision)
        new = reader.get_historical_resolver(last)
        found: list[str] = []
        if _info(old) != _info(new):
            found.append("document information changed")
        if _metadata(old) != _metadata(new):
            found.append("XMP metadata changed")
        old_pages, new_pages = _pages(old), _pages(new)
        if len(old_pages) != len(new_pages):
            found.append("pages added or removed")
        elif [p for p, _ in old_pages] != [p for p, _ in new_pages]:
            found.append("page content changed")
        old_annots = {a for _, annots in old_pages for a in annots}
        new_annots = {a for _, annots in new_pages for a in annots}
        if new_annots - old_annots:
            found.append("annotation added")
        if old_annots - new_annots:
            found.append("annotation removed")
        found.extend(_field_changes(_fields(old), _fields(new)))
    except Exception:  # a structure too odd to compare is itself a change
        return ("the document's structure changed",)
    return tuple(dict.fromkeys(found))


def _info(resolver: HistoricalResolver) -> dict[str, str]:
    # Resolved by reference in this revision: the trailer's own lookup
    # answers with the latest revision's object.
    if "/Info" not in resolver.trailer_view:
        return {}
    info = resolver(resolver.trailer_view.get_value_as_reference("/Info"))
    if not isinstance(info, generic.DictionaryObject):
        return {}
    return {str(key): str(info.raw_get(key)) for key in info}


#: XMP properties a writer restamps on every update: when, and with what.
_XMP_BOOKKEEPING = re.compile(
    rb"""\s(?:xmp:ModifyDate|xmp:MetadataDate|pdf:Producer|x:xmptk|xmpMM:InstanceID)="[^"]*"|"""
    rb"<(xmp:ModifyDate|xmp:MetadataDate|pdf:Producer|xmpMM:InstanceID)>[^<]*</\1>"
)


def _metadata(resolver: HistoricalResolver) -> bytes | None:
    """The XMP metadata without its bookkeeping (dates, producer), if any."""
    if "/Metadata" not in resolver.root:
        return None
    stream = resolver.root["/Metadata"]
    if not isinstance(stream, generic.StreamObject):
        return None
    return _XMP_BOOKKEEPING.sub(b"", stream.data)


def _pages(resolver: HistoricalResolver) -> list[tuple[str, frozenset[tuple[str, str]]]]:
    """Per page: a digest of its content, and its annotations other than form widgets."""
    pages = []
    for page in _leaves(resolver.root["/Pages"].get_object()):
        contents = page.get("/Contents")
        parts = contents if isinstance(contents, generic.ArrayObject) else [contents]
        digest = hashlib.sha256()
        for part in parts:
            stream = part.get_object() if part is not None else None
            if isinstance(stream, generic.StreamObject):
                digest.update(stream.data)
        annots = set()
        for annot in page.get("/Annots", generic.ArrayObject()):
            annot_dict = annot.get_object()
            subtype = str(annot_dict.get("/Subtype", ""))
            if subtype != "/Widget":
                ident = repr(annot.reference) if hasattr(annot, "reference") else repr(annot_dict)
                annots.add((subtype, ident))
        pages.append((digest.hexdigest(), frozenset(annots)))
    return pages


def _leaves(tree: generic.DictionaryObject) -> list[generic.DictionaryObject]:
    """The pages of a page tree in order (bounded: the tree is untrusted input)."""
    leaves: list[generic.DictionaryObject] = []
    stack: list[generic.PdfObject] = [tree]
    while stack and len(leaves) < _MAX_NODES:
        node = stack.pop().get_object()  # type: ignore[no-untyped-call]
        if not isinstance(node, generic.DictionaryObject):
            continue
        kids = node.get("/Kids")
        if isinstance(kids, generic.ArrayObject):
            stack.extend(reversed(kids))
        else:
            leaves.append(node)
    return leaves


#: Pages or form fields walked at most when naming changes.
_MAX_NODES = 10_000


def _fields(resolver: HistoricalResolver) -> dict[str, tuple[str, str]]:
    """Form fields by full name: their type, and what their value is."""
    form = resolver.root.get("/AcroForm")
    found: dict[str, tuple[str, str]] = {}
    if form is None:
        return found
    stack = [(field, "") for field in form.get_object().get("/Fields", ())]
    while stack and len(found) < _MAX_NODES:
        item, prefix = stack.pop()
        node = item.get_object()
        name = prefix + str(node.get("/T", ""))
        kids = node.get("/Kids")
        if kids is not None:
            stack.extend((kid, name + ".") for kid in kids)
            continue
        kind = str(node.get("/FT", ""))
        value = node.get("/V")
        if kind == "/Sig":
            described = str(value.get_object().get("/Type", "/Sig")) if value is not None else ""
        else:
            described = repr(value)
        found[name] = (kind, described)
    return found


def _field_changes(old: dict[str, tuple[str, str]], new: dict[str, tuple[str, str]]) -> list[str]:
    found = []
    for name, (kind, value) in new.items():
        before = old.get(name)
        if kind == "/Sig":
            if value == "/DocTimeStamp":
                continue  # a document timestamp is a long-term addition
            if value and (before is None or before[1] != value):
                found.append("second signature")
            elif before is None:
                found.append("signature field added")
        elif before is None:
            found.append("form field added")
        elif before != (kind, value):
            found.append("form field filled in")
    if set(old) - set(new):
        found.append("form field removed")
    return found


_ORDER = [
    Status.VALID,
    Status.EXPIRED,
    Status.INDETERMINATE,
    Status.UNKNOWN,
    Status.REVOKED,
    Status.INVALID,
]


def _severity(report: PdfReport) -> int:
    return _ORDER.index(report.status)


def _with(report: PdfReport, **changes: Any) -> PdfReport:
    data = {name: getattr(report, name) for name in PdfReport.__dataclass_fields__}
    data.update(changes)
    return PdfReport(**data)


def _failed(sub: SubIndication, reason: str) -> PdfReport:
    status, indication = status_for(sub)
    return PdfReport(status, indication, sub, reasons=(reason,))


@functools.lru_cache(maxsize=8)
def _verifier_for(trust: Trust) -> PdfVerifier:
    return PdfVerifier(trust)


def verify_pdf(pdf_bytes: bytes, trust: Trust) -> PdfReport:
    """Verify a sealed PDF against ``trust``; never raises."""
    try:
        verifier = _verifier_for(trust)
    except Exception as exc:  # a broken trust bundle is still a report
        return _failed(SubIndication.GENERIC, f"the trust configuration is unusable ({exc})")
    return verifier.verify(pdf_bytes)
