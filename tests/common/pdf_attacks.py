"""Incremental updates an attacker appends to a sealed PDF, with pyHanko's own writer.

Each function takes the bytes of a sealed document and returns them with one
more revision: the seal's signed bytes stay untouched, so the signature
itself still verifies, and only an analysis of what came after the seal can
tell. They are the replays of issue 12 §1.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from hub.domain.sealing.keystore import KeyStore
from hub.domain.sealing.pades import KeyStoreSigner
from hub.domain.sealing.pdf import CODE_KEYWORD

__all__ = [
    "add_annotation",
    "add_form_field",
    "add_second_signature",
    "point_keywords_at",
    "remove_keywords",
    "set_info",
]


def _update(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    change(writer)
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _edit_info(pdf: bytes, edit: Callable[[generic.DictionaryObject], None]) -> bytes:
    def change(writer: IncrementalPdfFileWriter) -> None:
        info = writer.trailer["/Info"].get_object()
        edit(info)
        writer.update_container(info)

    return _update(pdf, change)


def remove_keywords(pdf: bytes) -> bytes:
    """Delete ``/Keywords`` from the document information dictionary."""
    return _edit_info(pdf, lambda info: info.pop("/Keywords", None))


def point_keywords_at(pdf: bytes, code: str) -> bytes:
    """Make ``/Keywords`` name another certificate's verification code."""

    def edit(info: generic.DictionaryObject) -> None:
        info["/Keywords"] = generic.TextStringObject(f"{CODE_KEYWORD}{code}")

    return _edit_info(pdf, edit)


def set_info(pdf: bytes, **entries: str) -> bytes:
    """Rewrite entries such as ``Title`` or ``Subject`` of the information dictionary."""

    def edit(info: generic.DictionaryObject) -> None:
        for key, value in entries.items():
            info[f"/{key}"] = generic.TextStringObject(value)

    return _edit_info(pdf, edit)


def _first_page(writer: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    assert isinstance(page, generic.DictionaryObject)
    return page


def _append_annotation(
    writer: IncrementalPdfFileWriter, page: generic.DictionaryObject, ref: generic.Reference
) -> None:
    annots = page.get("/Annots")
    if annots is None:
        page["/Annots"] = generic.ArrayObject([ref])
    else:
        annots.append(ref)
        raw = page.raw_get("/Annots")
        if isinstance(raw, generic.IndirectObject):
            writer.update_container(annots)
    writer.update_container(page)


def _rect() -> generic.ArrayObject:
    return generic.ArrayObject(generic.NumberObject(n) for n in (20, 20, 220, 60))


def add_annotation(pdf: bytes, text: str = "ΑΚΥΡΟ / VOID") -> bytes:
    """Put a free-text annotation on page 1: a visible change of what a reader sees."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        page = _first_page(writer)
        annotation = generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
                generic.NameObject("/Rect"): _rect(),
                generic.NameObject("/Contents"): generic.TextStringObject(text),
                generic.NameObject("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
            }
        )
        _append_annotation(writer, page, writer.add_object(annotation))

    return _update(pdf, change)


def add_form_field(pdf: bytes, name: str = "extra", value: str = "forged") -> bytes:
    """Add a filled-in text field (with its widget on page 1) to the form."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        page = _first_page(writer)
        form = writer.root["/AcroForm"].get_object()
        widget = generic.DictionaryObject(
            {
                generic.NameObject("/FT"): generic.NameObject("/Tx"),
                generic.NameObject("/T"): generic.TextStringObject(name),
                generic.NameObject("/V"): generic.TextStringObject(value),
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
                generic.NameObject("/Rect"): _rect(),
            }
        )
        ref = writer.add_object(widget)
        form["/Fields"].append(ref)
        writer.update_container(form)
        _append_annotation(writer, page, ref)

    return _update(pdf, change)


def add_second_signature(pdf: bytes, keystore: KeyStore, field: str = "Countersign") -> bytes:
    """Sign the sealed document again, in a new field, with ``keystore``'s seal key."""
    meta = signers.PdfSignatureMetadata(
        field_name=field, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    signer = signers.PdfSigner(meta, signer=KeyStoreSigner(keystore))
    return bytes(signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf))).getvalue())
