"""The fast paths of sealing: same answers as the slow ones, the same refusals.

Rendering caches the parsed fonts and their subsets, sealing reuses its
encoded attributes and sizes the signature exactly, and verification patches
two hot spots of pyhanko and asn1crypto and memoises chain checks. Each test
here pins one of those to the behaviour it replaced.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from PIL import Image, ImageChops
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

from hub.domain.sealing import _speedups, keystore
from hub.domain.sealing import pdf as pdf_module
from hub.domain.sealing.jws import seal_json, verify_jws
from hub.domain.sealing.keystore import FileKeyStore
from hub.domain.sealing.pades import (
    KeyStoreTimeStamper,
    PadesLevel,
    PdfSealer,
    PdfVerifier,
    verify_pdf,
)
from hub.domain.sealing.pdf import CertificateContent, EvidenceField, render_certificate
from hub.domain.sealing.report import Status, SubIndication
from hub.domain.sealing.trust import Trust
from tests.common.pdf import needs_pdftotext, pdf_text
from tests.common.qr import decode_image

PUBLIC_URL = "https://oncehub.example.gr"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- hex strings -------------------------------------------------------------------------


def _read_both(data: bytes) -> tuple[Any, Any]:
    """(result or exception type, stream position) from the fast and the original reader."""
    fast = generic.read_hex_string_from_stream
    slow = fast.__wrapped__  # type: ignore[attr-defined]
    outcomes = []
    for reader in (fast, slow):
        stream = io.BytesIO(data)
        try:
            value: Any = bytes(reader(stream).original_bytes)
        except PdfStreamError as exc:
            value = type(exc)
        outcomes.append((value, stream.tell()))
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize(
    "data",
    [
        b"<48656C6C6F> rest",
        b"<48 65 6c\n6c\r\n6f\t\x00\x0c> rest",
        b"<486>",
        b"<>",
        b"<48656C6C6F%comment\n>",
        b"<4865 zz>",
        b"<486565",
        b"<" + b"ab" * 20_000 + b">tail",
    ],
)
def test_hex_strings_read_as_pyhanko_reads_them(data: bytes) -> None:
    _speedups.install()
    fast, slow = _read_both(data)
    assert fast == slow


# -- X.509 names -----------------------------------------------------------------------


def _name(**values: str) -> asn1_x509.Name:
    # Loaded from DER, as names arrive in documents.
    return asn1_x509.Name.load(asn1_x509.Name.build(values).dump())


def test_names_still_match_by_rfc_5280_rules() -> None:
    _speedups.install()
    a = _name(country_name="GR", common_name="Hub  Seal")
    b = _name(country_name="GR", common_name="hub seal")
    c = _name(country_name="GR", common_name="Another Seal")
    for _ in range(2):  # the second round is answered from the memo
        assert a == b
        assert a != c
        assert a.hashable == b.hashable


def test_long_names_are_matched_without_the_memo() -> None:
    _speedups.install()
    long_a = _name(common_name="Seal " + "x" * 2000)
    long_b = _name(common_name="seal  " + "X" * 2000)
    assert long_a == long_b
    assert long_a != _name(common_name="seal")
    assert long_a.hashable == long_b.hashable


def test_prohibited_characters_are_refused_every_time() -> None:
    _speedups.install()
    bad = _name(common_name="seal\u0378")  # unassigned in Unicode 3.2: prohibited
    good = _name(common_name="seal")
    for _ in range(2):
        with pytest.raises(ValueError, match=r"X\.509 Name"):
            _ = bad == good


# -- fonts and the QR code -----------------------------------------------------------------


def _content(holder: str) -> CertificateContent:
    return CertificateContent(
        code="7KQ2-M9XD-4TZB-P0HC",
        evidence_type="birth",
        title_el="Πιστοποιητικό Γέννησης",
        title_en="Birth Certificate",
        holder_name=holder,
        authority_el="Ληξιαρχείο Αθηνών",
        authority_en="Athens Civil Registry",
        issued_at=datetime(2026, 3, 1, 10, 30, tzinfo=UTC),
        fields=(EvidenceField("place", "Τόπος", "Place", "Łódź — Gdańsk"),),
    )


@needs_pdftotext
# Greek and Latin-1 are in the repertoire the fonts are pre-cut to; Latin
# Extended-A (Ł, ń, ř, ş) is in the shipped fonts but beyond it.
@pytest.mark.parametrize("holder", ["Μαρία Παπαδοπούλου", "Ľudmila Dvořák", "Şükrü Öztürk"])
def test_text_beyond_the_repertoire_still_renders(
    store: FileKeyStore, tmp_path: Path, holder: str
) -> None:
    for attempt in range(2):  # the second render reuses the cached subset
        rendered = render_certificate(_content(holder), store, PUBLIC_URL)
        text = pdf_text(rendered.pdf, tmp_path / f"cert-{attempt}.pdf")
        assert holder in text
        assert "Łódź — Gdańsk" in text
        assert "Πιστοποιητικό Γέννησης" in text


@pytest.mark.parametrize(
    ("length", "version"),
    [
        # Lower-case text is all byte mode; at level L version 11 holds 321
        # bytes and version 12 holds 367 (ISO/IEC 18004, table 7).
        (321, 11),
        (322, 12),
        (367, 12),
        (368, 13),
    ],
)
def test_the_qr_bitmap_reads_back_with_zbar_at_the_smallest_version(
    length: int, version: int, tmp_path: Path
) -> None:
    text = "https://oncehub.example.gr/verify/abcd#"
    text += "t" * (length - len(text))
    image, found = pdf_module._qr_image(text)
    assert found == version
    # 17 + 4v modules a side, two modules of quiet zone each side, 4 pixels a module.
    side = (17 + 4 * version + 4) * 4
    assert image.size == (side, side)
    assert image.mode == "1"
    image.save(tmp_path / "qr.png")
    assert decode_image(tmp_path / "qr.png") == [text]


# -- sealing -------------------------------------------------------------------------------


class _CountingStore:
    """Delegates to a key store and counts private-key operations."""

    def __init__(self, inner: FileKeyStore) -> None:
        self._inner = inner
        self.signatures = 0

    def sign(self, kid: str, data: bytes) -> bytes:
        self.signatures += 1
        return self._inner.sign(kid, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _contents_hex(pdf: bytes) -> bytes:
    match = re.search(rb"/Contents <([0-9a-fA-F]*)>", pdf)
    assert match is not None
    return match.group(1)


def test_b_b_seal_signs_once_and_reserves_what_it_needs(
    store: FileKeyStore, rendered_pdf: bytes
) -> None:
    counting = _CountingStore(store)
    sealed = PdfSealer(counting).seal(rendered_pdf)  # type: ignore[arg-type]
    assert counting.signatures == 1  # the size-estimating dry run signs nothing
    contents = _contents_hex(sealed)
    assert contents[:4] == b"3082"  # a SEQUENCE with a two-byte length
    used = 4 + int(contents[4:8], 16)
    # Sized for the longest ECDSA signature, which may be 2 bytes longer.
    assert 0 <= len(contents) // 2 - used <= 2
    assert verify_pdf(sealed, store.trust()).status is Status.VALID


def test_b_b_container_size_is_learned_once_and_recovered_if_wrong(
    store: FileKeyStore, rendered_pdf: bytes
) -> None:
    sealer = PdfSealer(store)
    first = sealer.seal(rendered_pdf)
    signer = sealer._current_signer()
    learned = signer.container_size
    assert learned == len(_contents_hex(first))
    second = sealer.seal(rendered_pdf)  # sized from what the first one showed
    assert len(_contents_hex(second)) == learned
    signer.container_size = 100  # far too small: pyhanko refuses, and it is redone
    third = sealer.seal(rendered_pdf)
    assert signer.container_size == learned
    for sealed in (first, second, third):
        assert verify_pdf(sealed, store.trust()).status is Status.VALID


def test_sealer_reused_across_documents_and_levels(
    store: FileKeyStore, rendered_pdf: bytes
) -> None:
    plain = PdfSealer(store)
    stamped = PdfSealer(store, level=PadesLevel.B_LT, timestamper=KeyStoreTimeStamper(store))
    verifier = PdfVerifier(store.trust())
    seals = [plain.seal(rendered_pdf) for _ in range(3)] + [stamped.seal(rendered_pdf)]
    assert len(set(seals)) == len(seals)
    reports = [verifier.verify(s) for s in seals]
    assert [r.status for r in reports] == [Status.VALID] * 4
    assert [r.level for r in reports] == [PadesLevel.B_B] * 3 + [PadesLevel.B_LT]


@pytest.fixture(scope="module")
def rendered_pdf(store: FileKeyStore) -> bytes:
    return render_certificate(_content("Μαρία"), store, PUBLIC_URL).pdf


# -- JWS -------------------------------------------------------------------------------------


def _resign(store: FileKeyStore, header: dict[str, Any], payload_part: str) -> str:
    kid = store.current(keystore.KeyPurpose.SEAL).kid
    header_part = _b64(json.dumps(header).encode())
    r, s = decode_dss_signature(store.sign(kid, f"{header_part}.{payload_part}".encode()))
    return f"{header_part}.{payload_part}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _header_of(token: str) -> dict[str, Any]:
    part = token.split(".", maxsplit=1)[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


@pytest.mark.parametrize(
    ("change", "sub"),
    [
        ({"b64": False}, SubIndication.FORMAT_FAILURE),
        ({"kid": 7}, SubIndication.FORMAT_FAILURE),
        ({"crit": ["exp"]}, SubIndication.FORMAT_FAILURE),
    ],
)
def test_headers_outside_the_profile_are_refused(
    store: FileKeyStore, change: dict[str, Any], sub: SubIndication
) -> None:
    token = seal_json({"a": 1}, store)
    forged = _resign(store, {**_header_of(token), **change}, token.split(".")[1])
    report = verify_jws(forged, store.trust())
    assert report.status is Status.INVALID
    assert report.sub_indication is sub


def test_resigned_token_in_the_profile_is_valid(store: FileKeyStore) -> None:
    # The helper above signs correctly: without a change the token verifies.
    token = seal_json({"a": 1}, store)
    again = _resign(store, _header_of(token), token.split(".")[1])
    assert verify_jws(again, store.trust()).status is Status.VALID


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p + "==",  # padded
        lambda p: p[:-1] + ("B" if p[-1] == "A" else "A"),  # other trailing bits or bytes
        lambda p: p + "A",  # a length no base64 has
        lambda p: p.replace("-", "+").replace("_", "/") + "+/",  # the other alphabet
    ],
)
def test_only_strict_base64url_is_accepted(
    store: FileKeyStore, mangle: Callable[[str], str]
) -> None:
    header, payload, signature = seal_json({"a": 1}, store).split(".")
    report = verify_jws(".".join([header, payload, mangle(signature)]), store.trust())
    assert report.status is Status.INVALID


def test_signature_of_the_wrong_length_does_not_match(store: FileKeyStore) -> None:
    header, payload, signature = seal_json({"a": 1}, store).split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    report = verify_jws(".".join([header, payload, _b64(raw + b"\0")]), store.trust())
    assert report.sub_indication is SubIndication.SIG_CRYPTO_FAILURE


# -- trust memos ----------------------------------------------------------------------------


def test_memoised_checks_do_not_outlive_their_crls(fresh_dir: Path) -> None:
    keystore.rotate_seal_key(fresh_dir)
    store = keystore.load(fresh_dir)
    old = next(r for r in store.records() if r.status is keystore.KeyStatus.RETIRED)
    leaf = store.certificate_chain(old.kid)[0]
    before = store.trust()
    now = datetime.now(UTC)
    for _ in range(2):
        assert before.check(leaf, at=now).ok
    keystore.revoke_seal_key(fresh_dir, None, old.kid, at=now)
    after = keystore.load(fresh_dir).trust()
    assert after.check(leaf, at=now).sub_indication is SubIndication.REVOKED
    # The first bundle still answers from its own (older) CRL, unchanged.
    assert before.check(leaf, at=now).ok
    assert replace_crls(before, after).check(leaf, at=now).sub_indication is (SubIndication.REVOKED)


def replace_crls(trust: Trust, source: Trust) -> Trust:
    """A bundle like ``trust`` whose CRLs are ``source``'s (memos start empty)."""
    return replace(trust, crls=source.crls)


needs_pdftoppm = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="no pdftoppm")


@needs_pdftoppm
@pytest.mark.parametrize("holder", ["Μαρία Παπαδοπούλου", "Ľudmila Dvořák"])
def test_cached_fonts_draw_what_fpdf_draws(
    store: FileKeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, holder: str
) -> None:
    """The page looks the same, pixel for pixel, as with fpdf2's own add_font."""
    content = _content(holder)
    pages = []
    for variant in ("cached", "stock"):
        if variant == "stock":

            def stock_add_font(pdf: Any, face: Any) -> None:
                pdf.add_font(pdf_module._FONT, face.style, face.path)

            monkeypatch.setattr(pdf_module._fonts, "add_font", stock_add_font)
            monkeypatch.setattr(pdf_module._fonts, "finish", lambda pdf: None)
        path = tmp_path / f"{variant}.pdf"
        path.write_bytes(render_certificate(content, store, PUBLIC_URL).pdf)
        subprocess.run(
            ["pdftoppm", "-r", "100", "-gray", "-png", "-singlefile", str(path), str(path)],
            check=True,
        )
        pages.append(Image.open(f"{path}.png").convert("L"))
    # The QR codes differ (each token is signed afresh): compare the rest.
    cached, stock = (page.crop((0, 0, page.width * 2 // 3, page.height)) for page in pages)
    assert ImageChops.difference(cached, stock).getbbox() is None


@needs_pdftotext
def test_concurrent_renders_share_the_fonts_safely(store: FileKeyStore, tmp_path: Path) -> None:
    holders = ["Μαρία", "Ľudmila", "Zoë", "Γιώργος", "Şükrü", "Ana", "Ελένη", "Dvořák"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(
            pool.map(lambda h: render_certificate(_content(h), store, PUBLIC_URL).pdf, holders * 2)
        )
    for index, (holder, pdf) in enumerate(zip(holders * 2, pdfs, strict=True)):
        text = pdf_text(pdf, tmp_path / f"{index}.pdf")
        assert holder in text
        assert "Πιστοποιητικό Γέννησης" in text
