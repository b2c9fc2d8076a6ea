"""What a verifier trusts: the published roots, CA certificates and CRLs.

A verifier needs nothing private: the root certificate, the issuing CA, the
CRLs and (for tokens that carry only a ``kid``) the published seal
certificates. ``Trust`` is that bundle. The hub builds it from its key store;
an offline verifier builds it from the published PEM chain and CRLs with
``Trust.from_pem``. The path check here is deliberately small and strict — the
hierarchy has a fixed shape — and is what the JWS verifier uses; the PAdES
verifier hands the same material to pyhanko's certificate validator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from hub.domain.sealing.pki import certificate_kid
from hub.domain.sealing.report import SubIndication

__all__ = ["NOT_THE_HUBS_SEAL", "ChainResult", "Trust"]

#: Why a seal that chains to a trusted root is still refused.
NOT_THE_HUBS_SEAL = (
    "the seal is not the hub's: its certificate is none of the hub's seal certificates"
)

# Root → issuing CA → seal certificate is three; a little slack, never a loop.
_MAX_DEPTH = 5

# Signature checks remembered per Trust; documents may offer any certificates.
_MAX_REMEMBERED = 1024


@dataclass(frozen=True, slots=True)
class ChainResult:
    """The outcome of checking one certificate against a ``Trust``."""

    path: tuple[x509.Certificate, ...]
    sub_indication: SubIndication | None = None
    reasons: tuple[str, ...] = ()
    revoked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.sub_indication is None


@dataclass(frozen=True, eq=False)
class Trust:
    """Trust anchors and the public material needed to validate a seal."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    #: The hub's seal certificates (current, retired and revoked). When the
    #: bundle names any, a seal is the hub's only if made with one of them:
    #: an outside CA that certifies the hub's seal certifies others too.
    seal_certificates: tuple[x509.Certificate, ...] = ()
    #: Roots trusted for signature timestamps only (an outside TSA's CA),
    #: never for the signer of a seal.
    timestamp_roots: tuple[x509.Certificate, ...] = ()
    _by_kid: dict[str, x509.Certificate] = field(init=False, repr=False, compare=False)
    # Memos of pure functions of this bundle's immutable material: which CRL
    # covers an issuer, and whether one certificate's signature verifies under
    # another's key. Keyed by the certificates' SHA-256 fingerprints, so by
    # content, and small whatever a document offers. A Trust with fresh CRLs
    # is a new object with empty memos.
    _crl_by_issuer: dict[bytes, x509.CertificateRevocationList | None] = field(
        init=False, repr=False, compare=False
    )
    _issued: dict[tuple[bytes, bytes], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        known = {certificate_kid(cert): cert for cert in self.seal_certificates}
        object.__setattr__(self, "_by_kid", known)
        object.__setattr__(self, "_crl_by_issuer", {})
        object.__setattr__(self, "_issued", {})

    @classmethod
    def from_pem(
        cls,
        chain_pem: bytes | str,
        *,
        crls: Iterable[bytes] = (),
        seal_certificates_pem: bytes | str | None = None,
    ) -> Trust:
        """Build trust from the published chain (self-signed certificates are roots).

        ``crls`` may be DER or PEM. Raises ``ValueError`` on malformed input:
        this is the operator's or the offline verifier's configuration.
        """
        certs = x509.load_pem_x509_certificates(_as_bytes(chain_pem))
        roots = tuple(c for c in certs if _self_signed(c))
        inter = tuple(c for c in certs if not _self_signed(c))
        if not roots:
            raise ValueError("the chain holds no self-signed root certificate")
        seals: tuple[x509.Certificate, ...] = ()
        if seal_certificates_pem is not None:
            seals = tuple(x509.load_pem_x509_certificates(_as_bytes(seal_certificates_pem)))
        return cls(roots, inter, tuple(_load_crl(raw) for raw in crls), seals)

    def certificate_for(self, kid: str) -> x509.Certificate | None:
        """The published seal certificate with this key id, if any."""
        return self._by_kid.get(kid)

    def is_hub_seal(self, cert: x509.Certificate) -> bool:
        """Whether ``cert`` is one of the hub's seal certificates.

        A bundle that names no seal certificates (an offline verifier's, built
        from the published chain alone) leaves the answer to the chain: every
        certificate under the hub's own root is then the hub's.
        """
        if not self._by_kid:
            return True
        known = self._by_kid.get(certificate_kid(cert))
        return known is not None and known.public_bytes(Encoding.DER) == cert.public_bytes(
            Encoding.DER
        )

    def check(
        self,
        leaf: x509.Certificate,
        *,
        at: datetime,
        extra: Sequence[x509.Certificate] = (),
        now: datetime | None = None,
    ) -> ChainResult:
        """Check that ``leaf`` chains to a root, is unrevoked and was valid ``at``.

        ``extra`` are untrusted certificates offered by the document (``x5c``);
        they may help build the path but never anchor it. ``now`` is when CRL
        freshness is judged.
        """
        path = self._build_path(leaf, extra)
        if path is None:
            return ChainResult(
                (leaf,),
                SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
                ("the signing certificate does not chain to a trusted root",),
            )
        problem = _constraints(path)
        if problem is not None:
            return ChainResult(path, problem[0], (problem[1],))
        revocation = self._revocation(path, at, now or datetime.now(UTC))
        if revocation is not None:
            return revocation
        for position, cert in enumerate(path):
            role = "signing certificate" if position == 0 else "CA certificate"
            if at > cert.not_valid_after_utc:
                return ChainResult(
                    path,
                    SubIndication.OUT_OF_BOUNDS_NO_POE,
                    (f"the {role} expired on {cert.not_valid_after_utc.isoformat()}",),
                )
            if at < cert.not_valid_before_utc:
                return ChainResult(
                    path,
                    SubIndication.NOT_YET_VALID,
                    (f"the {role} was not yet valid at the signing time",),
                )
        return ChainResult(path)

    # -- internals -----------------------------------------------------------

    def _build_path(
        self, leaf: x509.Certificate, extra: Sequence[x509.Certificate]
    ) -> tuple[x509.Certificate, ...] | None:
        pool = [*self.intermediates, *extra]
        path = [leaf]
        current = leaf
        for _ in range(_MAX_DEPTH):
            for root in self.roots:
                if root.subject == current.issuer and self._issued_by(current, root):
                    if current.public_bytes(Encoding.DER) != root.public_bytes(Encoding.DER):
                        path.append(root)
                    return tuple(path)
            parent = next(
                (
                    c
                    for c in pool
                    if c.subject == current.issuer and c not in path and self._issued_by(current, c)
                ),
                None,
            )
            if parent is None:
                return None
            path.append(parent)
            current = parent
        return None

    def _revocation(
        self, path: tuple[x509.Certificate, ...], at: datetime, now: datetime
    ) -> ChainResult | None:
        # Every certificate below the root must be covered by a fresh CRL
        # from its issuer; the root itself is trusted by configuration.
        for position, cert in enumerate(path[:-1]):
            issuer = path[position + 1]
            crl = self._crl_of(issuer)
            if crl is None:
                return ChainResult(
                    path, SubIndication.TRY_LATER, ("no revocation information is available",)
                )
            next_update = crl.next_update_utc
            if next_update is not None and next_update < now:
                return ChainResult(
                    path, SubIndication.TRY_LATER, ("the published CRL is out of date",)
                )
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is None:
                continue
            when = entry.revocation_date_utc
            if position > 0:
                sub = SubIndication.REVOKED_CA_NO_POE
            elif when <= at:
                sub = SubIndication.REVOKED
            else:
                # The signing time is only claimed by the signer, so a later
                # revocation cannot be ruled out as covering this signature.
                sub = SubIndication.REVOKED_NO_POE
            who = "signing certificate" if position == 0 else "CA certificate"
            return ChainResult(path, sub, (f"the {who} was revoked on {when.isoformat()}",), when)
        return None

    def _issued_by(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool:
        key = (_fingerprint(cert), _fingerprint(issuer))
        known = self._issued.get(key)
        if known is None:
            known = _issued_by(cert, issuer)
            if len(self._issued) >= _MAX_REMEMBERED:
                self._issued.clear()
            self._issued[key] = known
        return known

    def _crl_of(self, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
        key = _fingerprint(issuer)
        try:
            return self._crl_by_issuer[key]
        except KeyError:
            pass
        crl = self._find_crl(issuer)
        if len(self._crl_by_issuer) >= _MAX_REMEMBERED:
            self._crl_by_issuer.clear()
        self._crl_by_issuer[key] = crl
        return crl

    def _find_crl(self, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
        best: x509.CertificateRevocationList | None = None
        for crl in self.crls:
            if crl.issuer != issuer.subject:
                continue
            try:
                valid = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            except (TypeError, ValueError):
                valid = False
            if valid and (best is None or crl.last_update_utc > best.last_update_utc):
                best = crl
        return best


def _constraints(
    path: tuple[x509.Certificate, ...],
) -> tuple[SubIndication, str] | None:
    leaf = path[0]
    usage = _key_usage(leaf)
    if usage is None or not (usage.digital_signature or usage.content_commitment):
        return SubIndication.SIG_CONSTRAINTS_FAILURE, "the certificate is not for signing"
    if _is_ca(leaf):
        return SubIndication.SIG_CONSTRAINTS_FAILURE, "a CA certificate cannot seal documents"
    for ca in path[1:]:
        ca_usage = _key_usage(ca)
        if not _is_ca(ca) or (ca_usage is not None and not ca_usage.key_cert_sign):
            return (
                SubIndication.CHAIN_CONSTRAINTS_FAILURE,
                "an issuer in the chain is not a certificate authority",
            )
    return None


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer and _issued_by(cert, cert)


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("ascii") if isinstance(data, str) else data


def _load_crl(raw: bytes) -> x509.CertificateRevocationList:
    if raw.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(raw)
    return x509.load_der_x509_crl(raw)
