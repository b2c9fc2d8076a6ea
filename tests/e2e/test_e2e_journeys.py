"""One browser journey per thing a person comes to the hub to do.

Each test clicks through the pages as a first-time visitor would, by the
labels on screen (in Greek, the default), with forms and no JavaScript of
ours; every page it reaches is screenshotted and scanned with axe-core for
serious or critical accessibility violations.
"""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from hub.auth.models import CitizenPrincipal
from tests.common.clients import agency_token, post_evidence
from tests.e2e.conftest import Hub, Scanner


def _sign_in_as(page: Any, hub: Hub, citizen: dict[str, Any], scan: Scanner) -> None:
    page.goto(f"{hub.url}/me")
    # The citizen's area needs a session: the browser lands on the sign-in page.
    assert "/signin" in page.url
    scan(page, "signin")
    page.get_by_label(re.compile(re.escape(citizen["name"]))).check()
    page.get_by_role("button", name="Σύνδεση ως πολίτης").click()
    page.wait_for_url(f"{hub.url}/me")
    assert citizen["name"] in page.locator("header").inner_text()


def test_verify_a_certificate_by_upload_and_by_code(page: Any, hub: Hub, scan: Scanner) -> None:
    citizen = hub.demo()
    principal = CitizenPrincipal(afm=citizen["afm"], amka=citizen["amka"], name=citizen["name"])
    # Playwright's sync API keeps an event loop on this thread; pyhanko runs its own.
    with ThreadPoolExecutor(1) as worker:
        issued = worker.submit(
            hub.services.certificates.issue, principal, "birth-certificate", None
        ).result()
    code = issued.record.code

    page.goto(f"{hub.url}/verify")
    assert page.locator("html").get_attribute("lang") == "el"
    scan(page, "verify")
    # The first Tab reaches the skip link, which moves past the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.get_by_label("Αρχείο PDF του πιστοποιητικού").set_input_files(
        {"name": "certificate.pdf", "mimeType": "application/pdf", "buffer": issued.pdf}
    )
    page.get_by_role("button", name="Έλεγχος αρχείου").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Έγκυρο"
    assert code in page.locator("main").inner_text()
    scan(page, "verdict-upload")

    page.get_by_role("link", name="Έλεγχος άλλου εγγράφου").click()
    page.get_by_label("Κωδικός επαλήθευσης").fill(code)
    page.get_by_role("button", name="Έλεγχος κωδικού").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Έγκυρο"
    scan(page, "verdict-code")

    # A typo is not a valid certificate; and the same page reads in English.
    page.goto(f"{hub.url}/verify?code=NOPE-1234")
    assert page.get_by_role("heading", level=1).inner_text() == "Άγνωστο"
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Unknown"
    scan(page, "verdict-unknown-en")


def test_request_and_download_a_certificate(page: Any, hub: Hub, scan: Scanner) -> None:
    citizen = hub.demo()
    _sign_in_as(page, hub, citizen, scan)
    scan(page, "me")
    page.get_by_role("link", name="Πιστοποιητικά").click()
    page.get_by_label("Είδος πιστοποιητικού").select_option("birth-certificate")
    page.get_by_role("button", name="Έκδοση").click()
    notice = page.get_by_role("status")
    assert "Το πιστοποιητικό εκδόθηκε" in notice.inner_text()
    scan(page, "certificates")

    with page.expect_download() as download:
        notice.get_by_role("link", name="Λήψη PDF").click()
    saved = download.value.path()
    assert saved is not None
    with open(saved, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.value.suggested_filename.startswith("certificate-")


def test_approve_and_then_revoke_a_consent(page: Any, hub: Hub, scan: Scanner) -> None:
    citizen = hub.demo("owns_property")
    bank = agency_token(hub.url, hub.settings.keys_dir, "bank-demo")
    opened = requests.post(
        f"{hub.url}/v1/consent-requests",
        json={
            "citizen": {"afm": citizen["afm"]},
            "purpose": "mortgage-application",
            "evidence_types": ["property-ownership"],
            "official": "loan-officer-3",
        },
        headers={"Authorization": f"Bearer {bank}"},
        timeout=30,
    )
    assert opened.status_code == 201, opened.text

    _sign_in_as(page, hub, citizen, scan)
    page.get_by_role("link", name="Αιτήματα συγκατάθεσης").click()
    scan(page, "requests")
    page.get_by_role("link", name=re.compile("Προβολή και απάντηση")).click()
    assert "Αριθμός ακινήτων" in page.locator("main").inner_text()
    scan(page, "request-preview")
    page.get_by_label("Έγκριση έως μια ημερομηνία").check()
    # Typed as a Greek reader writes a date; a date picker would follow the browser's locale.
    until = (dt.date.today() + dt.timedelta(days=60)).strftime("%d/%m/%Y")
    page.get_by_label("Ημερομηνία λήξης").fill(until)
    page.get_by_role("button", name="Υποβολή απάντησης").click()
    assert "Δώσατε τη συγκατάθεσή σας" in page.get_by_role("status").inner_text()
    assert "Ενεργή" in page.locator("main").inner_text()
    scan(page, "consent-granted")

    with page.expect_download() as receipt:
        page.get_by_role("link", name=re.compile("Λήψη αποδεικτικού")).click()
    assert receipt.value.suggested_filename.startswith("consent-receipt-")

    page.get_by_role("button", name=re.compile("Ανάκληση")).click()
    assert "Η συγκατάθεση ανακλήθηκε" in page.get_by_role("status").inner_text()
    assert "Ανακλήθηκε" in page.locator("main").inner_text()
    assert page.get_by_role("button", name=re.compile("Ανάκληση")).count() == 0
    scan(page, "consent-revoked")


def test_find_an_access_in_the_history(page: Any, hub: Hub, scan: Scanner) -> None:
    citizen = hub.demo()
    municipality = agency_token(hub.url, hub.settings.keys_dir, "municipality-athens")
    released = post_evidence(
        hub.url,
        municipality,
        {
            "citizen": {"afm": citizen["afm"]},
            "evidence_type": "birth-certificate",
            "purpose": "youth-card",
            "official": "clerk-42",
            "case_reference": "YC-2026-9",
        },
    )
    assert released.status_code == 200, released.text

    _sign_in_as(page, hub, citizen, scan)
    page.get_by_role("link", name="Ιστορικό πρόσβασης").click()
    row = page.get_by_role("row").filter(has_text="Δήμος Αθηναίων")
    assert row.count() == 1
    text = row.inner_text()
    assert "clerk-42" in text
    assert "Επιτράπηκε" in text
    # Athens time, with the zone named; the legal basis by its words, not its code.
    assert "ώρα Ελλάδας" in text
    assert "Δημοτική απόφαση 123/2024" in text
    scan(page, "history")


def test_an_auditor_finds_an_entry(page: Any, hub: Hub, scan: Scanner) -> None:
    citizen = hub.demo()
    municipality = agency_token(hub.url, hub.settings.keys_dir, "municipality-athens")
    body = {
        "citizen": {"afm": citizen["afm"]},
        "evidence_type": "birth-certificate",
        "purpose": "youth-card",
        "official": "clerk-7",
        "case_reference": "YC-2026-10",
    }
    assert post_evidence(hub.url, municipality, body).status_code == 200

    page.goto(f"{hub.url}/audit")
    assert "/signin" in page.url
    page.get_by_label("Όνομα ελεγκτή").fill("Ελεγκτής Προστασίας Δεδομένων")
    page.get_by_role("button", name="Σύνδεση ως ελεγκτής").click()
    page.wait_for_url(f"{hub.url}/audit")
    scan(page, "audit")
    page.get_by_label("Πολίτης (ΑΦΜ ή ΑΜΚΑ)").fill(citizen["afm"])
    page.get_by_label("Φορέας").select_option("municipality-athens")
    page.get_by_role("button", name="Αναζήτηση").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    scan(page, "audit-results")
    rows.first.get_by_role("link").click()
    assert "clerk-7" in page.locator("main").inner_text()
    if page.get_by_role("button", name="Υπογραφή σημείου ελέγχου τώρα").count():
        page.get_by_role("button", name="Υπογραφή σημείου ελέγχου τώρα").click()
    assert "Επαληθεύτηκε" in page.get_by_role("status").inner_text()
    scan(page, "audit-entry")
    page.get_by_role("link", name="Αναζήτηση στο αρχείο πρόσβασης").first.click()
    page.get_by_role("link", name="Ιστορικό σημείων ελέγχου").click()
    scan(page, "checkpoints")
