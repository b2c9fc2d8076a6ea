"""Updates appended after the seal: only PAdES long-term additions keep it valid.

Issue 12 §1 replayed on the verifier itself: each attack appends one
incremental update with pyHanko's writer and leaves the signed bytes alone.
The verdict must be ``invalid``, name what was added, and read the code from
the revision the seal covers — never from the update.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from hub.domain.sealing.keystore import FileKeyStore
from hub.domain.sealing.pades import (
    MODIFIED_AFTER_SEALING,
    KeyStoreTimeStamper,
    PadesLevel,
    PdfSealer,
    seal_pdf,
    verify_pdf,
)
from hub.domain.sealing.pdf import RenderedCertificate
from hub.domain.sealing.report import Indication, Status, SubIndication
from hub.domain.sealing.trust import Trust
from tests.common import pdf_attacks

OTHER_CODE = "AAAA-BBBB-CCCC-DDDD"


@pytest.fixture(scope="module")
def sealed(store: FileKeyStore, rendered: RenderedCertificate) -> bytes:
    return seal_pdf(rendered.pdf, store)


@pytest.fixture(scope="module")
def long_term(store: FileKeyStore, rendered: RenderedCertificate) -> bytes:
    sealer = PdfSealer(store, level=PadesLevel.B_LT, timestamper=KeyStoreTimeStamper(store))
    return sealer.seal(rendered.pdf)


ATTACKS: dict[str, tuple[Callable[[bytes, FileKeyStore], bytes], str]] = {
    "remove-keywords": (
        lambda pdf, _: pdf_attacks.remove_keywords(pdf),
        "document information changed",
    ),
    "keywords-other-code": (
        lambda pdf, _: pdf_attacks.point_keywords_at(pdf, OTHER_CODE),
        "document information changed",
    ),
    "subject-and-title": (
        lambda pdf, _: pdf_attacks.set_info(pdf, Subject="birth", Title="Anything"),
        "document information changed",
    ),
    "annotation": (lambda pdf, _: pdf_attacks.add_annotation(pdf), "annotation added"),
    "form-field": (lambda pdf, _: pdf_attacks.add_form_field(pdf), "form field added"),
    "second-signature": (
        pdf_attacks.add_second_signature,
        "second signature",
    ),
}


@pytest.mark.parametrize("level", ["B-B", "B-LT"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_update_after_the_seal_is_named_and_invalid(
    store: FileKeyStore,
    other_store: FileKeyStore,
    rendered: RenderedCertificate,
    sealed: bytes,
    long_term: bytes,
    attack: str,
    level: str,
) -> None:
    change, named = ATTACKS[attack]
    genuine = sealed if level == "B-B" else long_term
    assert verify_pdf(genuine, store.trust()).status is Status.VALID
    report = verify_pdf(change(genuine, other_store), store.trust())
    assert report.status is Status.INVALID, report
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication is SubIndication.FORMAT_FAILURE
    assert any(r.startswith(MODIFIED_AFTER_SEALING) and named in r for r in report.reasons), (
        report.reasons
    )
    assert named in report.modifications
    # The code is the one the seal covers, whatever the update says.
    assert report.code == rendered.record["code"]


def test_the_code_comes_from_the_signed_revision_even_when_info_is_replaced(
    store: FileKeyStore, rendered: RenderedCertificate, sealed: bytes
) -> None:
    forged = pdf_attacks.point_keywords_at(sealed, OTHER_CODE)
    # A reader of the file as it stands sees the other code...
    latest = PdfFileReader(BytesIO(forged)).trailer["/Info"]["/Keywords"]
    assert str(latest) == f"oncehub-code:{OTHER_CODE}"
    # ...the verdict does not.
    assert verify_pdf(forged, store.trust()).code == rendered.record["code"] != OTHER_CODE


def test_a_stranger_seal_names_no_code(
    store: FileKeyStore, other_store: FileKeyStore, rendered: RenderedCertificate
) -> None:
    # Someone else's key can seal a PDF that carries any code; the hub must
    # not take that code for one of its own.
    report = verify_pdf(seal_pdf(rendered.pdf, other_store), store.trust())
    assert report.status is Status.UNKNOWN
    assert report.code is None


@pytest.mark.parametrize("level", [PadesLevel.B_LT, PadesLevel.B_LTA])
def test_long_term_additions_keep_the_seal_valid(
    store: FileKeyStore, rendered: RenderedCertificate, level: PadesLevel
) -> None:
    sealer = PdfSealer(store, level=level, timestamper=KeyStoreTimeStamper(store))
    report = verify_pdf(sealer.seal(rendered.pdf), store.trust())
    assert report.status is Status.VALID, report.reasons
    assert report.level is level
    assert report.code == rendered.record["code"]


def test_an_annotation_after_a_document_timestamp_is_still_caught(
    store: FileKeyStore, rendered: RenderedCertificate
) -> None:
    sealer = PdfSealer(store, level=PadesLevel.B_LTA, timestamper=KeyStoreTimeStamper(store))
    report = verify_pdf(pdf_attacks.add_annotation(sealer.seal(rendered.pdf)), store.trust())
    assert report.status is Status.INVALID
    assert "annotation added" in report.reasons[0]


def test_an_offline_verifier_with_only_the_published_chain_reads_the_code(
    store: FileKeyStore, rendered: RenderedCertificate, sealed: bytes
) -> None:
    # Without the seal certificates, the chain to the published root is
    # what says the hub sealed it.
    trust = Trust.from_pem(store.pem_chain(), crls=list(store.crls().values()))
    report = verify_pdf(sealed, trust)
    assert report.status is Status.VALID, report.reasons
    assert report.code == rendered.record["code"]
