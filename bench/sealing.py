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
from bench.sealing_floors import (
    FloorTrust,
    library_fonts,
    library_layout,
    library_render,
    library_verify,
    qr_symbol,
)
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
from hub.domain.sealing.trust import Trust

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


def measure_sealing(config: BenchConfig, keys_dir: Path, *, floors: bool = False) -> list[Figure]:
    """Certificate and JWS rates with the run's development keys, one thread.

    With ``floors``, also the libraries beneath the certificates timed alone
    (:mod:`bench.sealing_floors`) on the same page and the same sealed PDF.
    """
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
    figures = (
        _floor_figures(section, config, store=store, sealer=sealer, trust=trust, sample=sample)
        if floors
        else []
    )
    return [
        *figures,
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


def _floor_figures(
    section: str,
    config: BenchConfig,
    *,
    store: keystore.FileKeyStore,
    sealer: PdfSealer,
    trust: Trust,
    sample: bytes,
) -> list[Figure]:
    """The hub's render, seal and verify against fpdf2, zxing-cpp and pyhanko alone."""
    seconds = max(config.crypto_seconds, 1.0)
    content = _content()
    rendered = render_certificate(content, store, PUBLIC_URL)
    verify_url = f"{PUBLIC_URL}/verify/{content.code}"
    lines = {
        "header": "ΕΛΛΗΝΙΚΗ ΔΗΜΟΚΡΑΤΙΑ · HELLENIC REPUBLIC",
        "authority": f"{content.authority_el} · {content.authority_en}",
        "title_el": content.title_el,
        "title_en": content.title_en,
        "code": content.code,
        "holder": content.holder_name,
        "holder_id": content.holder_id or "",
        "issued": content.issued_at.isoformat(),
        "issuer": f"{content.authority_el}\n{content.authority_en}",
    }
    fields = [(f"{f.label_el}\n{f.label_en}", f.value) for f in content.fields]
    floor_trust = FloorTrust(
        trust.roots, (*trust.intermediates, *trust.seal_certificates), trust.crls
    )
    if not library_verify(sample, floor_trust):
        raise RuntimeError("pyhanko alone does not find the benchmark's seal valid")
    hub_render = timed_rate(
        lambda: render_certificate(_content(), store, PUBLIC_URL), seconds=seconds, min_calls=3
    )
    lib_render = timed_rate(
        lambda: library_render(lines, fields, rendered.qr_text, verify_url),
        seconds=seconds,
        min_calls=3,
    )
    lib_layout = timed_rate(
        lambda: library_layout(lines, fields, rendered.qr_text, verify_url),
        seconds=seconds,
        min_calls=3,
    )
    fonts = timed_rate(library_fonts, seconds=seconds, min_calls=3)
    # fpdf2's layout of the page (QR included), without parsing the font
    # files (the hub loads its fonts once) and without output().
    layout_only = 1.0 / max(1.0 / lib_layout.per_second - 1.0 / fonts.per_second, 1e-6)
    qr = timed_rate(lambda: qr_symbol(rendered.qr_text), seconds=seconds, min_calls=3)
    seal = timed_rate(lambda: sealer.seal(rendered.pdf), seconds=seconds, min_calls=3)
    verifier = PdfVerifier(trust)
    hub_verify = timed_rate(lambda: verifier.verify(sample), seconds=seconds, min_calls=3)
    lib_verify = timed_rate(
        lambda: library_verify(sample, floor_trust), seconds=seconds, min_calls=3
    )
    floor_issue = _serial(layout_only, seal.per_second)
    return [
        Figure(
            section,
            "PDF render (hub)",
            hub_render.per_second,
            "docs/s",
            "fpdf2 + zxing-cpp alone, same page",
            lib_render.per_second,
            note="fpdf2's own add_font with the hub's font files; zxing-cpp bitmap",
        ),
        Figure(
            section,
            "PDF render (hub)",
            hub_render.per_second,
            "docs/s",
            "fpdf2 layout alone (no font parsing, no output)",
            layout_only,
            note=f"fpdf2 add_font of both faces: {1000 / fonts.per_second:.1f} ms a document",
        ),
        Figure(
            section,
            "QR symbol, zxing-cpp alone",
            qr.per_second,
            "symbols/s",
            "PDF render (hub)",
            hub_render.per_second,
            note=f"{1000 / qr.per_second:.1f} ms a symbol",
        ),
        Figure(
            section,
            "PDF seal (hub, pyhanko PAdES B-B)",
            seal.per_second,
            "docs/s",
            "PDF render (hub)",
            hub_render.per_second,
        ),
        Figure(
            section,
            "issue+seal floor: fpdf2 layout alone + seal",
            floor_issue,
            "docs/s",
            "",
            None,
            target=ISSUE_TARGET,
            note="1 / (fpdf2 layout time, fonts and output excluded, + hub seal time)",
        ),
        Figure(
            section,
            "PDF verify (hub)",
            hub_verify.per_second,
            "docs/s",
            "pyhanko validate_pdf_signature alone",
            lib_verify.per_second,
        ),
        Figure(
            section,
            "verify floor: pyhanko alone",
            lib_verify.per_second,
            "docs/s",
            "",
            None,
            target=VERIFY_TARGET,
        ),
    ]


def _serial(*rates: float) -> float:
    """The rate of doing each step (given by its rate) once, one after the other."""
    return 1.0 / sum(1.0 / rate for rate in rates)
