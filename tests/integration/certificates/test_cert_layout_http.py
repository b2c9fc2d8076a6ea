"""Issue 12 §6 over real HTTP: every certificate type the hub issues has its
code and QR code on page 1, and the code and "page x of y" on every page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from hub.catalog.files import load_catalog
from tests.common.pdf import needs_pdftotext, pdf_text
from tests.integration.certificates.test_cert_http import citizen_token

# The certificate types of the shipped catalogue (specs/catalog/certificates.yaml).
CERTIFICATE_TYPES = tuple(
    load_catalog(
        Path(__file__).resolve().parents[3] / "specs" / "catalog"
    ).catalog.certificate_types
)


@needs_pdftotext
def test_each_type_can_be_checked_from_any_printed_page(
    hub_url: str, keys_dir: Path, citizens: list[dict[str, Any]], tmp_path: Path
) -> None:
    # The citizen with the most tags has the longest evidence (a family, properties).
    holder = max((c for c in citizens if not c.get("deceased")), key=lambda c: len(c["tags"]))
    token = citizen_token(hub_url, keys_dir, holder)
    for kind in CERTIFICATE_TYPES:
        response = requests.post(
            f"{hub_url}/v1/me/certificates",
            json={"type": kind},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        if response.status_code != 201:
            pytest.fail(f"{kind}: {response.status_code} {response.text[:300]}")
        code = response.headers["X-Verification-Code"]
        pages = pdf_text(response.content, tmp_path / f"{kind}.pdf").split("\f")[:-1]
        total = len(pages)
        first = pages[0]
        assert "Κωδικός επαλήθευσης / Verification code" in first, kind
        assert f"{hub_url}/verify/{code}" in first, kind
        for number, text in enumerate(pages, 1):
            assert code in text, (kind, number)
            assert f"Σελίδα {number} από {total} / Page {number} of {total}" in text, (kind, number)
        assert "ώρα Ελλάδας / Greek time, UTC+" in first, kind
