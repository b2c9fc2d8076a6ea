"""``/me/notifications`` with a browser that has no JavaScript, over real HTTP."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.common.browser import Browser
from tests.integration.notifications.conftest import Hub, Providers

PAGE = "/me/notifications"


def _citizen(citizens: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in citizens if not c["deceased"] and not c["minor"])


def test_a_citizen_confirms_an_email_and_chooses_channels_on_the_page(
    notifying_hub: Hub, providers: Providers, citizens: list[dict[str, Any]]
) -> None:
    alice = _citizen(citizens)
    browser = Browser(notifying_hub.url)
    assert browser.sign_in_citizen(alice["afm"]).status_code == 303
    page = browser.get(PAGE)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "Στοιχεία επικοινωνίας" in page.text
    assert alice["email"] in page.text  # from the (sandbox) national contact registry
    assert "<script" not in page.text

    # Without the form token nothing changes.
    refused = browser.post(
        PAGE + "/contacts", {"kind": "email", "address": "x@example.org"}, form_page=None
    )
    assert refused.status_code == 403
    assert providers.box.count() == 0

    sent = browser.post(
        PAGE + "/contacts", {"kind": "email", "address": "alice@example.org"}, form_page=PAGE
    )
    assert sent.status_code == 303
    assert "done=code_sent" in sent.headers["Location"]
    deadline = time.monotonic() + 10
    while not providers.box.list(to=["alice@example.org"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    (mail,) = providers.box.list(to=["alice@example.org"])
    code = re.search(r"\b(\d{6})\b", mail["text"])
    assert code is not None
    shown = browser.get(PAGE).text
    ident = re.search(r'name="id" value="([0-9a-f]+)"', shown)
    assert ident is not None
    confirmed = browser.post(
        PAGE + "/contacts/confirm", {"id": ident.group(1), "code": code.group(1)}, form_page=PAGE
    )
    assert "done=confirmed" in confirmed.headers["Location"]
    after = browser.get(PAGE).text
    assert "alice@example.org" in after
    assert "επιβεβαιωμένο εδώ" in after

    bad = browser.post(PAGE + "/contacts", {"kind": "mobile", "address": "12345"}, form_page=PAGE)
    assert "error=invalid" in bad.headers["Location"]
    assert "δεν είναι έγκυρος" in browser.follow(bad).text

    chosen = browser.post(
        PAGE + "/preferences",
        {"pref.certificate_checked.email": "immediate", "pref.access.email": "digest"},
        form_page=PAGE,
    )
    assert "done=saved" in chosen.headers["Location"]
    token = notifying_hub.citizen_token(alice)
    prefs = notifying_hub.call("GET", "/v1/me/notification-preferences", token).json()
    assert prefs["preferences"]["certificate_checked"]["email"] == "immediate"
    assert prefs["preferences"]["access"]["email"] == "digest"

    english = browser.get(PAGE, lang="en").text
    assert "Contact details" in english
    assert "Daily digest" in english
