"""Pure parts of notifications: addresses, events, templates, backoff, the gateway sender."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
import responses

from adapters.notify_http import JsonGatewaySender
from hub.catalog.files import load_catalog
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.errors import DeliveryError, InvalidContact
from hub.notifications.events import event_for
from hub.notifications.models import DEFAULT_MODES, EVENT_KINDS, Outgoing
from hub.notifications.service import DeliveryPolicy, normalise_email, normalise_mobile
from hub.notifications.templates import render, render_digest
from tests.common.consent import SPECS

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
AFM = "188217980"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Maria@Example.GR", "Maria@example.gr"),
        ("  a.b+c@mail.example.gr ", "a.b+c@mail.example.gr"),
    ],
)
def test_email_addresses_are_normalised(raw: str, normal: str) -> None:
    assert normalise_email(raw) == normal


@pytest.mark.parametrize(
    "raw", ["", "plain", "a@b", "a@@b.gr", "a b@c.gr", "a@b..gr", "x" * 250 + "@b.gr", "<a>@b.gr"]
)
def test_malformed_email_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InvalidContact):
        normalise_email(raw)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("6912345678", "+306912345678"),
        ("+30 691 234 5678", "+306912345678"),
        ("0030-6912345678", "+306912345678"),
        ("+4915112345678", "+4915112345678"),
    ],
)
def test_mobile_numbers_become_e164(raw: str, normal: str) -> None:
    assert normalise_mobile(raw) == normal


@pytest.mark.parametrize(
    "raw", ["", "2101234567", "+302101234567", "69123", "+30691234567890", "abc"]
)
def test_landlines_and_junk_are_not_mobiles(raw: str) -> None:
    with pytest.raises(InvalidContact):
        normalise_mobile(raw)


def _entry(action: str, outcome: str = "granted", **fields: object) -> AccessEntry:
    return AccessEntry(
        time=NOW,
        actor=fields.pop("actor", Actor("agency", "opeka", "m.georgiou")),  # type: ignore[arg-type]
        action=action,
        outcome=outcome,  # type: ignore[arg-type]
        subject=f"afm:{AFM}",
        **fields,  # type: ignore[arg-type]
    )


def _never(purpose: str) -> str | None:
    return None


def test_which_entries_notify() -> None:
    kinds = {
        ("consent.request", "granted"): "consent_requested",
        ("consent.grant", "granted"): "consent_granted",
        ("consent.refuse", "denied"): "consent_refused",
        ("consent.revoke", "granted"): "consent_revoked",
        ("certificate.issue", "granted"): "certificate_issued",
        ("certificate.verify", "granted"): "certificate_checked",
    }
    for (action, outcome), kind in kinds.items():
        event = event_for(_entry(action, outcome, purpose="p"), _never)
        assert event is not None, action
        assert event.kind == kind, action
    # Denials, refusals of someone else's objects and consent-based access tell nobody.
    assert event_for(_entry("evidence.request", "denied", purpose="p"), _never) is None
    assert event_for(_entry("consent.request", "denied", purpose="p"), _never) is None
    assert event_for(_entry("consent.view", "denied", reason="not-owner"), _never) is None
    assert event_for(_entry("evidence.request", purpose="p", legal_basis="consent"), _never) is None
    access = event_for(_entry("evidence.request", purpose="p", legal_basis="Ν. 1/2020"), _never)
    assert access is not None
    assert access.kind == "access"
    assert access.not_before is None


def test_events_keep_codes_only() -> None:
    event = event_for(
        _entry(
            "evidence.request",
            purpose="p",
            legal_basis="law",
            fields=("given_name", "surname"),
            case_reference="A-1",
            response_digest="sha256:00",
        ),
        _never,
    )
    assert event is not None
    assert set(event.data) == {"agency", "purpose", "case_reference"}
    assert AFM not in json.dumps(dict(event.data))


def test_a_hidden_purpose_notifies_only_after_its_date() -> None:
    event = event_for(
        _entry("evidence.request", purpose="fraud", legal_basis="law"),
        lambda p: "2027-06-30" if p == "fraud" else None,
    )
    assert event is not None
    assert event.not_before == dt.datetime(2027, 6, 30, tzinfo=dt.UTC)


def test_certificate_checks_are_opt_in() -> None:
    assert all(
        DEFAULT_MODES[("certificate_checked", c)] == "off" for c in ("email", "sms", "viber")
    )
    assert DEFAULT_MODES[("consent_requested", "email")] == "immediate"


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(SPECS / "catalog").catalog


def test_bodies_say_who_what_why_and_link_in_both_languages(catalog) -> None:  # type: ignore[no-untyped-def]
    data = {"agency": "bank-demo", "purpose": "mortgage-application", "request_id": "r1"}
    greek = render(catalog, "https://hub.example", "consent_requested", data, "el")
    english = render(catalog, "https://hub.example", "consent_requested", data, "en")
    assert "Δοκιμαστική Τράπεζα" in greek.text
    assert "https://hub.example/me/requests/r1" in greek.text
    assert "Demo Bank" in english.text
    assert "https://hub.example/me/requests/r1?lang=en" in english.text
    assert english.html.startswith("<!doctype html>")
    assert 'href="https://hub.example/me/requests/r1?lang=en"' in english.html
    assert "https://hub.example/me/requests/r1" in greek.short


def test_every_kind_renders_without_placeholders(catalog) -> None:  # type: ignore[no-untyped-def]
    data = {
        "agency": "opeka",
        "purpose": "social-benefit-eligibility",
        "evidence_type": "birth-certificate",
        "case_reference": "A/1 2",
        "status": "missing_document",
    }
    for kind in EVENT_KINDS:
        for language in ("el", "en"):
            body = render(catalog, "https://hub.example", kind, data, language)
            assert "{" not in body.text, (kind, language)
            assert "}" not in body.text, (kind, language)
    case = render(catalog, "https://hub.example", "case_status", data, "en")
    assert "https://hub.example/me/cases/A%2F1%202?lang=en" in case.text
    review = render(
        catalog, "https://hub.example", "case_status", {**data, "status": "in-review"}, "el"
    )
    assert "Σε εξέταση" in review.text
    missing = render(
        catalog,
        "https://hub.example",
        "case_status",
        {**data, "status": "missing-document", "deadline": "2026-12-31"},
        "el",
    )
    assert "Ληξιαρχική" in missing.text or "γέννησης" in missing.text
    assert "31/12/2026" in missing.text
    digest = render_digest(
        catalog, "https://hub.example", [("access", data), ("certificate_issued", data)], "el"
    )
    assert digest.text.count("\n- ") == 2


def test_html_bodies_escape_what_they_show(catalog) -> None:  # type: ignore[no-untyped-def]
    data = {"agency": "opeka", "purpose": "social-benefit-eligibility"}
    body = render(catalog, 'https://hub.example/"><script>', "access", data, "en")
    assert "<script>" not in body.html


def test_retry_delays_grow_with_jitter_up_to_a_ceiling() -> None:
    policy = DeliveryPolicy(backoff=2.0, backoff_max=60.0)
    rng = random.Random(1)  # noqa: S311 - jitter, not secrecy
    for attempts, ceiling in ((1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0)):
        for _ in range(50):
            delay = policy.retry_delay(attempts, rng)
            assert ceiling / 2 <= delay <= ceiling


URL = "https://sms.example/v1/messages"
MESSAGE = Outgoing(key="k1", channel="sms", to="+306912345678", subject="s", text="hello")


@responses.activate
def test_the_gateway_sender_sends_the_idempotency_key_and_returns_the_id() -> None:
    responses.post(URL, json={"id": "p-1"}, status=202)
    sender = JsonGatewaySender("sms", URL, token="t", sender="GOV.GR", callback_url="https://h/cb")
    assert sender.send(MESSAGE) == "p-1"
    call = responses.calls[0].request
    assert call.headers["Idempotency-Key"] == "k1"
    assert call.headers["Authorization"] == "Bearer t"
    assert json.loads(call.body or b"{}")["callback_url"] == "https://h/cb"


@responses.activate
@pytest.mark.parametrize(
    ("status", "permanent"), [(500, False), (503, False), (429, False), (400, True), (422, True)]
)
def test_gateway_errors_are_transient_or_permanent(status: int, permanent: bool) -> None:
    responses.post(URL, json={"error": "x"}, status=status)
    sender = JsonGatewaySender("sms", URL, token=None, sender="GOV.GR")
    with pytest.raises(DeliveryError) as caught:
        sender.send(MESSAGE)
    assert caught.value.permanent is permanent


@responses.activate
def test_a_gateway_answer_without_an_id_is_a_failure() -> None:
    responses.post(URL, body="ok", status=200)
    with pytest.raises(DeliveryError):
        JsonGatewaySender("sms", URL, token=None, sender="GOV.GR").send(MESSAGE)
