"""Every page a person reaches speaks Greek: no codes, no JSON, no English.

A full tour first fills the hub with every kind of thing a page can show
(an agency's granted and refused requests, a consent asked, previewed,
granted, used and revoked, another refused, a certificate issued, checked
and tampered with, an auditor's search), against a real running hub and
its sandbox registries. Then each person's browser walks every link it can
reach, in Greek, and each page is read as a person reads it: its text,
without markup. A page fails on any identifier of the catalogue (an
agency's, a purpose's, a field's, an action's...), on anything that looks
like JSON, and on any run of three or more Latin-alphabet words that are not
a proper name or an abbreviation people use as is (PDF, QR, AFM...).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from hub.config import Settings
from hub.domain.sealing.pki import DEV_ORGANISATION
from hub.web.signin import demo_citizens
from tests.common.browser import Browser
from tests.common.clients import agency_token, post_evidence

CATALOG = Path(__file__).resolve().parents[3] / "specs" / "catalog"

#: Words people read as they are, in any language: abbreviations and formats.
ALLOWED = {"PDF", "QR", "JSON", "JWS", "API", "AFM", "AMKA", "KAEK", "UTC", "URL", "HTTP"}
#: Proper names that are Latin by nature: the sealing organisation's name.
PROPER_NAMES = (DEV_ORGANISATION.name,)

_LATIN_WORD = re.compile(r"^[(\[«\"']?[A-Za-z][A-Za-z'’-]*[)\]»\"',.;:!?]*$")
_JSON = re.compile(r"""[{\[]\s*"|"\s*:\s*["{\[\d]""")


class _Reader(HTMLParser):
    """A page's text as a person reads it, and the links they can follow."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.prose: list[str] = []
        self.links: list[str] = []
        self._code = 0
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self._hidden += 1
        if tag == "code":
            self._code += 1
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._hidden -= 1
        if tag == "code":
            self._code -= 1
        # Block ends separate words, as a browser's layout does.
        self.text.append("\n")
        self.prose.append("\n")

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.text.append(data)
        # Codes set in monospace (hashes, key ids, the seal's subject) are
        # references, not sentences; they are still checked for ids and JSON.
        self.prose.append(" " if self._code else data)


def _catalogue_ids() -> set[str]:
    """Every identifier the catalogue defines, as a page could leak it."""
    ids: set[str] = set()
    for name in ("agencies", "purposes", "registries"):
        ids.update(yaml.safe_load((CATALOG / f"{name}.yaml").read_text())[name])
    for section in yaml.safe_load((CATALOG / "vocabulary.yaml").read_text()).values():
        ids.update(section)
    for path in (CATALOG / "evidence").glob("*.yaml"):
        ids.add(path.stem)
        doc = yaml.safe_load(path.read_text())
        for codes in (doc.get("values") or {}).values():
            ids.update(codes)
        ids.update(_properties(json.loads(path.with_name(f"{path.stem}.schema.json").read_text())))
    ids.discard("_other")
    # One- and two-letter codes (M, F, v) are too short to find in text; the
    # words for them are checked where they are shown.
    return {i for i in ids if len(i) >= 3}


def _properties(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        properties = schema.get("properties", {})
        found.update(properties)
        children = [*properties.values(), schema.get("items"), *schema.get("$defs", {}).values()]
        for child in children:
            found |= _properties(child)
    return found


def _english_runs(prose: str) -> list[str]:
    for name in PROPER_NAMES:
        prose = prose.replace(name, " ")
    runs: list[str] = []
    for line in prose.splitlines():
        run: list[str] = []
        for token in [*line.split(), ""]:
            word = token.strip("()[]«»\"',.;:!?")
            if token and _LATIN_WORD.match(token) and word not in ALLOWED:
                run.append(token)
                continue
            if len(run) >= 3:
                runs.append(" ".join(run))
            run = []
    return runs


def problems_of(html: str, ids: set[str], *, greek: bool) -> list[str]:
    reader = _Reader()
    reader.feed(html)
    text = " ".join(reader.text)
    found = [
        f"catalogue id {i!r}"
        for i in ids
        if re.search(rf"(?<![\w.-]){re.escape(i)}(?![\w-])", text)
    ]
    if _JSON.search(text):
        found.append(f"JSON: {_JSON.search(text)!r}")
    if greek:
        found += [f"English: {run!r}" for run in _english_runs("".join(reader.prose))]
    return found


def _links(html: str) -> list[str]:
    reader = _Reader()
    reader.feed(html)
    return reader.links


_SKIP = ("lang=", "/pdf", "/receipt", "/static/", "/v1/", "/ui", "/metrics", "/health", "/.well")


def crawl(browser: Browser, seeds: list[str], limit: int = 120) -> dict[str, str]:
    """Every same-site page reachable from ``seeds`` by GET, as path -> HTML."""
    pages: dict[str, str] = {}
    queue = list(seeds)
    while queue and len(pages) < limit:
        path = queue.pop(0)
        if path in pages or not path.startswith("/") or any(s in path for s in _SKIP):
            continue
        response = browser.get(path)
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            continue
        assert response.status_code < 500, (path, response.status_code)
        pages[path] = response.text
        queue += [link.split("#")[0] for link in _links(response.text)]
    return pages


@pytest.fixture
def web(settings: Settings) -> Iterator[tuple[str, Any, Settings]]:
    from tests.common.server import serve_hub  # noqa: PLC0415

    with serve_hub(settings) as served:
        yield served


def _citizen(settings: Settings) -> dict[str, Any]:
    return next(
        c
        for c in demo_citizens(settings)
        if not c["deceased"] and not c["minor"] and "owns_property" in c["tags"]
    )


def _consent_request(url: str, token: str, afm: str) -> str:
    opened = requests.post(
        f"{url}/v1/consent-requests",
        json={
            "citizen": {"afm": afm},
            "purpose": "mortgage-application",
            "evidence_types": ["property-ownership", "insurance-status"],
            "official": "loan-officer-7",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert opened.status_code == 201, opened.text
    request_id: str = opened.json()["id"]
    return request_id


def test_every_page_of_a_full_tour_speaks_greek(web: tuple[str, Any, Settings]) -> None:
    url, _services, settings = web
    citizen = _citizen(settings)
    afm = citizen["afm"]
    opeka = agency_token(url, settings.keys_dir, "opeka")
    bank = agency_token(url, settings.keys_dir, "bank-demo")
    result_pages: dict[str, str] = {}

    # An agency receives evidence on a legal basis; a bank is refused without consent.
    granted = post_evidence(
        url,
        opeka,
        {
            "citizen": {"afm": afm},
            "evidence_type": "property-ownership",
            "purpose": "social-benefit-eligibility",
            "official": "clerk-3",
            "case_reference": "SB-1",
        },
    )
    assert granted.status_code == 200, granted.text
    mortgage = {
        "citizen": {"afm": afm},
        "evidence_type": "property-ownership",
        "purpose": "mortgage-application",
        "official": "loan-officer-7",
        "case_reference": "MTG-1",
    }
    assert post_evidence(url, bank, mortgage).status_code == 403

    # The citizen previews and grants one consent, refuses another, leaves a third pending.
    holder = Browser(url)
    assert holder.sign_in_citizen(afm).status_code == 303
    first = _consent_request(url, bank, afm)
    preview = holder.get(f"/me/requests/{first}")
    assert preview.status_code == 200
    result_pages["preview"] = preview.text
    until = (dt.date.today() + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    path = f"/me/requests/{first}"
    approved = holder.post(path, {"decision": "until", "until": until}, form_page=path)
    assert approved.status_code == 303, approved.text
    assert post_evidence(url, bank, mortgage).status_code == 200
    second = _consent_request(url, bank, afm)
    path = f"/me/requests/{second}"
    assert holder.post(path, {"decision": "refuse"}, form_page=path).status_code == 303
    _consent_request(url, bank, afm)
    consents = holder.get("/me/consents").text
    consent_id = re.search(r'id="consent-([^"]+)"', consents)
    assert consent_id is not None
    revoked = holder.post(f"/me/consents/{consent_id.group(1)}/revoke", form_page="/me/consents")
    assert revoked.status_code == 303

    # A certificate is issued; a stranger checks it, a tampered copy and a wrong code.
    issued = holder.post(
        "/me/certificates", {"type": "property-ownership"}, form_page="/me/certificates"
    )
    assert issued.status_code == 303, issued.text
    code = re.search(r"issued=([A-Za-z0-9-]+)", issued.headers["Location"])
    assert code is not None
    pdf = holder.get(f"/me/certificates/{code.group(1)}/pdf").content
    stranger = Browser(url)
    for name, document in {"valid": pdf, "tampered": _tampered(pdf), "junk": b"%PDF-1.7 x"}.items():
        checked = stranger.post(
            "/verify", files={"document": ("c.pdf", document, "application/pdf")}
        )
        assert checked.status_code == 200, checked.text
        result_pages[f"verify {name}"] = checked.text
    assert "verdict-valid" in result_pages["verify valid"]
    assert "verdict-valid" not in result_pages["verify tampered"]
    result_pages["verify code"] = stranger.get("/verify", code=code.group(1)).text
    result_pages["verify unknown"] = stranger.get("/verify", code="NOPE-0000-0000").text
    result_pages["not found"] = stranger.get("/me/requests/nope").text
    result_pages["bad form"] = stranger.get("/verify", code=" ").text

    # An auditor searches the log and reads the entries.
    auditor = Browser(url)
    assert auditor.sign_in_auditor("Ελεγκτής Α").status_code == 303
    signed = auditor.post("/audit/checkpoints", {}, form_page="/audit/checkpoints")
    assert signed.status_code == 303
    since = dt.date.today().strftime("%d/%m/%Y")
    searched = auditor.get("/audit", citizen=afm, since=since)
    assert searched.status_code == 200
    assert "/audit/entries/" in searched.text
    result_pages["bad search"] = auditor.get("/audit", citizen="12", since="2026-13-45").text

    pages = {
        **{f"anyone {p}": h for p, h in crawl(Browser(url), ["/verify", "/signin"]).items()},
        **{f"citizen {p}": h for p, h in crawl(holder, ["/me", "/me/requests"]).items()},
        **{
            f"auditor {p}": h
            for p, h in crawl(
                auditor, ["/audit", f"/audit?citizen={afm}", "/audit/checkpoints"]
            ).items()
        },
        **result_pages,
    }
    # The tour reached every kind of page.
    assert any("/audit/entries/" in p for p in pages), sorted(pages)
    assert any("/me/history" in p for p in pages), sorted(pages)
    ids = _catalogue_ids()
    assert {"opeka", "evidence.request", "consent-required", "properties"} <= ids
    failures = {
        p: found for p, html in pages.items() if (found := problems_of(html, ids, greek=True))
    }
    assert failures == {}
    # Words that used to leak are now words.
    rights = ("Πλήρης κυριότητα", "Ψιλή κυριότητα", "Επικαρπία")
    assert any(right in result_pages["preview"] for right in rights)
    assert "ώρα Ελλάδας" in pages["citizen /me/history"]

    # In English the same pages use English words, and still no codes or JSON.
    assert holder.get("/me", lang="en").status_code == 200
    assert auditor.get("/audit", lang="en").status_code == 200
    english = {
        **crawl(holder, ["/me", "/me/requests"]),
        **crawl(auditor, ["/audit", f"/audit?citizen={afm}", "/audit/checkpoints"]),
    }
    assert all('<html lang="en">' in html for html in english.values())
    # Plain English words (time, consent, agency) are ids too; English pages are
    # checked for the ids no English sentence contains: compound codes, agencies.
    coded = {i for i in ids if re.search(r"[-._]", i)} | {"opeka"}
    failures = {
        p: found for p, html in english.items() if (found := problems_of(html, coded, greek=False))
    }
    assert failures == {}
    assert "Athens time" in english["/me/history"]
    assert "A mortgage application" in english["/me/history"]
    stranger.get("/verify", lang="en")
    tampered = stranger.post(
        "/verify", files={"document": ("c.pdf", _tampered(pdf), "application/pdf")}
    ).text
    assert "The document was altered after it was sealed." in tampered
    assert not problems_of(tampered, coded, greek=False)
    assert "Το έγγραφο αλλοιώθηκε μετά τη σφράγισή του." in result_pages["verify tampered"]


def _tampered(pdf: bytes) -> bytes:
    """The PDF with one byte of its text changed, as a forger would."""
    altered = bytearray(pdf)
    where = pdf.index(b"/Contents") + 40
    altered[where] = ord("0") if altered[where] != ord("0") else ord("1")
    return bytes(altered)


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ("<p>Ο φορέας opeka ζήτησε</p>", "catalogue id 'opeka'"),
        ("<td>evidence.request</td>", "catalogue id 'evidence.request'"),
        ('<code>{"a": 1}</code>', "JSON"),
        ("<p>the document was altered after sealing</p>", "English"),
    ],
)
def test_the_reader_finds_what_it_looks_for(html: str, problem: str) -> None:
    ids = {"opeka", "evidence.request"}
    found = problems_of(f"<main>{html}</main>", ids, greek=True)
    assert any(f.startswith(problem) for f in found), found


def test_the_reader_lets_greek_and_references_pass() -> None:
    html = (
        "<main><p>Λήψη PDF · ΑΦΜ 123456789 · <code>TOTAL-FAILED / HASH_FAILURE · B-B</code></p>"
        '<a href="/verify?lang=en">English</a><p>Έγγραφο JSON ή JWS</p>'
        f"<p>{DEV_ORGANISATION.name} (VATGR-1)</p></main>"
    )
    assert problems_of(html, {"opeka"}, greek=True) == []
