"""Bilingual (Greek/English) certificate PDFs with a verification QR code.

A citizen hands the certificate to someone who may read either language and
may be offline, so the page carries everything needed to check it: the
evidence in a two-language table, a human-typable verification code, and a QR
code holding the verification URL plus a compact ES256 token. Every claim of
the token can be checked by someone holding only the paper and the published
keys: the issuer's address, the code, the type, the issue time and the
holder's masked name are all printed on page 1 (docs/verifying.md says how).
The token names its key by ``kid`` only — certificates never go in the QR —
and stays well under the ~450 characters a version-16 QR holds.

Page 1 always carries the code and the QR code, whatever follows; every page
carries the code and "page x of y", so any printed page can be checked and a
missing page noticed. Times are printed in Greek time with the zone named,
dates as dd/mm/yyyy.

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
from typing import Any, cast
from zoneinfo import ZoneInfo

import zxingcpp
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
    "athens_time",
    "certificate_record",
    "is_verification_code",
    "new_verification_code",
    "qr_claims",
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
    #: The holder's name as a verifier by code sees it (``Ι*** Π***``); the QR
    #: token carries it so that an offline verifier can match the printed name.
    holder_masked: str | None = None


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
    """The JSON record of what was printed; the hub keeps its RFC 8785 SHA-256."""
    return {
        "code": content.code,
        "type": content.evidence_type,
        "holder": {"name": content.holder_name, "id": content.holder_id},
        "fields": {f.key: f.value for f in content.fields},
        "authority": content.authority_en,
        "issued_at": _utc(content.issued_at).isoformat(),
    }


def qr_claims(content: CertificateContent, public_url: str) -> dict[str, Any]:
    """The QR token's claims: each one printed on page 1, so checkable offline.

    ``iss`` is the address printed under the QR code, ``code`` the printed
    code, ``type`` the catalogue id of the printed title, ``iat`` the printed
    issue time (whole seconds; printed to the minute in Greek time) and
    ``holder`` the first letter of each word of the printed (Greek) name.
    """
    claims: dict[str, Any] = {
        "iss": public_url.rstrip("/"),
        "code": content.code,
        "type": content.evidence_type,
        "iat": int(_utc(content.issued_at).timestamp()),
    }
    if content.holder_masked:
        claims["holder"] = content.holder_masked
    return claims


def qr_token(content: CertificateContent, keystore: KeyStore, public_url: str) -> str:
    """The compact signed token (ES256, ``kid`` only) of :func:`qr_claims`."""
    return sign_compact(qr_claims(content, public_url), keystore, with_x5c=False, typ=None)


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
    token = qr_token(content, keystore, public_url)
    record = certificate_record(content)
    text = qr_payload(public_url, content.code, token)
    if len(text) > MAX_QR_CHARS:
        raise SealingError(f"QR payload of {len(text)} characters exceeds {MAX_QR_CHARS}")
    image, version = _qr_image(text)
    pdf = _layout(content, image, f"{public_url.rstrip('/')}/verify/{content.code}")
    return RenderedCertificate(
        pdf=pdf,
        record=record,
        record_sha256=record_digest(record),
        token=token,
        qr_text=text,
        qr_version=version,
    )


# -- layout ----------------------------------------------------------------------

_FONT = "DejaVu"
# Pixels per QR module in the embedded bitmap, and modules of quiet zone.
_QR_BOX = 4
_QR_BORDER = 2
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
    # zxing-cpp encodes the symbol in C++: ~0.9 ms for the ~400-byte payload,
    # where segno (pure Python) took ~3.8 ms with its mask trial skipped; it
    # also tries all eight masks and keeps the best, as ISO/IEC 18004 asks.
    # Level L and the smallest version that holds the payload (12-13).
    try:
        code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="L")
    except (RuntimeError, ValueError) as exc:
        raise SealingError("the QR payload cannot be encoded") from exc
    # One pixel per module, no quiet zone: 0 is dark, 255 light. The quiet
    # zone is added here and each module scaled to _QR_BOX pixels without
    # smoothing, so the edges stay sharp; fpdf2 takes the bitmap as an image
    # object, with no PNG to encode and decode again.
    modules = Image.fromarray(code.to_image(scale=1, add_quiet_zones=False))
    side = modules.width
    size = side + 2 * _QR_BORDER
    image = Image.new("L", (size, size), 255)
    image.paste(modules, (_QR_BORDER, _QR_BORDER))
    image = image.resize((size * _QR_BOX, size * _QR_BOX), Image.Resampling.NEAREST)
    # A version-v symbol is 17 + 4v modules a side.
    return image.convert("1", dither=Image.Dither.NONE), (side - 17) // 4


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
    # The bottom margin leaves room for the footer every page carries.
    pdf.set_auto_page_break(auto=True, margin=_FOOTER_SPACE)
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
    pdf.ln(5)
    pdf.set_font(_FONT, "B", 17)
    _text(pdf, width, 8, content.title_el, align="C")
    pdf.set_font(_FONT, "", 13)
    _text(pdf, width, 7, content.title_en, align="C")
    pdf.ln(4)

    # The code and the QR code come before the evidence, so that page 1 can
    # be checked on its own however long the evidence runs.
    _verification_block(pdf, content.code, qr_image, verify_url)
    pdf.ln(2)

    pdf.set_text_color(0, 0, 0)
    _pair(pdf, "Κάτοχος / Holder", content.holder_name)
    if content.holder_id:
        _pair(pdf, content.holder_id_label, content.holder_id)
    _pair(pdf, "Ημερομηνία έκδοσης / Date of issue", athens_time(content.issued_at))
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
    _footers(pdf, content.code)
    _fonts.finish(pdf)
    return bytes(pdf.output())


#: Space kept free at the bottom of each page for the footer (mm).
_FOOTER_SPACE = 20


def _footers(pdf: FPDF, code: str) -> None:
    """Write the code and "page x of y" at the foot of every page.

    Written once the page count is known, by returning to each page: no
    total-pages alias to substitute in the embedded font's encoding.
    """
    total = pdf.page
    pdf.set_auto_page_break(auto=False)
    for number in range(1, total + 1):
        pdf.page = number
        # Each page's content stream has its own graphics state: select the
        # font and stroke colour again rather than trust what was last set.
        pdf.current_font_is_set_on_page = False
        pdf.set_draw_color(0, 0, 0)
        pdf.set_draw_color(*_GREY)
        y = pdf.h - _FOOTER_SPACE + 6
        pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
        pdf.set_xy(pdf.l_margin, y + 1.5)
        pdf.set_text_color(*_GREY)
        pdf.set_font(_FONT, "", 8)
        pdf.cell(
            pdf.epw / 2,
            4.5,
            f"Κωδικός επαλήθευσης / Verification code: {code}",
            align="L",
        )
        pdf.cell(
            pdf.epw / 2,
            4.5,
            f"Σελίδα {number} από {total} / Page {number} of {total}",
            align="R",
        )
    pdf.page = total


def _verification_block(pdf: FPDF, code: str, qr_image: Image.Image, verify_url: str) -> None:
    width = pdf.epw
    top = pdf.get_y()
    qr_size = 38
    pdf.image(qr_image, x=pdf.l_margin + width - qr_size, y=top, w=qr_size, h=qr_size)
    text_width = width - qr_size - 6
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(_FONT, "B", 10)
    _text(pdf, text_width, 6, "Κωδικός επαλήθευσης / Verification code")
    pdf.set_font(_FONT, "B", 15)
    pdf.set_text_color(*_NAVY)
    _text(pdf, text_width, 9, code)
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
    pdf.set_draw_color(*_GREY)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(3)


def _pair(pdf: FPDF, label: str, value: str) -> None:
    label_width = 72
    # Label and value stay on one page: the value is written beside the
    # label, from the label's top, which a page break in between would lose.
    pdf.set_font(_FONT, "", 9.5)
    lines = _line_count(pdf, pdf.epw - label_width, 5.5, value)
    pdf.set_font(_FONT, "B", 9.5)
    label_lines = _line_count(pdf, label_width, 5.5, label)
    if pdf.will_page_break(5.5 * max(lines, label_lines)):
        pdf.add_page()
    top = pdf.get_y()
    _text(pdf, label_width, 5.5, label, lines=label_lines)
    label_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + label_width, top)
    pdf.set_font(_FONT, "", 9.5)
    _text(pdf, pdf.epw - label_width, 5.5, value, lines=lines)
    pdf.set_y(max(pdf.get_y(), label_bottom) + 1)


def _text(
    pdf: FPDF, width: float, height: float, text: str, *, align: str = "J", lines: int = 0
) -> None:
    """``multi_cell(width, height, text)`` then a new line at the left margin.

    A text that fits on one line is written as one cell: the same line
    multi_cell would write (its last line is never justified), without
    fpdf2's line breaker, which goes character by character and was the
    larger part of laying out a certificate. ``lines`` is the count
    :func:`_line_count` already gave, if the caller has it.
    """
    if lines == 1 or (not lines and _one_line(pdf, width, text)):
        pdf.cell(
            width,
            height,
            text,
            align="L" if align == "J" else align,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    else:
        pdf.multi_cell(width, height, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _line_count(pdf: FPDF, width: float, height: float, text: str) -> int:
    """The lines ``multi_cell(width, height, text)`` takes in the current font.

    A text that fits in the cell with room to spare takes one line; only a
    longer one is laid out in a dry run, which costs a whole line-breaking
    pass, character by character.
    """
    if _one_line(pdf, width, text):
        return 1
    lines = cast("list[str]", pdf.multi_cell(width, height, text, dry_run=True, output="LINES"))
    return len(lines)


def _one_line(pdf: FPDF, width: float, text: str) -> bool:
    """Whether ``text`` fits on one line of a cell ``width`` wide, in the current font."""
    room = width - 2 * pdf.c_margin
    return "\n" not in text and pdf.get_string_width(text) < room - _WIDTH_SLACK


#: Millimetres a one-line text keeps from the cell's edge in :func:`_one_line`,
#: far above the rounding fpdf2 allows when it breaks lines.
_WIDTH_SLACK = 0.05


def _heading_style() -> FontFace:
    return FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=_NAVY)


_ATHENS = ZoneInfo("Europe/Athens")


def athens_time(moment: datetime) -> str:
    """``02/12/2026 09:15 (ώρα Ελλάδας / Greek time, UTC+2)``: the time a Greek reader expects.

    The zone is named with its offset on that date (UTC+2 in winter, UTC+3
    in summer), so a reader abroad can convert it.
    """
    local = _utc(moment).astimezone(_ATHENS)
    offset = local.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    return f"{local:%d/%m/%Y %H:%M} (ώρα Ελλάδας / Greek time, UTC{hours:+d})"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
