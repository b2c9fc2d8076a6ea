"""The libraries under the certificates, without the hub: their floors.

* render: fpdf2 alone laying out the same page — A4, the same DejaVu font
  files the hub ships, the same cells, multi_cells and table of the same
  text — with fpdf2's own ``add_font`` and the QR symbol encoded by
  zxing-cpp alone (its own bitmap with quiet zone, placed with
  ``FPDF.image``); no hub code runs;
* QR: zxing-cpp's ``create_barcode`` of the same payload, alone;
* verify: pyhanko's own ``validate_pdf_signature`` on the same sealed PDF,
  with a plain ``ValidationContext`` built from the same roots, certificates
  and CRLs (no fetching, revocation required as the hub requires it); none
  of the hub's report building, modification analysis or code lookup.

Each is timed on one thread in the same run as the hub's figures, so the
ratio hub / floor says how much the hub adds to the library beneath it.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

import zxingcpp
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

__all__ = [
    "FloorTrust",
    "library_fonts",
    "library_layout",
    "library_render",
    "library_verify",
    "qr_symbol",
]

_FONT = "DejaVu"
_NEXT = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}


def _asset(name: str) -> Path:
    return Path(str(resources.files("hub") / "assets" / name))


def qr_symbol(text: str) -> zxingcpp.Barcode:
    """The QR symbol of ``text`` at level L, as the hub asks zxing-cpp."""
    return zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="L")


def _qr_bitmap(text: str) -> Image.Image:
    """The symbol as zxing-cpp draws it: 4 pixels a module, its own quiet zone."""
    return Image.fromarray(qr_symbol(text).to_image(scale=4))


def library_fonts() -> FPDF:
    """A new A4 document with the hub's two font files added by fpdf2's own ``add_font``."""
    pdf = FPDF(format="A4")
    pdf.set_compression(True)
    pdf.add_font(_FONT, "", str(_asset("DejaVuSans-LGC.ttf")))
    pdf.add_font(_FONT, "B", str(_asset("DejaVuSans-Bold-LGC.ttf")))
    return pdf


def library_render(
    lines: dict[str, str], fields: list[tuple[str, str]], qr_text: str, verify_url: str
) -> bytes:
    """The certificate's page by fpdf2 and zxing-cpp alone (no hub code), as PDF bytes."""
    return bytes(library_layout(lines, fields, qr_text, verify_url).output())


def library_layout(
    lines: dict[str, str], fields: list[tuple[str, str]], qr_text: str, verify_url: str
) -> FPDF:
    """The certificate's page laid out by fpdf2 and zxing-cpp alone, not yet output.

    ``lines`` holds the page's texts by role (``header``, ``authority``,
    ``title_el``, ``title_en``, ``code``, the holder pairs ``holder``,
    ``holder_id``, ``issued`` and ``issuer``); ``fields`` the evidence rows.
    """
    bitmap = _qr_bitmap(qr_text)
    pdf = library_fonts()
    pdf.set_title(f"{lines['title_el']} / {lines['title_en']}")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    width = pdf.epw
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(width, 5, lines["header"], align="C", **_NEXT)  # type: ignore[arg-type]
    pdf.set_font(_FONT, "", 9)
    pdf.cell(width, 5, lines["authority"], align="C", **_NEXT)  # type: ignore[arg-type]
    pdf.ln(5)
    pdf.set_font(_FONT, "B", 17)
    pdf.multi_cell(width, 8, lines["title_el"], align="C", **_NEXT)  # type: ignore[arg-type]
    pdf.set_font(_FONT, "", 13)
    pdf.multi_cell(width, 7, lines["title_en"], align="C", **_NEXT)  # type: ignore[arg-type]
    pdf.ln(4)
    top = pdf.get_y()
    pdf.image(bitmap, x=pdf.l_margin + width - 38, y=top, w=38, h=38)
    text_width = width - 44
    pdf.set_font(_FONT, "B", 10)
    pdf.multi_cell(text_width, 6, "Κωδικός επαλήθευσης / Verification code", **_NEXT)  # type: ignore[arg-type]
    pdf.set_font(_FONT, "B", 15)
    pdf.multi_cell(text_width, 9, lines["code"], **_NEXT)  # type: ignore[arg-type]
    pdf.set_font(_FONT, "", 8.5)
    pdf.multi_cell(
        text_width,
        4.5,
        "Επαληθεύστε τη γνησιότητα στη διεύθυνση / Verify authenticity at:\n"
        f"{verify_url}\n"
        "Το έγγραφο φέρει προηγμένη ηλεκτρονική σφραγίδα (PAdES). "
        "This document bears an advanced electronic seal (PAdES).",
        **_NEXT,  # type: ignore[arg-type]
    )
    pdf.set_y(max(pdf.get_y(), top + 38) + 2)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(3)
    for label, key in (
        ("Κάτοχος / Holder", "holder"),
        ("ΑΦΜ / Tax number", "holder_id"),
        ("Ημερομηνία έκδοσης / Date of issue", "issued"),
    ):
        _pair(pdf, label, lines[key])
    pdf.ln(3)
    pdf.set_font(_FONT, "", 9.5)
    with pdf.table(col_widths=(55, 45), line_height=5.5, text_align=("LEFT", "LEFT")) as table:
        table.row(["Στοιχείο / Field", "Τιμή / Value"])
        for label, value in fields:
            table.row([label, value])
    pdf.ln(5)
    _pair(pdf, "Εκδούσα αρχή / Issuing authority", lines["issuer"])
    pdf.set_y(-15)
    pdf.set_font(_FONT, "", 8)
    pdf.cell(width / 2, 5, lines["code"])
    pdf.cell(width / 2, 5, "Σελίδα 1 από 1 / Page 1 of 1", align="R")
    return pdf


def _pair(pdf: FPDF, label: str, value: str) -> None:
    top = pdf.get_y()
    pdf.set_font(_FONT, "B", 9.5)
    pdf.multi_cell(72, 5.5, label, **_NEXT)  # type: ignore[arg-type]
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + 72, top)
    pdf.set_font(_FONT, "", 9.5)
    pdf.multi_cell(pdf.epw - 72, 5.5, value, **_NEXT)  # type: ignore[arg-type]
    pdf.set_y(max(pdf.get_y(), bottom) + 1)


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


class FloorTrust:
    """Roots, other certificates and CRLs in pyhanko's form, parsed once."""

    def __init__(
        self,
        roots: tuple[x509.Certificate, ...],
        others: tuple[x509.Certificate, ...],
        crls: tuple[x509.CertificateRevocationList, ...],
    ) -> None:
        self.roots = [_asn1_cert(c) for c in roots]
        self.others = [_asn1_cert(c) for c in others]
        self.crls = [asn1_crl.CertificateList.load(c.public_bytes(Encoding.DER)) for c in crls]

    def context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=list(self.roots),
            other_certs=list(self.others),
            crls=list(self.crls),
            allow_fetching=False,
            revocation_mode="require",
        )


def library_verify(pdf: bytes, trust: FloorTrust) -> bool:
    """pyhanko alone: parse, validate the first signature; whether it is intact and trusted."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signature = reader.embedded_signatures[0]
    status = validate_pdf_signature(signature, signer_validation_context=trust.context())
    return bool(status.intact and status.valid and status.trusted)
