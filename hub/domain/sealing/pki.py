"""Certificate and CRL builders for the hub's X.509 hierarchy.

The design fixes the chain: root CA → issuing (sealing) CA → seal certificate,
with a timestamping certificate under the root for the development TSA. This
module only *builds* those objects from keys and names; where they are stored
and which one is current is the key store's business (``keystore.py``). Keeping
the builders pure lets tests make a second, independent PKI, an expired seal
certificate or a revoked one without touching the filesystem.

Every key is ECDSA P-256: pyhanko's signer and the JOSE libraries handle it
fast, and the QR token's signature stays at 64 bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from hub.domain.encoding import b64url

__all__ = [
    "CRL_VALIDITY",
    "DEV_ORGANISATION",
    "Organisation",
    "RevokedSerial",
    "certificate_kid",
    "issue_crl",
    "make_issuing_ca",
    "make_root_ca",
    "make_seal_certificate",
    "make_tsa_certificate",
    "new_ec_key",
    "revoked_entries",
]

#: How long a CRL stays fresh; the key store re-issues it after half of this.
CRL_VALIDITY = timedelta(days=30)

# A small backdate absorbs clock skew between the node that issues a
# certificate and the one that first uses it.
_BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Organisation:
    """The legal person that seals: ETSI EN 319 412-3 names it by these fields."""

    name: str
    identifier: str
    country: str = "GR"
    unit: str = "Once-only Interoperability Hub"

    def name_for(self, common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, self.country),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.name),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, self.unit),
                x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, self.identifier),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )


#: The organisation the development PKI is issued to when the operator names none.
DEV_ORGANISATION = Organisation(
    name="Hellenic Once-only Hub (development)",
    identifier="VATGR-090000045",
)


@dataclass(frozen=True, slots=True)
class RevokedSerial:
    """One entry of a CRL: which certificate, since when, and why."""

    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def certificate_kid(cert: x509.Certificate) -> str:
    """The key id of a certified key: base64url SHA-256 of the DER certificate.

    This is exactly the JOSE ``x5t#S256`` thumbprint (RFC 7515 §4.1.8), so a
    verifier holding only the certificate can recompute it.
    """
    digest = hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()
    return b64url(digest)


def make_root_ca(
    key: ec.EllipticCurvePrivateKey,
    org: Organisation,
    *,
    now: datetime | None = None,
    validity: timedelta = timedelta(days=20 * 365),
    common_name: str | None = None,
) -> x509.Certificate:
    subject = org.name_for(common_name or f"{org.name} Root CA")
    start = _start(now)
    return (
        _base(subject, subject, key.public_key(), start, start + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def make_issuing_ca(
    key: ec.EllipticCurvePrivateKey,
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    org: Organisation,
    *,
    crl_url: str | None = None,
    ca_issuers_url: str | None = None,
    now: datetime | None = None,
    validity: timedelta = timedelta(days=10 * 365),
) -> x509.Certificate:
    return _issue(
        org.name_for(f"{org.name} Sealing CA"),
        key.public_key(),
        root,
        root_key,
        start=_start(now),
        validity=validity,
        constraints=x509.BasicConstraints(ca=True, path_length=0),
        usage=_ca_key_usage(),
        crl_url=crl_url,
        ca_issuers_url=ca_issuers_url,
    )


def make_seal_certificate(
    key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    org: Organisation,
    *,
    crl_url: str | None = None,
    ca_issuers_url: str | None = None,
    now: datetime | None = None,
    validity: timedelta = timedelta(days=3 * 365),
    not_before: datetime | None = None,
) -> x509.Certificate:
    """An e-seal certificate (ETSI EN 319 412-3): the profile a PDF validator expects.

    Key usage digitalSignature + nonRepudiation (contentCommitment), critical;
    no extended key usage at all, so the key is good for no TLS client or
    server role; no CA rights; the CRL distribution point and the issuer's
    certificate (AIA caIssuers) named by URL, so a validator that fetches can
    build the path and check revocation from the certificate alone.
    """
    public = key if isinstance(key, ec.EllipticCurvePublicKey) else key.public_key()
    start = not_before or _start(now)
    stamp = start.strftime("%Y%m%d%H%M%S")
    return _issue(
        org.name_for(f"{org.name} e-Seal {stamp}"),
        # A key in an HSM is certified by its public half alone.
        public,
        issuer,
        issuer_key,
        start=start,
        validity=validity,
        constraints=x509.BasicConstraints(ca=False, path_length=None),
        usage=_signer_key_usage(),
        crl_url=crl_url,
        ca_issuers_url=ca_issuers_url,
    )


def make_tsa_certificate(
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    org: Organisation,
    *,
    crl_url: str | None = None,
    ca_issuers_url: str | None = None,
    now: datetime | None = None,
    validity: timedelta = timedelta(days=5 * 365),
) -> x509.Certificate:
    """A timestamping certificate; RFC 3161 §2.3 wants the EKU alone and critical."""
    return _issue(
        org.name_for(f"{org.name} Timestamping (development)"),
        key.public_key(),
        issuer,
        issuer_key,
        start=_start(now),
        validity=validity,
        constraints=x509.BasicConstraints(ca=False, path_length=None),
        usage=_signer_key_usage(),
        extended_usage=x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
        crl_url=crl_url,
        ca_issuers_url=ca_issuers_url,
    )


def issue_crl(
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    revoked: Iterable[RevokedSerial] = (),
    *,
    number: int = 1,
    now: datetime | None = None,
    validity: timedelta = CRL_VALIDITY,
) -> x509.CertificateRevocationList:
    """A complete CRL (RFC 5280 §5) for everything ``issuer`` has revoked."""
    start = _start(now)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(start)
        .next_update(start + validity)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
            .add_extension(x509.CRLReason(entry.reason), critical=False)
            .build()
        )
    return builder.sign(issuer_key, hashes.SHA256())


def revoked_entries(crl: x509.CertificateRevocationList) -> Sequence[RevokedSerial]:
    """Read a CRL's entries back, so that re-issuing it keeps them."""
    entries = []
    for item in crl:
        reason = x509.ReasonFlags.unspecified
        with contextlib.suppress(x509.ExtensionNotFound):
            reason = item.extensions.get_extension_for_class(x509.CRLReason).value.reason
        entries.append(RevokedSerial(item.serial_number, item.revocation_date_utc, reason))
    return entries


# -- helpers -----------------------------------------------------------------


def _start(now: datetime | None) -> datetime:
    moment = now or datetime.now(UTC)
    return (moment - _BACKDATE).replace(microsecond=0)


def _clip(end: datetime, issuer: x509.Certificate) -> datetime:
    # A certificate must not outlive its issuer, or paths break before it expires.
    return min(end, issuer.not_valid_after_utc)


def _base(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    start: datetime,
    end: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )


def _issue(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    start: datetime,
    validity: timedelta,
    constraints: x509.BasicConstraints,
    usage: x509.KeyUsage,
    extended_usage: x509.ExtendedKeyUsage | None = None,
    crl_url: str | None,
    ca_issuers_url: str | None,
) -> x509.Certificate:
    """A certificate under ``issuer``: the one shape the issuing CA, seal and TSA share.

    Basic constraints and key usage are critical; an extended key usage, where
    given, is critical too (RFC 3161 §2.3). The validity is clipped to the
    issuer's, and the key identifiers and fetch locations are always added.
    """
    builder = (
        _base(subject, issuer.subject, public_key, start, _clip(start + validity, issuer))
        .add_extension(constraints, critical=True)
        .add_extension(usage, critical=True)
    )
    if extended_usage is not None:
        builder = builder.add_extension(extended_usage, critical=True)
    builder = _identifiers(builder, public_key, issuer)
    builder = _locations(builder, crl_url, ca_issuers_url)
    return builder.sign(issuer_key, hashes.SHA256())


def _signer_key_usage() -> x509.KeyUsage:
    # digitalSignature + nonRepudiation (contentCommitment): what a seal and a
    # timestamp need, and nothing that would let the key sign certificates.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _identifiers(
    builder: x509.CertificateBuilder,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Certificate,
) -> x509.CertificateBuilder:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
    ).add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
    )


def _locations(
    builder: x509.CertificateBuilder, crl_url: str | None, ca_issuers_url: str | None
) -> x509.CertificateBuilder:
    """Where a validator fetches revocation data (CRL DP) and the issuer (AIA)."""
    if crl_url is not None:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if ca_issuers_url is not None:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier(ca_issuers_url),
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder
