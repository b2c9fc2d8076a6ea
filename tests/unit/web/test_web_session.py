"""Sessions and form tokens: only the hub makes them, and only for one browser."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hub.auth.models import CitizenPrincipal
from hub.auth.service import TokenService
from hub.auth.token_keys import KeyStoreTokenKeys
from hub.domain.sealing import keystore as keystore_files
from hub.web._frame import athens_day
from hub.web._session import CookieNames, CsrfSigner, new_nonce, read_session, session_cookie
from hub.web._words import day, moment, parse_day
from hub.web.app import is_page_path
from hub.web.signin import safe_next


class _NoReplay:
    def remember(self, issuer: str, jti: str, expires_at: object) -> bool:
        return True


@pytest.fixture(scope="module")
def store(keys_dir: Path) -> keystore_files.FileKeyStore:
    return keystore_files.load(keys_dir)


@pytest.fixture(scope="module")
def tokens(store: keystore_files.FileKeyStore) -> TokenService:
    return TokenService(
        issuer="http://hub.test",
        token_endpoint="http://hub.test/oauth2/token",
        agency_keys=lambda _agency: {},
        agency_purposes=lambda _agency: (),
        keys=KeyStoreTokenKeys(store),
        replay=_NoReplay(),
    )


def test_form_tokens_bind_the_nonce_and_the_session(store: keystore_files.FileKeyStore) -> None:
    signer = CsrfSigner(store)
    nonce = new_nonce()
    token = signer.token(nonce, "c.session")
    assert signer.check(token, nonce, "c.session")
    assert not signer.check(token, new_nonce(), "c.session")
    assert not signer.check(token, nonce, None)
    assert not signer.check(token, nonce, "c.other")
    kid, _, signature = token.rpartition(".")
    assert not signer.check(f"{kid}.{signature[:-4]}AAAA", nonce, "c.session")
    assert not signer.check(f"unknown-kid.{signature}", nonce, "c.session")
    for junk in (None, "", "no-dot", "x" * 600, f"{kid}.!!!"):
        assert not signer.check(junk, nonce, "c.session")


def test_sessions_carry_hub_tokens_only(tokens: TokenService) -> None:
    principal = CitizenPrincipal(afm="123456782", amka=None, name="Δοκιμή")
    citizen = tokens.issue_citizen_session(principal).access_token
    # An ID token, even one the development issuer signed, is no session: the
    # pages hold only session tokens the hub minted after a sign-in.
    id_token = tokens.issue_citizen("123456782", None, "Δοκιμή").access_token
    auditor = tokens.issue_auditor("auditor-1").access_token
    as_citizen = read_session(session_cookie("citizen", citizen), tokens)
    assert as_citizen is not None
    assert as_citizen.citizen is not None
    assert as_citizen.citizen.afm == "123456782"
    assert as_citizen.display_name == "Δοκιμή"
    as_auditor = read_session(session_cookie("auditor", auditor), tokens)
    assert as_auditor is not None
    assert as_auditor.auditor is not None
    assert as_auditor.display_name == "auditor-1"
    # A token presented in the other role's cookie, or anything else, is no session.
    for value in (
        None,
        "",
        f"a.{citizen}",
        f"c.{auditor}",
        f"c.{id_token}",
        f"x.{citizen}",
        citizen,
        "c." + "a" * 5000,
        "c.eyJhbGciOiJub25lIn0.e30.",
    ):
        assert read_session(value, tokens) is None


def test_cookies_take_the_host_prefix_over_https() -> None:
    secure = CookieNames.for_url("https://hub.gov.gr")
    assert secure.secure
    assert secure.session == "__Host-hub_session"
    assert secure.csrf == "__Host-hub_csrf"
    plain = CookieNames.for_url("http://127.0.0.1:8000")
    assert not plain.secure
    assert plain.session == "hub_session"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/me/history", "/me/history"),
        ("/audit?citizen=1", "/audit?citizen=1"),
        ("//evil.example/me", "/d"),
        ("https://evil.example/", "/d"),
        ("/me//evil", "/d"),
        ("/metrics", "/d"),
        ("/me\\evil", "/d"),
        ("/v1/evidence", "/d"),
        ("", "/d"),
        (None, "/d"),
    ],
)
def test_only_our_pages_are_a_place_to_return_to(value: str | None, expected: str) -> None:
    assert safe_next(value, "/d") == expected


def test_page_paths() -> None:
    assert is_page_path("/me")
    assert is_page_path("/me/certificates")
    assert is_page_path("/static/hub.css")
    assert not is_page_path("/mexico")
    assert not is_page_path("/v1/me/consents")
    assert is_page_path("/")  # the front door
    assert not is_page_path("/v1")


def test_times_are_shown_in_athens_with_the_zone_named() -> None:
    winter = dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)
    assert moment(winter, "el") == "15/01/2026, 12:00 (ώρα Ελλάδας, UTC+2)"
    assert moment("2026-07-15T10:00:00+00:00", "el") == "15/07/2026, 13:00 (ώρα Ελλάδας, UTC+3)"
    assert moment(winter, "en") == "15 Jan 2026, 12:00 (Athens time, UTC+2)"
    # A moment just before midnight UTC is already the next day in Athens.
    assert day(dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.UTC), "el") == "16/01/2026"
    assert day(dt.date(2026, 2, 1), "el") == "01/02/2026"
    assert day("1985-03-09", "en") == "9 Mar 1985"
    assert moment(None, "el") == "—"
    assert moment("not a time", "el") == "not a time"


def test_typed_days_are_read_as_greek_readers_write_them() -> None:
    start = athens_day("15/07/2026")
    assert start is not None
    assert (start.year, start.month, start.day) == (2026, 7, 15)
    assert start.utcoffset() == dt.timedelta(hours=3)
    assert athens_day("2026-07-15") == start
    assert athens_day("5.7.2026") is not None
    assert parse_day("31/02/2026") is None
    assert parse_day("07/15/2026") is None
    assert parse_day("yesterday") is None
