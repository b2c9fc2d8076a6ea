"""PAdES B-LT and B-LTA: the document alone proves the seal, long after the key is gone.

pyHanko's long-term validation reads only what the file carries — the
signature timestamp, and the chain and CRLs in the document security store —
with nothing but the hub's root trusted and fetching off. poppler's pdfsig,
which knows nothing of PAdES levels, must still call the signature valid.
"""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from hub.domain.sealing.keystore import FileKeyStore
from hub.domain.sealing.pades import KeyStoreTimeStamper, PadesLevel, PdfSealer, verify_pdf
from hub.domain.sealing.pdf import RenderedCertificate
from hub.domain.sealing.report import Status

LONG_TERM = [PadesLevel.B_LT, PadesLevel.B_LTA]


def _sealed(store: FileKeyStore, rendered: RenderedCertificate, level: PadesLevel) -> bytes:
    return PdfSealer(store, level=level, timestamper=KeyStoreTimeStamper(store)).seal(rendered.pdf)


def test_b_lt_is_what_a_sealer_with_a_timestamper_makes(store: FileKeyStore) -> None:
    assert PdfSealer(store, timestamper=KeyStoreTimeStamper(store)).level is PadesLevel.B_LT


@pytest.mark.parametrize("level", LONG_TERM)
def test_pyhanko_validates_the_seal_long_term_from_the_file_alone(
    store: FileKeyStore, rendered: RenderedCertificate, level: PadesLevel
) -> None:
    pdf = _sealed(store, rendered, level)
    root = asn1_x509.Certificate.load(store.trust().roots[0].public_bytes(Encoding.DER))
    reader = PdfFileReader(BytesIO(pdf))
    dss = DocumentSecurityStore.read_dss(reader)
    assert dss.crls, "the CRLs of the chain are in the document security store"

    def from_the_file() -> ValidationContext:
        # Trust the root; take every other certificate and every CRL from
        # the DSS; fetch nothing; refuse a certificate without revocation data.
        return dss.as_validation_context(
            {"trust_roots": [root], "allow_fetching": False, "revocation_mode": "hard-fail"}
        )

    sig = reader.embedded_regular_signatures[0]
    status = validate_pdf_signature(
        sig, signer_validation_context=from_the_file(), ts_validation_context=from_the_file()
    )
    assert status.intact, status.pretty_print_details()
    assert status.valid, status.pretty_print_details()
    assert status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
    # What docs/verifying.md tells a verifier to expect of a long-term seal:
    # the seal covers its own revision, and what follows is maintenance only.
    assert status.coverage is SignatureCoverageLevel.ENTIRE_REVISION
    assert status.modification_level is ModificationLevel.LTA_UPDATES
    if level is PadesLevel.B_LTA:
        stamp = reader.embedded_timestamp_signatures[0]
        archive = validate_pdf_timestamp(stamp, validation_context=from_the_file())
        assert archive.intact
        assert archive.valid
        assert archive.trusted
    report = verify_pdf(pdf, store.trust())
    assert report.status is Status.VALID, report.reasons
    assert report.level is level
    assert report.timestamp_time is not None


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="no pdfsig")
@pytest.mark.parametrize(
    ("level", "coverage"),
    [
        # What docs/verifying.md shows: the long-term levels add their
        # validation data in revisions after the seal; B-B is one revision.
        (PadesLevel.B_B, "  - Total document signed"),
        (PadesLevel.B_LT, "  - Not total document signed"),
        (PadesLevel.B_LTA, "  - Not total document signed"),
    ],
)
def test_pdfsig_calls_the_seal_valid_at_every_level(
    store: FileKeyStore,
    rendered: RenderedCertificate,
    level: PadesLevel,
    coverage: str,
    tmp_path: Path,
) -> None:
    path = tmp_path / "sealed.pdf"
    path.write_bytes(_sealed(store, rendered, level))
    out = subprocess.run(  # fixed arguments, our own temp file
        ["pdfsig", "-nocert", str(path)], capture_output=True, text=True, check=False
    ).stdout
    assert "Signature is Valid" in out, out
    assert "ETSI.CAdES.detached" in out
    assert coverage in out.splitlines(), out
