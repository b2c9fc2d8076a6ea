"""Bilingual (Greek/English) certificate PDFs with a verification QR code.

A citizen hands the certificate to someone who may read either language and
may be offline, so the page carries everything needed to check it: the
evidence in a two-language table, a human-typable verification code, and a QR
code holding the verification URL plus a compact ES256 token that binds the
code, type, issue time and the SHA-256 of the canonical certificate record.
The token names its key by ``kid`` only — certificates never go in the QR —
and stays well under the ~450 characters a version-16 QR holds.

Greek must render and be extractable, so a Unicode TrueType font (DejaVu Sans,
subset to Latin and Greek, shipped in ``hub/assets``) is embedded, cut down to
the glyphs each document uses. The faces are parsed once per process and
shared by every document (``_fonts``). The PAdES seal is applied afterwards by
``pades.py``.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import qrcode
import qrcode.constants
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from PIL import Image

from hub.domain.sealing import _fonts
from hub.domain.sealing.errors import SealingError
from hub.domain.sealing.jws import record_digest, sign_compact
from hub.domain.sealing.keystore import KeyStore

__all__ = [
    "CODE_KEYWORD",
    "MAX_QR_CHARS",
    "CertificateContent",
    "EvidenceField",
    "RenderedCertificate",
    "certificate_record",
    "is_verification_code",
    "new_verification_code",
    "qr_payload",
    "qr_token",
    "render_certificate",
    "split_qr_payload",
]

#: The PDF /Keywords entry carries the code as ``oncehub-code:<code>``.
CODE_KEYWORD = "oncehub-code:"

#: What a version-16 QR code at error correction level L holds, with margin.
MAX_QR_CHARS = 450

# Crockford's base32 alphabet: no I, L, O or U, so codes survive being read aloud.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GROUPS = 4
_GROUP_LEN = 4


def new_verification_code() -> str:
    """A random 80-bit code such as ``7KQ2-M9XD-4TZB-P0HC``."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP_LEN))
    return "-".join(chars[i : i + _GROUP_LEN] for i in range(0, len(chars), _GROUP_LEN))


def is_verification_code(text: str) -> bool:
    parts = text.split("-")
    return (
        len(parts) == _GROUPS
        and all(len(p) == _GROUP_LEN for p in parts)
        and all(ch in _ALPHABET for p in parts for ch in p)
    )


@dataclass(frozen=True, slots=True)
class EvidenceField:
    """One row of the evidence table: a stable key, both labels, the value."""

    key: str
    label_el: str
    label_en: str
    value: str


@dataclass(frozen=True, slots=True)
class CertificateContent:
    """Everything printed on a certificate; also the source of its record."""

    code: str
    evidence_type: str
    title_el: str
    title_en: str
    holder_name: str
    authority_el: str
    authority_en: str
    issued_at: datetime
    fields: Sequence[EvidenceField] = ()
    holder_id: str | None = None
    holder_id_label: str = "ΑΦΜ / Tax ID"
    notes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RenderedCertificate:
    """A rendered, not yet sealed, certificate and what went into its QR code."""

    pdf: bytes
    record: dict[str, Any]
    record_sha256: str
    token: str
    qr_text: str
    qr_version: int


def certificate_record(content: CertificateContent) -> dict[str, Any]:
    """The JSON record whose RFC 8785 SHA-256 the QR token carries."""
    return {
        "code": content.code,
        "type": content.evidence_type,
        "holder": {"name": content.holder_name, "id": content.holder_id},
        "fields": {f.key: f.value for f in content.fields},
        "authority": content.authority_en,
        "issued_at": _utc(content.issued_at).isoformat(),
    }


def qr_token(
    content: CertificateContent, keystore: KeyStore, *, now: datetime | None = None
) -> tuple[str, str]:
    """The compact signed token for the QR code, and the record digest it binds.

    ``iat`` is when the token is signed (so the key's validity is judged then);
    the certificate's own issue date is inside the hashed record.
    """
    digest = record_digest(certificate_record(content))
    claims = {
        "code": content.code,
        "type": content.evidence_type,
        "iat": int((now or datetime.now(UTC)).timestamp()),
        "sha256": digest,
    }
    return sign_compact(claims, keystore, with_x5c=False, typ=None), digest


def qr_payload(public_url: str, code: str, token: str) -> str:
    """``{public_url}/verify/{code}#{token}``: the fragment never reaches a server log."""
    return f"{public_url.rstrip('/')}/verify/{code}#{token}"


def split_qr_payload(text: str) -> tuple[str, str, str | None]:
    """The inverse of :func:`qr_payload`: verification URL, code and token."""
    url, _, token = text.partition("#")
    code = url.rstrip("/").rsplit("/", 1)[-1]
    return url, code, token or None


def render_certificate(
    content: CertificateContent, keystore: KeyStore, public_url: str
) -> RenderedCertificate:
    """Lay out the certificate; the result is ready for :func:`pades.seal_pdf`."""
    if not is_verification_code(content.code):
        raise SealingError("the verification code is malformed")
    token, digest = qr_token(content, keystore)
    text = qr_payload(public_url, content.code, token)
    if len(text) > MAX_QR_CHARS:
        raise SealingError(f"QR payload of {len(text)} characters exceeds {MAX_QR_CHARS}")
    image, version = _qr_image(text)
    pdf = _layout(content, image, f"{public_url.rstrip('/')}/verify/{content.code}")
    return RenderedCertificate(
        pdf=pdf,
        record=certificate_record(content),
        record_sha256=digest,
        token=token,
        qr_text=text,
        qr_version=version,
    )


# -- layout ----------------------------------------------------------------------

_FONT = "DejaVu"
# Pixels per QR module in the embedded bitmap.
_QR_BOX = 4
_NAVY = (16, 42, 92)
_GREY = (90, 90, 90)


def _asset(name: str) -> Path:
    return Path(str(resources.files("hub") / "assets" / name))


@functools.cache
def _faces() -> tuple[_fonts.FontFace, _fonts.FontFace]:
    # Parsed once per process; every certificate shares them.
    return (
        _fonts.FontFace.load(_asset("DejaVuSans-LGC.ttf"), _FONT, ""),
        _fonts.FontFace.load(_asset("DejaVuSans-Bold-LGC.ttf"), _FONT, "B"),
    )


def _qr_image(text: str) -> tuple[Image.Image, int]:
    # A fixed mask skips qrcode's trial of all eight, which costs ~100 ms;
    # any mask gives a conforming symbol, only its visual balance differs.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_L, border=2, mask_pattern=2
    )
    code.add_data(text)
    code.make(fit=True)
    # The bitmap is built straight from the module matrix (quiet zone
    # included) and handed to fpdf2 as an image object: no PNG to encode
    # and decode again. Each module is _QR_BOX pixels, scaled without
    # smoothing, so the edges stay sharp.
    matrix = code.get_matrix()
    size = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (size, size), pixels).resize(
        (size * _QR_BOX, size * _QR_BOX), Image.Resampling.NEAREST
    )
    return image.convert("1", dither=Image.Dither.NONE), int(code.version)


def _layout(content: CertificateContent, qr_image: Image.Image, verify_url: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_compression(True)
    for face in _faces():
        _fonts.add_font(pdf, face)
    pdf.set_title(f"{content.title_el} / {content.title_en}")
    pdf.set_subject(f"{content.evidence_type} {content.code}")
    pdf.set_author(f"{content.authority_el} / {content.authority_en}")
    pdf.set_creator("oncehub")
    pdf.set_keywords(f"{CODE_KEYWORD}{content.code}")
    pdf.set_lang("el")
    pdf.set_creation_date(_utc(content.issued_at))
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    pdf.set_text_color(*_NAVY)
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(
        width,
        5,
        "ΕΛΛΗΝΙΚΗ ΔΗΜΟΚΡΑΤΙΑ · HELLENIC REPUBLIC",
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(_FONT, "", 9)
    pdf.cell(
        width,
        5,
        f"{content.authority_el} · {content.authority_en}",
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(6)
    pdf.set_font(_FONT, "B", 17)
    pdf.multi_cell(width, 8, content.title_el, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, "", 13)
    pdf.multi_cell(width, 7, content.title_en, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(5)

    pdf.set_text_color(0, 0, 0)
    _pair(pdf, "Κάτοχος / Holder", content.holder_name)
    if content.holder_id:
        _pair(pdf, content.holder_id_label, content.holder_id)
    _pair(
        pdf,
        "Ημερομηνία έκδοσης / Date of issue",
        _utc(content.issued_at).strftime("%d/%m/%Y %H:%M UTC"),
    )
    pdf.ln(3)

    pdf.set_font(_FONT, "", 9.5)
    with pdf.table(
        col_widths=(55, 45),
        headings_style=_heading_style(),
        line_height=5.5,
        text_align=("LEFT", "LEFT"),
    ) as table:
        table.row(["Στοιχείο / Field", "Τιμή / Value"])
        for item in content.fields:
            table.row([f"{item.label_el}\n{item.label_en}", item.value])
    pdf.ln(5)

    for label, value in content.notes.items():
        _pair(pdf, label, value)

    _pair(
        pdf, "Εκδούσα αρχή / Issuing authority", f"{content.authority_el}\n{content.authority_en}"
    )
    pdf.ln(4)

    _verification_block(pdf, content.code, qr_image, verify_url)
    _fonts.finish(pdf)
    return bytes(pdf.output())


def _verification_block(pdf: FPDF, code: str, qr_image: Image.Image, verify_url: str) -> None:
    width = pdf.epw
    # The verification block stays together on one page.
    if pdf.get_y() > pdf.h - 80:
        pdf.add_page()
    top = pdf.get_y()
    qr_size = 42
    pdf.image(qr_image, x=pdf.l_margin + width - qr_size, y=top, w=qr_size, h=qr_size)
    text_width = width - qr_size - 6
    pdf.set_font(_FONT, "B", 10)
    pdf.multi_cell(
        text_width,
        6,
        "Κωδικός επαλήθευσης / Verification code",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(_FONT, "B", 15)
    pdf.set_text_color(*_NAVY)
    pdf.multi_cell(text_width, 9, code, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_GREY)
    pdf.set_font(_FONT, "", 8.5)
    pdf.multi_cell(
        text_width,
        4.5,
        "Επαληθεύστε τη γνησιότητα στη διεύθυνση / Verify authenticity at:\n"
        f"{verify_url}\n"
        "Το έγγραφο φέρει προηγμένη ηλεκτρονική σφραγίδα (PAdES). "
        "This document bears an advanced electronic seal (PAdES).",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_y(max(pdf.get_y(), top + qr_size) + 2)


def _pair(pdf: FPDF, label: str, value: str) -> None:
    label_width = 72
    top = pdf.get_y()
    pdf.set_font(_FONT, "B", 9.5)
    pdf.multi_cell(label_width, 5.5, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    label_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + label_width, top)
    pdf.set_font(_FONT, "", 9.5)
    pdf.multi_cell(pdf.epw - label_width, 5.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), label_bottom) + 1)


def _heading_style() -> FontFace:
    return FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=_NAVY)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
