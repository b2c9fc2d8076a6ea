"""PDF certificates and JWS seals against raw P-256 signatures.

Issuing a certificate renders the bilingual PDF (with its QR code, whose
token is itself signed) and adds the PAdES seal; verifying parses the PDF
and validates the seal and its chain. A JWS seal signs canonical JSON with
the certificate chain in its header; verifying checks the signature, the
chain and revocation. The floors are a raw ECDSA P-256 signature and
verification of a small message with ``cryptography``, on one core.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from bench.config import BenchConfig
from bench.report import Figure, Target
from bench.stats import timed_rate
from hub.domain.sealing import keystore
from hub.domain.sealing.jws import seal_json, verify_jws
from hub.domain.sealing.pades import PdfSealer, PdfVerifier
from hub.domain.sealing.pdf import (
    CertificateContent,
    EvidenceField,
    new_verification_code,
    render_certificate,
)
from hub.domain.sealing.report import Status

__all__ = ["measure_sealing"]

PUBLIC_URL = "http://127.0.0.1:8000"
ISSUE_TARGET = Target("≥ 40/s per core", ">=", 40.0)
VERIFY_TARGET = Target("≥ 150/s per core", ">=", 150.0)
PAYLOAD = {
    "request_id": "0" * 32,
    "agency": "opeka",
    "purpose": "social-benefit-eligibility",
    "evidence_type": "family-status",
    "issued_at": "2026-03-01T10:30:00Z",
    "evidence": {"marital_status": "married", "number_of_children": 2},
}


def _content() -> CertificateContent:
    return CertificateContent(
        code=new_verification_code(),
        evidence_type="family-status",
        title_el="Πιστοποιητικό οικογενειακής κατάστασης",
        title_en="Family status certificate",
        holder_name="Μαρία Παπαδοπούλου",
        holder_id="123456789",
        authority_el="Εθνικός Κόμβος Διαλειτουργικότητας",
        authority_en="National Interoperability Hub",
        issued_at=dt.datetime.now(dt.UTC),
        fields=(
            EvidenceField("marital_status", "Οικογενειακή κατάσταση", "Marital status", "married"),
            EvidenceField("number_of_children", "Αριθμός τέκνων", "Number of children", "2"),
        ),
    )


def measure_sealing(config: BenchConfig, keys_dir: Path) -> list[Figure]:
    """Certificate and JWS rates with the run's development keys, one thread."""
    store = keystore.load(keys_dir)
    trust = store.trust()
    sealer = PdfSealer(store)
    verifier = PdfVerifier(trust)
    seconds = config.crypto_seconds

    def issue() -> bytes:
        rendered = render_certificate(_content(), store, PUBLIC_URL)
        return sealer.seal(rendered.pdf)

    sample = issue()
    if verifier.verify(sample).status is not Status.VALID:
        raise RuntimeError("the benchmark's sealed certificate does not verify")
    token = seal_json(PAYLOAD, store)
    if verify_jws(token, trust).status is not Status.VALID:
        raise RuntimeError("the benchmark's JWS seal does not verify")

    raw_key = ec.generate_private_key(ec.SECP256R1())
    raw_public = raw_key.public_key()
    message = b"x" * 256
    algorithm = ec.ECDSA(hashes.SHA256())
    signature = raw_key.sign(message, algorithm)

    sign = timed_rate(lambda: raw_key.sign(message, algorithm), seconds=seconds, batch=50)
    check = timed_rate(
        lambda: raw_public.verify(signature, message, algorithm), seconds=seconds, batch=50
    )
    issued = timed_rate(issue, seconds=max(seconds, 1.0), min_calls=3)
    verified = timed_rate(lambda: verifier.verify(sample), seconds=max(seconds, 1.0), min_calls=3)
    jws_sealed = timed_rate(lambda: seal_json(PAYLOAD, store), seconds=seconds, batch=10)
    jws_verified = timed_rate(lambda: verify_jws(token, trust), seconds=seconds, batch=10)
    section = "sealing (1 core)"
    return [
        Figure(
            section,
            "PDF certificate issue+seal",
            issued.per_second,
            "docs/s",
            "raw P-256 sign",
            sign.per_second,
            target=ISSUE_TARGET,
            note="render (fpdf2, QR with a signed token) + PAdES B-B seal (pyhanko)",
        ),
        Figure(
            section,
            "PDF certificate verify",
            verified.per_second,
            "docs/s",
            "raw P-256 verify",
            check.per_second,
            target=VERIFY_TARGET,
        ),
        Figure(
            section,
            "JWS seal (x5c chain)",
            jws_sealed.per_second,
            "seals/s",
            "raw P-256 sign",
            sign.per_second,
        ),
        Figure(
            section,
            "JWS verify (chain, CRL)",
            jws_verified.per_second,
            "seals/s",
            "raw P-256 verify",
            check.per_second,
        ),
    ]
