"""Issue 12 §1 replayed over real HTTP: an issued, then revoked, certificate is
updated after its seal, and neither ``POST /v1/verify`` nor the ``/verify`` page
may call it valid.

Each attack appends one incremental update with pyHanko's writer to the PDF
the hub issued. The verdict must say what was added, keep the code the seal
covers (so a revoked certificate cannot pass for another one), and log the
check under the sealed certificate's holder only — never under the holder
whose code the update names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.config import Settings
from hub.domain.sealing import keystore as keystore_files
from hub.domain.sealing.pades import MODIFIED_AFTER_SEALING
from hub.web.i18n import translate
from tests.common import pdf_attacks
from tests.common.browser import Browser
from tests.integration.certificates.test_cert_http import citizen_token


@dataclass
class Issued:
    token: str
    pdf: bytes
    code: str


@dataclass
class Scene:
    url: str
    revoked: Issued  # the attacker's own certificate, revoked before the attack
    other: Issued  # someone else's valid certificate
    stranger_keys: keystore_files.FileKeyStore


def _issue(url: str, keys_dir: Path, citizen: dict[str, Any]) -> Issued:
    token = citizen_token(url, keys_dir, citizen)
    response = requests.post(
        f"{url}/v1/me/certificates",
        json={"type": "birth-certificate"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return Issued(token, response.content, response.headers["X-Verification-Code"])


@pytest.fixture
def scene(
    settings: Settings, keys_dir: Path, citizens: list[dict[str, Any]], tmp_path: Path
) -> Iterator[Scene]:
    from tests.common.server import serve_hub  # noqa: PLC0415

    living = [c for c in citizens if not c.get("deceased")]
    with serve_hub(settings) as (url, _services, _settings):
        mine = _issue(url, keys_dir, living[0])
        theirs = _issue(url, keys_dir, living[1])
        revoked = requests.post(
            f"{url}/v1/certificates/{mine.code}/revocation",
            json={"reason": "lost"},
            headers={"Authorization": f"Bearer {mine.token}"},
            timeout=10,
        )
        assert revoked.status_code == 200, revoked.text
        keystore_files.init(tmp_path / "stranger", None)
        yield Scene(url, mine, theirs, keystore_files.load(tmp_path / "stranger"))


ATTACKS: dict[str, tuple[Callable[[Scene], bytes], str]] = {
    "remove-keywords": (
        lambda s: pdf_attacks.remove_keywords(s.revoked.pdf),
        "document information changed",
    ),
    "keywords-other-code": (
        lambda s: pdf_attacks.point_keywords_at(s.revoked.pdf, s.other.code),
        "document information changed",
    ),
    "subject-and-title": (
        lambda s: pdf_attacks.set_info(
            s.revoked.pdf, Subject=f"birth-certificate {s.other.code}", Title="Βεβαίωση"
        ),
        "document information changed",
    ),
    "annotation": (lambda s: pdf_attacks.add_annotation(s.revoked.pdf), "annotation added"),
    "form-field": (lambda s: pdf_attacks.add_form_field(s.revoked.pdf), "form field added"),
    "second-signature": (
        lambda s: pdf_attacks.add_second_signature(s.revoked.pdf, s.stranger_keys),
        "second signature",
    ),
}


def _checks_of(url: str, holder: Issued) -> int:
    """How many verifications the holder's own access log shows."""
    log = requests.get(
        f"{url}/v1/me/access-log",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {holder.token}"},
        timeout=10,
    )
    assert log.status_code == 200, log.text
    return sum(1 for item in log.json()["items"] if item["action"] == "certificate.verify")


def test_an_update_after_the_seal_is_never_valid(scene: Scene) -> None:
    # One hub for all the attacks: each is a separate upload of a separate file.
    for attack, (change, named) in sorted(ATTACKS.items()):
        _replay(scene, attack, change(scene), named)


def _replay(scene: Scene, attack: str, forged: bytes, named: str) -> None:
    other_checks = _checks_of(scene.url, scene.other)

    report = requests.post(
        f"{scene.url}/v1/verify",
        data=forged,
        headers={"Content-Type": "application/pdf"},
        timeout=60,
    ).json()
    assert report["status"] == "invalid", (attack, report)
    assert report["indication"] == "TOTAL-FAILED", attack
    assert any(r.startswith(MODIFIED_AFTER_SEALING) and named in r for r in report["reasons"]), (
        attack,
        report["reasons"],
    )
    assert named in report["modifications"], attack
    # What the verdict names comes from the sealed revision: the revoked certificate.
    assert report["code"] == scene.revoked.code, attack
    assert report["revoked_at"] is not None, attack
    assert report["matches_issued"] is False, attack
    # No check of the other holder's certificate was made, so none is logged.
    assert _checks_of(scene.url, scene.other) == other_checks, attack

    page = Browser(scene.url).post(
        "/verify", files={"document": ("c.pdf", forged, "application/pdf")}
    )
    assert page.status_code == 200, attack
    assert "verdict-invalid" in page.text, attack
    assert "verdict-valid" not in page.text, attack
    # The page is Greek: the change is named in the page's words, not the report's.
    assert translate(f"mod:{named}", "el") in page.text, attack
    assert named not in page.text, attack
    assert "Άλλαξε μετά τη σφράγιση" in page.text, attack
    assert "η σφραγίδα του είναι γνήσια, αλλά το αρχείο άλλαξε" in page.text, attack
    assert scene.other.code not in page.text, attack
    assert _checks_of(scene.url, scene.other) == other_checks, attack


def test_the_untouched_revoked_certificate_is_revoked(scene: Scene) -> None:
    # The control: without an update the same file is reported revoked.
    report = requests.post(
        f"{scene.url}/v1/verify",
        data=scene.revoked.pdf,
        headers={"Content-Type": "application/pdf"},
        timeout=60,
    ).json()
    assert report["status"] == "revoked", report
    assert report["level"] == "B-LT"
    assert report["modifications"] == []
    page = Browser(scene.url).post(
        "/verify", files={"document": ("c.pdf", scene.revoked.pdf, "application/pdf")}
    )
    assert "verdict-revoked" in page.text
    facts = page.text.split('<details class="technical">')[0]
    assert "Επίπεδο σφραγίδας (PAdES)" in facts
    assert "<code>B-LT</code>" in facts
