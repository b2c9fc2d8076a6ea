"""A certificate authority and an RFC 3161 timestamp authority the hub does not own.

Production hubs seal with a certificate issued by a trust service provider
and timestamp with that provider's TSA. These tests stand in for both with
code that shares nothing with the hub's development PKI: a root and an
issuing CA made here with ``cryptography`` (RSA, unlike the hub's P-256), a
seal certificate for a P-256 key, PKCS#12 export, CRLs, and a TSA that
answers ``application/timestamp-query`` over real HTTP on 127.0.0.1, built
with asn1crypto. The TSA can require basic or bearer authentication, and can
be stopped, to test what the hub does when it is down.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["OutsideCA", "TestTSA", "running_tsa"]


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "GR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Trust Services S.A."),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _ca_usage() -> x509.KeyUsage:
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


@dataclass
class OutsideCA:
    """Root → issuing CA, RSA; issues seal and TSA certificates and CRLs."""

    root_key: rsa.RSAPrivateKey
    root: x509.Certificate
    issuing_key: rsa.RSAPrivateKey
    issuing: x509.Certificate
    revoked: list[x509.RevokedCertificate] = field(default_factory=list)

    @classmethod
    def create(cls, label: str = "Test Trust Services") -> OutsideCA:
        now = datetime.now(UTC) - timedelta(days=1)
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{label} Root CA"))
            .issuer_name(_name(f"{label} Root CA"))
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
            )
            .sign(root_key, hashes.SHA256())
        )
        issuing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        issuing = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{label} Issuing CA"))
            .issuer_name(root.subject)
            .public_key(issuing_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=1825))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(issuing_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                critical=False,
            )
            .sign(root_key, hashes.SHA256())
        )
        return cls(root_key, root, issuing_key, issuing)

    def issue_seal(
        self, key: ec.EllipticCurvePrivateKey, common: str = "Once-only Hub e-Seal"
    ) -> x509.Certificate:
        return self._leaf(
            key.public_key(),
            common,
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            None,
        )

    def issue_tsa(self, key: rsa.RSAPrivateKey) -> x509.Certificate:
        return self._leaf(
            key.public_key(),
            "Test Time-Stamping Unit",
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
        )

    def _leaf(
        self,
        public: object,
        common: str,
        usage: x509.KeyUsage,
        extended: x509.ExtendedKeyUsage | None,
    ) -> x509.Certificate:
        now = datetime.now(UTC) - timedelta(hours=1)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(self.issuing.subject)
            .public_key(public)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuing_key.public_key()),
                critical=False,
            )
        )
        if extended is not None:
            builder = builder.add_extension(extended, critical=True)
        return builder.sign(self.issuing_key, hashes.SHA256())

    def pkcs12(
        self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, password: bytes
    ) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"hub seal",
            key,
            cert,
            [self.issuing, self.root],
            serialization.BestAvailableEncryption(password),
        )

    def revoke(self, cert: x509.Certificate, when: datetime | None = None) -> None:
        self.revoked.append(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(when or datetime.now(UTC))
            .build()
        )

    def crls(self) -> tuple[x509.CertificateRevocationList, x509.CertificateRevocationList]:
        """The root's CRL (of the issuing CA) and the issuing CA's (of leaves)."""
        now = datetime.now(UTC) - timedelta(minutes=5)
        root_crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.root.subject)
            .last_update(now)
            .next_update(now + timedelta(days=7))
            .add_extension(x509.CRLNumber(1), critical=False)
            .sign(self.root_key, hashes.SHA256())
        )
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.issuing.subject)
            .last_update(now + timedelta(seconds=len(self.revoked)))
            .next_update(now + timedelta(days=7))
            .add_extension(x509.CRLNumber(1 + len(self.revoked)), critical=False)
        )
        for entry in self.revoked:
            builder = builder.add_revoked_certificate(entry)
        return root_crl, builder.sign(self.issuing_key, hashes.SHA256())

    def chain_pem(self) -> bytes:
        return b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in (self.issuing, self.root)
        )


class TestTSA:
    """An RFC 3161 responder with an RSA key certified by an ``OutsideCA``."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, ca: OutsideCA) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert = ca.issue_tsa(self.key)
        self.ca = ca
        self._asn1 = asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))
        self.requests = 0

    def respond(self, body: bytes) -> bytes:
        self.requests += 1
        req = tsp.TimeStampReq.load(body)
        imprint = req["message_imprint"]
        now = datetime.now(UTC).replace(microsecond=0)
        info: dict[str, object] = {
            "version": "v1",
            "policy": "1.3.6.1.4.1.99999.7.1",
            "message_imprint": imprint,
            "serial_number": secrets.randbits(64),
            "gen_time": now,
            "accuracy": {"seconds": 1},
            "tsa": asn1_x509.GeneralName(name="directory_name", value=self._asn1.subject),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        content = tsp.TSTInfo(info).dump()
        cert_hash = hashlib.sha256(self._asn1.dump()).digest()
        attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {"type": "signing_time", "values": [cms.Time({"utc_time": core.UTCTime(now)})]}
                ),
                cms.CMSAttribute(
                    {
                        "type": "signing_certificate_v2",
                        "values": [
                            tsp.SigningCertificateV2(
                                {
                                    "certs": [
                                        {
                                            "hash_algorithm": {"algorithm": "sha256"},
                                            "cert_hash": cert_hash,
                                        }
                                    ]
                                }
                            )
                        ],
                    }
                ),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
                ),
            ]
        )
        signature = self.key.sign(attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": core.ParsableOctetString(content),
                },
                "certificates": [self._asn1] if req["cert_req"].native else [],
                "signer_infos": [
                    {
                        "version": "v1",
                        "sid": cms.SignerIdentifier(
                            {
                                "issuer_and_serial_number": {
                                    "issuer": self._asn1.issuer,
                                    "serial_number": self._asn1.serial_number,
                                }
                            }
                        ),
                        "digest_algorithm": {"algorithm": "sha256"},
                        "signature_algorithm": {"algorithm": "sha256_rsa"},
                        "signed_attrs": attrs,
                        "signature": signature,
                    }
                ],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": token}
        ).dump()


@contextmanager
def running_tsa(
    tsa: TestTSA, *, basic: tuple[str, str] | None = None, bearer: str | None = None
) -> Iterator[str]:
    """Serve ``tsa`` on 127.0.0.1 (a free port) until the block ends; yields its URL."""
    wanted: str | None = None
    if basic is not None:
        wanted = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    elif bearer is not None:
        wanted = f"Bearer {bearer}"

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if wanted is not None and self.headers.get("Authorization") != wanted:
                self.send_response(401)
                self.send_header("WWW-Authenticate", "Basic")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_response(415)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = tsa.respond(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
