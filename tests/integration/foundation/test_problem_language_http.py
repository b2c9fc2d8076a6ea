"""Problem documents speak Greek to a client that asks for it, English to the rest.

Real HTTP to a running hub: the same failures (a missing token, a refusal
for want of consent, a malformed body, an oversized one, an unknown path)
asked for with and without ``Accept-Language: el``. The problem ``type`` is
the same in both languages; only title and detail change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests

from hub.api.problems import problem_language
from hub.app import build_services, create_app
from hub.config import Settings
from hub.errors import PROBLEM_BASE
from tests.common.clients import agency_token
from tests.common.server import serve

GREEK = re.compile("[α-ωΑ-Ωά-ώ]")
LATIN_WORDS = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture
def hub(settings: Settings) -> Iterator[tuple[str, Settings]]:
    from tests.common.server import serve_hub  # noqa: PLC0415

    with serve_hub(settings) as (url, _, served):
        yield url, served


def _both(method: str, url: str, **kwargs: Any) -> tuple[requests.Response, requests.Response]:
    headers = kwargs.pop("headers", {})
    english = requests.request(method, url, headers=headers, timeout=30, **kwargs)
    greek = requests.request(
        method, url, headers={**headers, "Accept-Language": "el-GR, el;q=0.9"}, timeout=30, **kwargs
    )
    return english, greek


def _assert_languages(english: requests.Response, greek: requests.Response, slug: str) -> None:
    assert english.status_code == greek.status_code
    assert english.headers["Content-Type"].startswith("application/problem+json")
    en, el = english.json(), greek.json()
    assert en["type"] == el["type"] == PROBLEM_BASE + slug
    assert english.headers["Content-Language"] == "en"
    assert greek.headers["Content-Language"] == "el"
    assert "Accept-Language" in greek.headers["Vary"]
    for member in ("title", "detail"):
        assert not GREEK.search(en[member]), en
        assert GREEK.search(el[member]), el
        # Greek text may name an abbreviation, never an English sentence.
        assert len(LATIN_WORDS.findall(el[member])) <= 1, el


def test_problems_follow_accept_language(hub: tuple[str, Settings]) -> None:
    url, settings = hub
    _assert_languages(*_both("GET", f"{url}/v1/me/consents"), "unauthorized")
    _assert_languages(
        *_both("GET", f"{url}/v1/evidence", headers={"Authorization": "Bearer nonsense"}),
        _slug_of(requests.get(f"{url}/v1/evidence", timeout=30)),
    )
    _assert_languages(*_both("GET", f"{url}/v1/no-such-thing"), "not-found")

    bank = agency_token(url, settings.keys_dir, "bank-demo")
    auth = {"Authorization": f"Bearer {bank}"}
    request = {
        "citizen": {"afm": "090000045"},
        "evidence_type": "property-ownership",
        "purpose": "mortgage-application",
        "official": "loan-officer-7",
        "case_reference": "MTG-EL",
    }
    english, greek = _both("POST", f"{url}/v1/evidence", headers=auth, json=request)
    _assert_languages(english, greek, "consent-required")
    # Extensions (how to ask for consent) are the same in both.
    assert {k for k in english.json() if k not in ("title", "detail", "request_id")} == {
        k for k in greek.json() if k not in ("title", "detail", "request_id")
    }
    english, greek = _both("POST", f"{url}/v1/evidence", headers=auth, json={"citizen": 1})
    _assert_languages(english, greek, "validation-failed")


def _slug_of(response: requests.Response) -> str:
    return str(response.json()["type"]).removeprefix(PROBLEM_BASE)


def test_an_oversized_body_is_refused_in_greek_too(settings: Settings) -> None:
    services = build_services(replace(settings, max_body_bytes=2048))
    with serve(create_app(services=services)) as url:
        english, greek = _both("POST", f"{url}/healthz", data=b"x" * 4096)
    services.close()
    _assert_languages(english, greek, "payload-too-large")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("el", "el"),
        ("el-GR", "el"),
        ("en, el;q=0.5", "en"),
        ("el;q=0.8, en;q=0.9", "en"),
        ("fr, el;q=0.3", "el"),
        ("el;q=0", "en"),
        ("el;q=nonsense", "en"),
        ("*", "en"),
    ],
)
def test_the_language_a_client_prefers(header: str | None, language: str) -> None:
    assert problem_language(header) == language
