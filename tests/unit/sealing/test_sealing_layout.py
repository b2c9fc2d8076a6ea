"""Issue 12 §6: page 1 can be checked alone; every page says which document it is.

Whatever the evidence's length, page 1 carries the verification code and the
QR code, and every page carries the code and "page x of y". Times are in
Greek time with the zone named; dates read dd/mm/yyyy.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from hub.certificates.service import format_value
from hub.domain.sealing.keystore import FileKeyStore
from hub.domain.sealing.pdf import EvidenceField, athens_time, render_certificate
from tests.common.pdf import needs_pdftotext, pdf_text
from tests.unit.sealing.conftest import PUBLIC_URL, make_content


def _pages_with_images(pdf: bytes) -> list[bool]:
    reader = PdfFileReader(BytesIO(pdf))
    found = []
    for ref in reader.root["/Pages"]["/Kids"]:
        page = ref.get_object()
        xobjects = page["/Resources"].get("/XObject", generic.DictionaryObject())
        found.append(any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values()))
    return found


@needs_pdftotext
@pytest.mark.parametrize("rows", [2, 40, 90])
def test_every_page_carries_the_code_and_its_number(
    store: FileKeyStore, tmp_path: Path, rows: int
) -> None:
    content = make_content()
    content = replace(
        content,
        fields=tuple(
            EvidenceField(f"f{n}", f"Στοιχείο {n}", f"Item {n}", f"τιμή {n}\nvalue {n}")
            for n in range(rows)
        ),
    )
    pdf = render_certificate(content, store, PUBLIC_URL).pdf
    pages = pdf_text(pdf, tmp_path / "c.pdf").split("\f")[:-1]
    total = len(pages)
    assert total >= (1 if rows < 10 else 2)
    for number, text in enumerate(pages, 1):
        assert content.code in text, number
        assert f"Σελίδα {number} από {total}" in text
        assert f"Page {number} of {total}" in text
    # Page 1 alone: the code under its heading, the verification address, the QR image.
    assert "Κωδικός επαλήθευσης / Verification code" in pages[0]
    assert f"{PUBLIC_URL}/verify/{content.code}" in pages[0]
    assert _pages_with_images(pdf)[0] is True
    assert not any(_pages_with_images(pdf)[1:])


def test_times_are_greek_time_with_the_zone_named() -> None:
    winter = datetime(2026, 12, 2, 7, 15, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 6, 5, tzinfo=UTC)
    assert athens_time(winter) == "02/12/2026 09:15 (ώρα Ελλάδας / Greek time, UTC+2)"
    assert athens_time(summer) == "01/07/2026 09:05 (ώρα Ελλάδας / Greek time, UTC+3)"


def test_dates_in_evidence_read_day_month_year() -> None:
    assert format_value("1985-03-12", {}) == "12/03/1985"
    assert format_value("2026-12-02T07:15:00Z", {}) == (
        "02/12/2026 09:15 (ώρα Ελλάδας / Greek time, UTC+2)"
    )
    assert format_value("1985-13-45", {}) == "1985-13-45"  # not a date: as it is
    assert format_value({"birth_date": "1970-08-06"}, {}) == (
        "Ημερομηνία γέννησης / Date of birth: 06/08/1970"
    )


@needs_pdftotext
def test_the_issue_time_is_printed_in_greek_time(store: FileKeyStore, tmp_path: Path) -> None:
    content = replace(make_content(), issued_at=datetime(2026, 12, 2, 7, 15, tzinfo=UTC))
    text = pdf_text(render_certificate(content, store, PUBLIC_URL).pdf, tmp_path / "c.pdf")
    assert "02/12/2026 09:15 (ώρα Ελλάδας / Greek time, UTC+2)" in text
    assert "UTC\n" not in text
