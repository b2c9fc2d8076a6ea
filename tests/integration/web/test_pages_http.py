"""The people's pages over real HTTP: a browser without JavaScript, real services.

Each journey is what a person does with the forms: sign in, issue and
download a certificate, have it checked by a stranger, answer an agency's
consent request and revoke it, read the history, search the log as an
auditor. Around them: every form needs its CSRF token, bad input gets a
page (never a traceback), and personal identifiers stay out of the logs.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from hub.config import Settings
from hub.domain.sealing.jws import verify_jws
from hub.web.signin import demo_citizens
from tests.common.browser import Browser
from tests.common.clients import agency_token, post_evidence

PURPOSE = "mortgage-application"


@dataclass
class Web:
    url: str
    services: Any
    settings: Settings

    def browser(self) -> Browser:
        return Browser(self.url)


@pytest.fixture
def web(settings: Settings) -> Iterator[Web]:
    from tests.common.server import serve_hub  # noqa: PLC0415

    with serve_hub(settings) as (url, services, served):
        yield Web(url, services, served)


def _demo(settings: Settings, *tags: str) -> dict[str, Any]:
    """A living demo citizen of the sign-in page with all of ``tags``."""
    return next(
        c
        for c in demo_citizens(settings)
        if not c["deceased"] and not c["minor"] and all(t in c["tags"] for t in tags)
    )


def _is_page(response: requests.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("text/html"), response.headers
    assert "Traceback" not in response.text
    return response.text


def _issued_code(response: requests.Response) -> str:
    found = re.search(r"issued=([A-Za-z0-9-]+)", response.headers["Location"])
    assert found is not None, response.headers["Location"]
    return found.group(1)


# -- the frame --------------------------------------------------------------------


def test_pages_speak_greek_first_and_remember_english(web: Web) -> None:
    browser = web.browser()
    html = _is_page(browser.get("/verify"), 200)
    assert '<html lang="el">' in html
    assert "Επαλήθευση εγγράφου" in html

    english = browser.get("/verify", lang="en")
    assert '<html lang="en">' in _is_page(english, 200)
    assert "Verify a document" in english.text
    assert browser.session.cookies.get("hub_lang") == "en"
    # The choice is remembered, and can be switched back.
    assert '<html lang="en">' in browser.get("/verify").text
    assert '<html lang="el">' in browser.get("/verify", lang="el").text
    assert '<html lang="el">' in browser.get("/verify").text


def test_pages_send_security_headers_and_safe_cookies(web: Web) -> None:
    browser = web.browser()
    response = browser.get("/verify")
    headers = response.headers
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    csrf_cookie = headers["Set-Cookie"].lower()
    assert "hub_csrf=" in csrf_cookie
    assert "httponly" in csrf_cookie
    assert "samesite=lax" in csrf_cookie

    citizen = _demo(web.settings)
    signed_in = browser.sign_in_citizen(citizen["afm"])
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/me"
    session_cookie = signed_in.headers["Set-Cookie"].lower()
    assert "hub_session=" in session_cookie
    assert "httponly" in session_cookie
    assert "samesite=lax" in session_cookie
    home = _is_page(browser.get("/me"), 200)
    assert citizen["name"] in home

    assert browser.get("/static/hub.css").headers["Content-Type"].startswith("text/css")
    # Metrics count pages by their section, never by a path that may carry a code.
    metrics = requests.get(f"{web.url}/metrics", timeout=10).text
    assert 'route="page:/verify"' in metrics
    assert 'route="page:/me"' in metrics


def test_every_form_needs_this_browsers_token(web: Web) -> None:
    browser, stranger = web.browser(), web.browser()
    citizen = _demo(web.settings)
    pdf = {"document": ("c.pdf", b"%PDF-1.7\n", "application/pdf")}

    _is_page(browser.post("/verify", files=pdf, form_page=None), 403)
    _is_page(browser.post("/verify", {"csrf_token": "nonsense"}, files=pdf), 403)
    # A token is good only with the cookies of the browser it was made for.
    foreign = stranger.csrf("/verify")
    browser.get("/verify")
    _is_page(browser.post("/verify", {"csrf_token": foreign}, files=pdf), 403)
    _is_page(
        browser.post("/signin", {"role": "citizen", "citizen": citizen["afm"]}, form_page=None),
        403,
    )
    assert "hub_session" not in browser.session.cookies

    assert browser.sign_in_citizen(citizen["afm"]).status_code == 303
    old_token = browser.csrf("/me")
    _is_page(browser.post("/me/certificates", {"type": "birth-certificate"}, form_page=None), 403)
    _is_page(browser.post("/signout", form_page=None), 403)
    # Signing out changes the token: a form from before no longer works.
    assert browser.post("/signout", form_page="/me").headers["Location"] == "/verify"
    assert "hub_session" not in browser.session.cookies
    assert browser.get("/me").status_code == 303
    _is_page(browser.post("/verify", {"csrf_token": old_token}, files=pdf), 403)


def test_pages_need_the_right_person(web: Web) -> None:
    browser = web.browser()
    to_signin = browser.get("/me/certificates")
    assert to_signin.status_code == 303
    assert to_signin.headers["Location"].startswith("/signin?")
    assert "next=%2Fme%2Fcertificates" in to_signin.headers["Location"]
    assert "role=citizen" in to_signin.headers["Location"]
    assert "role=auditor" in browser.get("/audit").headers["Location"]

    # Signing in goes back where the person was heading, and only to our pages.
    citizen = _demo(web.settings)
    back = browser.post(
        "/signin",
        {"role": "citizen", "citizen": citizen["afm"], "next": "/me/history"},
        form_page="/signin",
    )
    assert back.headers["Location"] == "/me/history"
    away = browser.post(
        "/signin",
        {"role": "citizen", "citizen": citizen["afm"], "next": "//evil.example/me"},
        form_page="/signin",
    )
    assert away.headers["Location"] == "/me"
    # A citizen is not an auditor.
    assert "role=auditor" in browser.get("/audit").headers["Location"]

    # A forged session cookie is no session.
    forged = web.browser()
    forged.session.cookies.set("hub_session", "c.eyJhbGciOiJub25lIn0.e30.")
    assert forged.get("/me").status_code == 303

    # Only demo citizens can be picked; nobody else's AFM.
    _is_page(
        web.browser().post(
            "/signin", {"role": "citizen", "citizen": "123456789"}, form_page="/signin"
        ),
        422,
    )
    _is_page(
        web.browser().post("/signin", {"role": "auditor", "auditor": "  "}, form_page="/signin"),
        422,
    )


# -- the journeys -----------------------------------------------------------------------


def test_a_citizen_downloads_a_certificate_and_a_stranger_verifies_it(web: Web) -> None:
    citizen = _demo(web.settings)
    browser = web.browser()
    assert browser.sign_in_citizen(citizen["afm"]).status_code == 303
    listing = _is_page(browser.get("/me/certificates"), 200)
    assert 'value="birth-certificate"' in listing

    issued = browser.post(
        "/me/certificates", {"type": "birth-certificate"}, form_page="/me/certificates"
    )
    assert issued.status_code == 303, issued.text
    code = _issued_code(issued)
    shown = _is_page(browser.follow(issued), 200)
    assert code in shown
    assert f"/me/certificates/{code}/pdf" in shown

    download = browser.get(f"/me/certificates/{code}/pdf")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    pdf = download.content
    assert pdf.startswith(b"%PDF")
    # Another citizen cannot download it.
    someone = next(c for c in demo_citizens(web.settings) if c["afm"] != citizen["afm"])
    other = web.browser()
    assert other.sign_in_citizen(someone["afm"]).status_code == 303
    _is_page(other.get(f"/me/certificates/{code}/pdf"), 404)

    # A stranger, signed in as nobody, checks the file...
    stranger = web.browser()
    verdict = _is_page(
        stranger.post("/verify", files={"document": ("c.pdf", pdf, "application/pdf")}), 200
    )
    assert "verdict-valid" in verdict
    assert "Έγκυρο" in verdict
    assert code in verdict
    # The sealer by organisation and identifier; the full subject only in the details.
    facts = verdict.split('<details class="technical">')[0]
    assert "(VATGR-" in facts
    assert "CN=" not in facts
    assert "CN=" in verdict
    # ...and the code printed on it.
    by_code = _is_page(stranger.get("/verify", code=code), 200)
    assert "verdict-valid" in by_code
    # The link printed under the QR code leads to the same verdict.
    printed = _is_page(stranger.get(f"/verify/{code}"), 200)
    assert "verdict-valid" in printed
    # The holder is named only as masked as the certificate record keeps it.
    assert "Κάτοχος" in by_code
    assert citizen["name"] not in by_code

    # An altered file and an unknown code are told apart from a valid one.
    tampered = bytearray(pdf)
    where = pdf.index(b"/Contents") + 40
    tampered[where] = ord("0") if tampered[where] != ord("0") else ord("1")
    altered = _is_page(
        stranger.post("/verify", files={"document": ("c.pdf", bytes(tampered), "application/pdf")}),
        200,
    )
    assert "verdict-valid" not in altered
    assert "verdict-invalid" in altered or "verdict-indeterminate" in altered
    unknown = _is_page(stranger.get("/verify", code="NOPE-0000-0000"), 200)
    assert "verdict-unknown" in unknown

    # The holder sees that their certificate was checked.
    checks = _is_page(browser.get("/me/checks"), 200)
    assert checks.count("<tr>") >= 3  # the header and at least two checks


def test_a_citizen_approves_and_then_revokes_a_consent(web: Web) -> None:
    citizen = _demo(web.settings, "owns_property")
    bank = agency_token(web.url, web.settings.keys_dir, "bank-demo")
    opened = requests.post(
        f"{web.url}/v1/consent-requests",
        json={
            "citizen": {"afm": citizen["afm"]},
            "purpose": PURPOSE,
            "evidence_types": ["property-ownership"],
            "official": "loan-officer-7",
        },
        headers={"Authorization": f"Bearer {bank}"},
        timeout=30,
    )
    assert opened.status_code == 201, opened.text
    request_id = opened.json()["id"]

    browser = web.browser()
    assert browser.sign_in_citizen(citizen["afm"]).status_code == 303
    assert "count" in _is_page(browser.get("/me"), 200)
    pending = _is_page(browser.get("/me/requests"), 200)
    assert f"/me/requests/{request_id}" in pending
    preview = _is_page(browser.get(f"/me/requests/{request_id}"), 200)
    assert "Αριθμός ακινήτων" in preview
    assert "loan-officer-7" in preview

    # A bad answer is explained on the page and changes nothing.
    path = f"/me/requests/{request_id}"
    _is_page(browser.post(path, {"decision": "maybe"}, form_page=path), 422)
    _is_page(browser.post(path, {"decision": "until", "until": "yesterday"}, form_page=path), 422)
    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    _is_page(browser.post(path, {"decision": "until", "until": past}, form_page=path), 422)

    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    approved = browser.post(path, {"decision": "until", "until": until}, form_page=path)
    assert approved.status_code == 303, approved.text
    consents = _is_page(browser.follow(approved), 200)
    assert "tag-active" in consents
    consent_id = re.search(r'id="consent-([^"]+)"', consents)
    assert consent_id is not None
    consent = consent_id.group(1)

    evidence = {
        "citizen": {"afm": citizen["afm"]},
        "evidence_type": "property-ownership",
        "purpose": PURPOSE,
        "official": "loan-officer-7",
        "case_reference": "MTG-WEB-1",
    }
    assert post_evidence(web.url, bank, evidence).status_code == 200

    receipt = browser.get(f"/me/consents/{consent}/receipt")
    assert receipt.status_code == 200
    assert "attachment" in receipt.headers["Content-Disposition"]
    report = verify_jws(receipt.json()["jws"], web.services.keystore.trust())
    assert report.valid, report.reasons

    revoked = browser.post(f"/me/consents/{consent}/revoke", form_page="/me/consents")
    assert revoked.status_code == 303
    after = _is_page(browser.follow(revoked), 200)
    assert "tag-revoked" in after
    assert "tag-active" not in after
    assert post_evidence(web.url, bank, evidence).status_code == 403

    # The history names the bank, the release and the refusal that followed.
    history = _is_page(browser.get("/me/history"), 200)
    assert "Δοκιμαστική Τράπεζα" in history
    assert "loan-officer-7" in history
    assert "tag-denied" in history
    assert "tag-granted" in history


def test_an_auditor_finds_an_entry_and_checks_its_proof(web: Web) -> None:
    citizen = _demo(web.settings)
    holder = web.browser()
    assert holder.sign_in_citizen(citizen["afm"]).status_code == 303
    issued = holder.post(
        "/me/certificates", {"type": "birth-certificate"}, form_page="/me/certificates"
    )
    assert issued.status_code == 303

    auditor = web.browser()
    assert auditor.sign_in_auditor("Ελεγκτής Α").status_code == 303
    _is_page(auditor.get("/audit"), 200)
    found = _is_page(auditor.get("/audit", citizen=citizen["afm"], action="certificate.issue"), 200)
    entry = re.search(r'href="/audit/entries/(\d+)"', found)
    assert entry is not None, found
    index = entry.group(1)
    # Filters narrow the search: nobody else's entries, no other action.
    none = _is_page(auditor.get("/audit", citizen=citizen["afm"], action="consent.grant"), 200)
    assert "/audit/entries/" not in none

    detail = _is_page(auditor.get(f"/audit/entries/{index}"), 200)
    assert "Έκδοση πιστοποιητικού" in detail
    if "verdict-valid" not in detail:
        # The entry is newer than the last checkpoint: sign one, as the page offers.
        signed = auditor.post(
            "/audit/checkpoints", {"back": index}, form_page=f"/audit/entries/{index}"
        )
        assert signed.headers["Location"] == f"/audit/entries/{index}"
        detail = _is_page(auditor.follow(signed), 200)
    assert "verdict-valid" in detail
    history = _is_page(auditor.get("/audit/checkpoints"), 200)
    assert '<code class="hash">' in history

    # Bad filters are explained; an impossible entry is a 404 page.
    bad = _is_page(auditor.get("/audit", citizen="12", since="31/12/2026"), 422)
    assert "error-summary" in bad
    _is_page(auditor.get("/audit", since="2026-05-02", until="2026-05-01"), 422)
    _is_page(auditor.get("/audit/entries/abc"), 404)
    _is_page(auditor.get("/audit/entries/99999999"), 404)


# -- bad input --------------------------------------------------------------------------------


def test_bad_input_gets_a_page_never_a_crash(web: Web) -> None:
    browser = web.browser()
    token = browser.csrf("/verify")
    url = web.url + "/verify"

    too_big = browser.session.post(
        url,
        data=b"x" * (web.settings.max_body_bytes + 10),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert "Το αρχείο είναι πολύ μεγάλο" in _is_page(too_big, 413)

    broken = browser.session.post(
        url,
        data=b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--c',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
        timeout=30,
    )
    assert broken.status_code in (400, 403)
    _is_page(broken, broken.status_code)
    _is_page(
        browser.session.post(
            url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=30
        ),
        400,
    )
    # No file, an empty file, a file that is not a PDF.
    _is_page(browser.session.post(url, data={"csrf_token": token}, timeout=30), 422)
    _is_page(
        browser.session.post(
            url, data={"csrf_token": token}, files={"document": ("a.pdf", b"", "application/pdf")}
        ),
        422,
    )
    junk = _is_page(
        browser.session.post(
            url,
            data={"csrf_token": token},
            files={"document": ("a.pdf", b"%PDF-1.7 not really", "application/pdf")},
            timeout=30,
        ),
        200,
    )
    assert "verdict-valid" not in junk
    _is_page(browser.get("/verify", code="   "), 422)
    _is_page(browser.get("/verify", code="x" * 5000), 200)
    _is_page(browser.get("/me/certificates/a/b/c"), 404)
    assert '<html lang="el">' in _is_page(browser.get("/verify", lang="fr"), 200)
    _is_page(browser.session.put(url, timeout=30), 405)
    # The API keeps answering problem documents.
    api = browser.get("/v1/nothing-here")
    assert api.headers["Content-Type"].startswith("application/problem+json")

    citizen = _demo(web.settings)
    assert browser.sign_in_citizen(citizen["afm"]).status_code == 303
    _is_page(browser.get("/me/certificates/NOPE/pdf"), 404)
    _is_page(browser.get("/me/requests/nope"), 404)
    _is_page(browser.get("/me/consents/nope/receipt"), 404)
    _is_page(browser.post("/me/consents/nope/revoke", form_page="/me/consents"), 404)
    _is_page(
        browser.post("/me/certificates", {"type": "no-such-type"}, form_page="/me/certificates"),
        422,
    )
    _is_page(browser.get("/me/history", cursor="not-a-cursor"), 400)


def test_personal_identifiers_stay_out_of_the_logs(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    citizen = _demo(web.settings)
    browser = web.browser()
    assert browser.sign_in_citizen(citizen["afm"]).status_code == 303
    issued = browser.post(
        "/me/certificates", {"type": "birth-certificate"}, form_page="/me/certificates"
    )
    code = _issued_code(issued)
    browser.get(f"/me/certificates/{code}/pdf")
    browser.get("/me/history")
    browser.get("/verify", code=code)
    auditor = web.browser()
    auditor.sign_in_auditor("auditor-1")
    auditor.get("/audit", citizen=citizen["afm"])
    auditor.get(f"/audit/entries/{'0'}")

    # urllib3, zeep and requests are held at WARNING by the hub's logging set-up.
    quiet = ("urllib3", "zeep", "requests")
    lines = [repr(vars(r)) + r.getMessage() for r in caplog.records if not r.name.startswith(quiet)]
    assert lines, "the pages logged nothing at all"
    for identifier in (citizen["afm"], citizen["amka"], citizen["name"]):
        assert not [line for line in lines if identifier in line], identifier


def test_a_failure_inside_a_page_is_a_page_with_a_reference(
    web: Web, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("afm 123456782 leaked into a message")

    monkeypatch.setattr(web.services.certificates, "verify_code", broken)
    caplog.set_level(logging.INFO, logger="hub")
    failed = web.browser().get("/verify", code="ABCD-EFGH")
    html = _is_page(failed, 500)
    assert "Κάτι πήγε στραβά" in html
    assert "RuntimeError" not in html
    assert "123456782" not in html
    assert failed.headers["X-Request-ID"] in html
    # The log names the error's class, never its message.
    assert any(getattr(r, "error", None) == "RuntimeError" for r in caplog.records)
    assert not [r for r in caplog.records if "123456782" in repr(vars(r)) + r.getMessage()]


def test_a_sealed_answer_saved_as_json_verifies_on_the_page(web: Web) -> None:
    citizen = _demo(web.settings)
    municipality = agency_token(web.url, web.settings.keys_dir, "municipality-athens")
    answer = post_evidence(
        web.url,
        municipality,
        {
            "citizen": {"afm": citizen["afm"]},
            "evidence_type": "birth-certificate",
            "purpose": "youth-card",
            "official": "clerk-1",
            "case_reference": "YC-1",
        },
    )
    assert answer.status_code == 200, answer.text
    seal = answer.json()["seal"]
    browser = web.browser()
    saved = _is_page(
        browser.post("/verify", files={"document": ("answer.json", answer.content, "")}), 200
    )
    assert "verdict-valid" in saved
    bare = _is_page(
        browser.post("/verify", files={"document": ("a.jws", seal.encode(), "text/plain")}), 200
    )
    assert "verdict-valid" in bare
    head, payload, signature = seal.split(".")
    forged = f"{head}.{payload[:-2]}AA.{signature}".encode()
    altered = _is_page(
        browser.post("/verify", files={"document": ("a.jws", forged, "text/plain")}), 200
    )
    assert "verdict-invalid" in altered
