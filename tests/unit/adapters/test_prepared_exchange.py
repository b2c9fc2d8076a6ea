"""A request copied from one the session prepared once is the request the session would send.

``exchange`` with a ``template`` skips ``Session.request``'s merging of the
session's settings into each request; what reaches the wire must not change:
the same URL, headers and body, and a session holding cookies still sends
them (it takes the long way).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses

from adapters.resilience import Policy
from adapters.rest import exchange, pooled_session, prepared
from hub.errors import RegistryUnavailable

BASE = "http://registry.test"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, f"{BASE}/v1/owners/0900%2F45/properties", json={"ok": 1})
        rsps.add(responses.POST, f"{BASE}/v1/search", json={"ok": 1})
        yield rsps


def _sent(mock: responses.RequestsMock, *, with_template: bool, cookie: bool = False) -> list:
    session = pooled_session(BASE, Policy())
    session.headers.update({"Accept": "application/json", "User-Agent": "oncehub"})
    if cookie:
        session.cookies.set("route", "a1", domain="registry.test")
    calls = [
        (
            "GET",
            f"{BASE}/v1/owners/0900%2F45/properties?q=%CE%B1",
            {"Authorization": "Bearer t"},
            None,
        ),
        ("POST", f"{BASE}/v1/search", {"Content-Type": "application/json"}, b'{"afm": "1"}'),
    ]
    start = len(mock.calls)
    for method, url, headers, data in calls:
        template = prepared(session, method, f"{BASE}/", {}) if with_template else None
        response, body = exchange(
            session,
            method,
            url,
            name="registry",
            budget=2.0,
            headers={"X-Request-ID": "r1", **headers},
            data=data,
            template=template,
        )
        assert response.status_code == 200
        assert body == b'{"ok": 1}'
    session.close()
    return [
        (call.request.method, call.request.url, dict(call.request.headers), call.request.body)
        for call in mock.calls[start:]
    ]


def _search(
    session: requests.Session, template: requests.PreparedRequest, request_id: str = "r1"
) -> None:
    """POST /v1/search through ``exchange`` with a copied template."""
    exchange(
        session,
        "POST",
        f"{BASE}/v1/search",
        name="registry",
        budget=2.0,
        headers={"X-Request-ID": request_id},
        data=b"{}",
        template=template,
    )


def test_the_copied_request_is_the_one_the_session_would_send(
    mock: responses.RequestsMock,
) -> None:
    assert _sent(mock, with_template=True) == _sent(mock, with_template=False)


def test_a_session_holding_cookies_still_sends_them(mock: responses.RequestsMock) -> None:
    sent = _sent(mock, with_template=True, cookie=True)
    assert all(headers.get("Cookie") == "route=a1" for _, _, headers, _ in sent)


def test_a_header_value_with_a_line_break_is_refused(mock: responses.RequestsMock) -> None:
    session = pooled_session(BASE, Policy())
    template = prepared(session, "POST", f"{BASE}/", {})
    # As on the long way: refused before anything is sent, as unreachable.
    with pytest.raises(RegistryUnavailable):
        _search(session, template, request_id="r1\r\nEvil: yes")
    assert len(mock.calls) == 0
    session.close()


def test_a_cookie_the_registry_sets_is_sent_back_on_the_next_call() -> None:
    # The copied request skips Session.send, which is what fills the jar on
    # the long way: a load balancer's affinity cookie must still come back.
    session = pooled_session(BASE, Policy())
    template = prepared(session, "POST", f"{BASE}/", {})
    with responses.RequestsMock() as rsps:
        rsps.add(
            responses.POST,
            f"{BASE}/v1/search",
            json={"ok": 1},
            headers={"Set-Cookie": "route=b2; Path=/"},
        )
        rsps.add(responses.POST, f"{BASE}/v1/search", json={"ok": 1})
        for _ in range(2):
            _search(session, template)
        first, second = (call.request.headers.get("Cookie") for call in rsps.calls)
    assert first is None
    assert second == "route=b2"
    session.close()
