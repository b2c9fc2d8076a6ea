"""Bilingual certificate PDFs, their PAdES seals and the verifier's reports."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from hub.domain.sealing import keystore
from hub.domain.sealing.errors import SealingError, TimestampUnavailable
from hub.domain.sealing.jws import record_digest, verify_jws
from hub.domain.sealing.keystore import FileKeyStore, KeyPurpose
from hub.domain.sealing.pades import (
    KeyStoreTimeStamper,
    PadesLevel,
    PdfSealer,
    seal_pdf,
    verify_pdf,
)
from hub.domain.sealing.pdf import (
    MAX_QR_CHARS,
    CertificateContent,
    RenderedCertificate,
    is_verification_code,
    new_verification_code,
    render_certificate,
    split_qr_payload,
)
from hub.domain.sealing.report import Indication, Status, SubIndication
from tests.common.pdf import needs_pdftotext, pdf_text

PUBLIC_URL = "https://oncehub.example.gr"

needs_pdfsig = pytest.mark.skipif(shutil.which("pdfsig") is None, reason="no pdfsig")


@pytest.fixture(scope="module")
def sealed(store: FileKeyStore, rendered: RenderedCertificate) -> bytes:
    return seal_pdf(rendered.pdf, store)


def _contents_span(pdf: bytes) -> tuple[int, int]:
    """Where the hex CMS blob of the last signature sits (between the byte ranges)."""
    ranges = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    _, length, second, _ = (int(x) for x in ranges[-1])
    return length, second


# -- rendering -------------------------------------------------------------------


def test_verification_codes_are_well_formed() -> None:
    codes = {new_verification_code() for _ in range(50)}
    assert len(codes) == 50
    assert all(is_verification_code(c) for c in codes)
    assert not is_verification_code("ABCD-EFGH-IJKL-MNOP")  # I and L are excluded


def test_qr_carries_url_and_a_compact_signed_token(
    store: FileKeyStore, rendered: RenderedCertificate
) -> None:
    assert len(rendered.qr_text) < MAX_QR_CHARS
    assert rendered.qr_version <= 16
    url, code, token = split_qr_payload(rendered.qr_text)
    assert url == f"{PUBLIC_URL}/verify/{code}"
    assert code == rendered.record["code"]
    assert token == rendered.token
    report = verify_jws(token, store.trust())
    assert report.status is Status.VALID
    assert report.payload is not None
    assert rendered.record_sha256 == record_digest(rendered.record)
    # Every claim is printed on the page; none digests what a verifier lacks.
    assert set(report.payload) == {"iss", "code", "type", "iat"}
    assert report.payload["iss"] == PUBLIC_URL
    assert report.payload["type"] == "birth"
    issued = datetime.fromisoformat(rendered.record["issued_at"])
    assert report.payload["iat"] == int(issued.timestamp())


def test_malformed_code_is_refused(
    store: FileKeyStore, content: Callable[[], CertificateContent]
) -> None:
    bad = content()
    bad = CertificateContent(**{**{f: getattr(bad, f) for f in bad.__slots__}, "code": "x"})
    with pytest.raises(SealingError):
        render_certificate(bad, store, PUBLIC_URL)


@needs_pdftotext
def test_greek_text_renders_and_extracts(rendered: RenderedCertificate, tmp_path: Path) -> None:
    text = pdf_text(rendered.pdf, tmp_path / "cert.pdf")
    for expected in (
        "Πιστοποιητικό Γέννησης",
        "Birth Certificate",
        "Μαρία Παπαδοπούλου",
        "Ημερομηνία γέννησης",
        "Κωδικός επαλήθευσης",
        rendered.record["code"],
    ):
        assert expected in text


def test_font_is_embedded(rendered: RenderedCertificate) -> None:
    assert b"/FontFile2" in rendered.pdf
    assert b"DejaVu" in rendered.pdf


# -- sealing and verifying -------------------------------------------------------------


def test_sealed_certificate_is_valid(
    store: FileKeyStore, sealed: bytes, rendered: RenderedCertificate
) -> None:
    report = verify_pdf(sealed, store.trust())
    assert report.status is Status.VALID, report.reasons
    assert report.indication is Indication.TOTAL_PASSED
    assert report.level is PadesLevel.B_B
    assert report.kid == store.current(KeyPurpose.SEAL).kid
    assert report.code == rendered.record["code"]
    assert "VATGR-090000045" in (report.signer or "")
    assert report.signing_time is not None
    assert report.to_dict()["status"] == "valid"


@pytest.mark.parametrize("level", [PadesLevel.B_T, PadesLevel.B_LT])
def test_timestamped_levels_are_valid(
    store: FileKeyStore, rendered: RenderedCertificate, level: PadesLevel
) -> None:
    sealer = PdfSealer(store, level=level, timestamper=KeyStoreTimeStamper(store))
    report = verify_pdf(sealer.seal(rendered.pdf), store.trust())
    assert report.status is Status.VALID, report.reasons
    assert report.level is level
    assert report.timestamp_time is not None


def test_b_lt_embeds_the_crls(store: FileKeyStore, rendered: RenderedCertificate) -> None:
    sealer = PdfSealer(store, level=PadesLevel.B_LT, timestamper=KeyStoreTimeStamper(store))
    pdf = sealer.seal(rendered.pdf)
    assert b"/DSS" in pdf
    assert b"/CRLs" in pdf


def test_timestamped_level_without_tsa_is_a_config_error(store: FileKeyStore) -> None:
    with pytest.raises(TimestampUnavailable):
        PdfSealer(store, level=PadesLevel.B_T)


def test_non_pdf_cannot_be_sealed(store: FileKeyStore) -> None:
    with pytest.raises(SealingError):
        seal_pdf(b"not a pdf", store)


@needs_pdfsig
def test_pdfsig_reports_the_seal_valid(sealed: bytes, tmp_path: Path) -> None:
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert "Signature is Valid" in out
    assert "ETSI.CAdES.detached" in out


def test_changed_byte_is_invalid(store: FileKeyStore, sealed: bytes) -> None:
    marker = sealed.index(b"oncehub-code:") + len(b"oncehub-code:")
    tampered = bytearray(sealed)
    tampered[marker] = ord("Z") if tampered[marker] != ord("Z") else ord("Y")
    report = verify_pdf(bytes(tampered), store.trust())
    assert report.status is Status.INVALID
    assert report.sub_indication is SubIndication.HASH_FAILURE


def test_transplanted_signature_is_invalid(
    store: FileKeyStore, render: Callable[[FileKeyStore], RenderedCertificate]
) -> None:
    donor = seal_pdf(render(store).pdf, store)
    target = seal_pdf(render(store).pdf, store)
    d_start, d_end = _contents_span(donor)
    t_start, t_end = _contents_span(target)
    blob = donor[d_start:d_end].ljust(t_end - t_start, b"0")[: t_end - t_start]
    forged = target[:t_start] + blob + target[t_end:]
    report = verify_pdf(forged, store.trust())
    assert report.status is Status.INVALID
    assert report.indication is Indication.TOTAL_FAILED


def test_appended_update_is_invalid(store: FileKeyStore, sealed: bytes) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(sealed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)  # type: ignore[no-untyped-call]
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    report = verify_pdf(out.getvalue(), store.trust())
    assert report.status is Status.INVALID


def test_unknown_signer_is_not_trusted(
    store: FileKeyStore, other_store: FileKeyStore, rendered: RenderedCertificate
) -> None:
    report = verify_pdf(seal_pdf(rendered.pdf, other_store), store.trust())
    assert report.status is Status.UNKNOWN
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


def test_rotation_keeps_old_certificates_valid(
    fresh_dir: Path, render: Callable[[FileKeyStore], RenderedCertificate]
) -> None:
    before = keystore.load(fresh_dir)
    old_pdf = seal_pdf(render(before).pdf, before)
    keystore.rotate_seal_key(fresh_dir)
    after = keystore.load(fresh_dir)
    old = verify_pdf(old_pdf, after.trust())
    assert old.status is Status.VALID, old.reasons
    assert old.kid == before.current(KeyPurpose.SEAL).kid
    new = verify_pdf(seal_pdf(render(after).pdf, after), after.trust())
    assert new.status is Status.VALID
    assert new.kid == after.current(KeyPurpose.SEAL).kid != old.kid


def test_revoked_seal_certificate_is_revoked(
    fresh_dir: Path, render: Callable[[FileKeyStore], RenderedCertificate]
) -> None:
    before = keystore.load(fresh_dir)
    pdf = seal_pdf(render(before).pdf, before)
    keystore.rotate_seal_key(fresh_dir)
    keystore.revoke_seal_key(fresh_dir, None, before.current(KeyPurpose.SEAL).kid)
    report = verify_pdf(pdf, keystore.load(fresh_dir).trust())
    assert report.status is Status.REVOKED, report.reasons
    assert report.sub_indication in {SubIndication.REVOKED, SubIndication.REVOKED_NO_POE}


def test_expired_seal_certificate_is_expired(
    tmp_path: Path, render: Callable[[FileKeyStore], RenderedCertificate]
) -> None:
    keystore.init(
        tmp_path / "k",
        now=datetime.now(UTC) - timedelta(days=10),
        seal_validity=timedelta(days=1),
    )
    store = keystore.load(tmp_path / "k")
    report = verify_pdf(seal_pdf(render(store).pdf, store), store.trust())
    assert report.status is Status.EXPIRED, report.reasons
    assert report.indication is Indication.INDETERMINATE


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"%PDF-1.7\n",
        b"%PDF-1.7\n" + b"\x00" * 500,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    ],
)
def test_garbage_becomes_an_invalid_report(store: FileKeyStore, data: bytes) -> None:
    report = verify_pdf(data, store.trust())
    assert report.status is Status.INVALID
    assert report.reasons


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_pdf_becomes_a_report(
    store: FileKeyStore, sealed: bytes, fraction: float
) -> None:
    report = verify_pdf(sealed[: int(len(sealed) * fraction)], store.trust())
    assert report.status is Status.INVALID


def test_unsigned_pdf_is_invalid(store: FileKeyStore, rendered: RenderedCertificate) -> None:
    report = verify_pdf(rendered.pdf, store.trust())
    assert report.status is Status.INVALID
    assert "no seal" in report.reasons[0]


def test_wrong_input_type_becomes_a_report(store: FileKeyStore) -> None:
    assert verify_pdf("not bytes", store.trust()).status is Status.INVALID  # type: ignore[arg-type]
