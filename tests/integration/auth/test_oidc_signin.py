"""Citizens sign in through an external OpenID Connect issuer, over real HTTP.

The hub is configured with ``HUB_CITIZEN_ISSUER`` pointing at the sandbox
identity provider (adapters/sandbox/idp.py), which runs as its own server.
The whole authorization code flow runs as a browser would run it; then
each way a sign-in can be attacked or go wrong is tried, and each must end
without a session. Bearer ID tokens of the same issuer work on the API.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.sandbox.faults import Faults
from adapters.sandbox.idp import IdpClient, IdpHandle, start_idp
from hub.config import Settings
from tests.common.server import free_port, serve_hub

CLIENT_ID = "oncehub-web"
SECRET = "sandbox-client-secret"
AFM_CLAIM = "taxid"


@dataclass
class Hub:
    url: str
    services: Any
    settings: Settings
    idp: IdpHandle

    def browser(self) -> requests.Session:
        return requests.Session()


@pytest.fixture(scope="module")
def idp(sandbox: Any) -> Iterator[IdpHandle]:
    # A TaxisNet-style provider: the AFM comes in a claim called taxid.
    with start_idp(population=sandbox.population, afm_claim=AFM_CLAIM) as handle:
        yield handle


def _issuer_settings(settings: Settings, idp: IdpHandle, **more: Any) -> Settings:
    return replace(
        settings,
        citizen_issuer=idp.url,
        citizen_client_id=CLIENT_ID,
        citizen_client_secret=SECRET,
        citizen_afm_claim=AFM_CLAIM,
        **more,
    )


@pytest.fixture
def hub(settings: Settings, idp: IdpHandle) -> Iterator[Hub]:
    with serve_hub(_issuer_settings(settings, idp)) as (url, services, served):
        idp.app.register(
            IdpClient(
                CLIENT_ID,
                SECRET,
                redirect_uris=(f"{url}/signin/callback",),
                post_logout_redirect_uris=(f"{url}/verify",),
            )
        )
        idp.app.tamper = {}
        idp.app.forge = None
        try:
            yield Hub(url, services, served, idp)
        finally:
            idp.app.tamper = {}
            idp.app.forge = None


def _citizen(citizens: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in citizens if not c["deceased"] and not c["minor"])


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _start(hub: Hub, browser: requests.Session, next_page: str = "/me") -> str:
    """GET /signin: the hub sends the browser to the issuer; the authorize URL."""
    started = browser.get(
        f"{hub.url}/signin", params={"next": next_page}, allow_redirects=False, timeout=30
    )
    assert started.status_code == 303, started.text[:300]
    location = started.headers["Location"]
    assert location.startswith(f"{hub.idp.url}/authorize?"), location
    flow_cookie = started.headers["Set-Cookie"].lower()
    assert "hub_signin=" in flow_cookie
    assert "httponly" in flow_cookie
    assert "samesite=lax" in flow_cookie
    return location


def _pick(hub: Hub, browser: requests.Session, authorize: str, afm: str) -> str:
    """At the issuer: choose the citizen; the callback URL it sends the browser to."""
    form = dict(_query(authorize), afm=afm, decision="allow")
    answered = browser.post(
        f"{hub.idp.url}/authorize", data=form, allow_redirects=False, timeout=30
    )
    assert answered.status_code == 302, answered.text[:300]
    callback = answered.headers["Location"]
    assert callback.startswith(f"{hub.url}/signin/callback?"), callback
    return callback


def _no_session(hub: Hub, browser: requests.Session) -> None:
    assert "hub_session" not in browser.cookies
    me = browser.get(f"{hub.url}/me", allow_redirects=False, timeout=30)
    assert me.status_code == 303
    assert me.headers["Location"].startswith("/signin")


def _refused(response: requests.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Traceback" not in response.text
    assert "hub_session=" not in response.headers.get("Set-Cookie", "").replace(
        'hub_session=""', ""
    )


# -- the flow ----------------------------------------------------------------------


def test_a_citizen_signs_in_through_the_issuer_following_redirects(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    citizen = _citizen(citizens)
    browser = hub.browser()
    # Following redirects: /signin -> the issuer's form.
    form_page = browser.get(f"{hub.url}/signin", params={"next": "/me/consents"}, timeout=30)
    assert form_page.status_code == 200
    assert form_page.url.startswith(f"{hub.idp.url}/authorize?")
    assert citizen["afm"] in form_page.text or 'name="afm"' in form_page.text
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form_page.text))
    assert fields["code_challenge_method"] == "S256"
    assert fields["client_id"] == CLIENT_ID
    assert len(fields["state"]) >= 32
    assert len(fields["nonce"]) >= 32
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    # Submitting the form: the issuer -> /signin/callback -> /me/consents.
    landed = browser.post(
        f"{hub.idp.url}/authorize",
        data=dict(fields, afm=citizen["afm"], decision="allow"),
        timeout=30,
    )
    assert landed.status_code == 200, landed.text[:500]
    assert landed.url == f"{hub.url}/me/consents"
    assert [r.status_code for r in landed.history] == [302, 303]
    assert citizen["name"] in landed.text
    assert "hub_session" in browser.cookies
    # The flow cookie was spent.
    assert "hub_signin" not in browser.cookies

    # The session is a hub-minted token for the pages, not the issuer's ID token.
    session = browser.cookies["hub_session"]
    kind, _, token = session.partition(".")
    assert kind == "c"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == hub.url
    assert claims["aud"] == "oncehub-web"
    assert claims["afm"] == citizen["afm"]
    # ... and so it is no bearer token on the API.
    api = requests.get(
        f"{hub.url}/v1/me/consents", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert api.status_code == 401

    # Signing out ends the session and, as the issuer advertises one, its session too.
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', browser.get(f"{hub.url}/me").text)
    assert csrf is not None
    out = browser.post(
        f"{hub.url}/signout", data={"csrf_token": csrf.group(1)}, allow_redirects=False, timeout=30
    )
    assert out.status_code == 303
    assert out.headers["Location"].startswith(f"{hub.idp.url}/logout?")
    back = browser.get(out.headers["Location"], timeout=30)
    assert back.url == f"{hub.url}/verify"
    _no_session(hub, browser)


def test_pages_send_a_signed_out_citizen_to_the_issuer(hub: Hub) -> None:
    browser = hub.browser()
    me = browser.get(f"{hub.url}/me/history", allow_redirects=False, timeout=30)
    assert me.status_code == 303
    signin = browser.get(f"{hub.url}{me.headers['Location']}", allow_redirects=False, timeout=30)
    assert signin.status_code == 303
    assert signin.headers["Location"].startswith(f"{hub.idp.url}/authorize?")
    # The development picker is gone for citizens while an issuer is configured.
    refused = requests.post(f"{hub.url}/signin", data={"role": "citizen"}, timeout=30)
    assert refused.status_code in (403, 404)


def test_the_browser_at_the_issuer_may_decline(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    browser = hub.browser()
    authorize = _start(hub, browser)
    declined = browser.post(
        f"{hub.idp.url}/authorize",
        data=dict(_query(authorize), decision="deny"),
        allow_redirects=False,
        timeout=30,
    )
    assert "error=access_denied" in declined.headers["Location"]
    _refused(browser.get(declined.headers["Location"], allow_redirects=False, timeout=30), 401)
    _no_session(hub, browser)


# -- attacks -------------------------------------------------------------------------


def test_a_wrong_state_is_refused(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    browser = hub.browser()
    callback = _pick(hub, browser, _start(hub, browser), _citizen(citizens)["afm"])
    forged = re.sub(r"state=[^&]+", "state=forged-state", callback)
    _refused(browser.get(forged, allow_redirects=False, timeout=30), 400)
    _no_session(hub, browser)
    # The flow was spent by the wrong answer: the right one no longer works either.
    _refused(browser.get(callback, allow_redirects=False, timeout=30), 400)
    _no_session(hub, browser)


def test_a_callback_without_the_flow_cookie_is_refused(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    # Login CSRF: an attacker's own code and state, sent to a victim's browser.
    attacker = hub.browser()
    callback = _pick(hub, attacker, _start(hub, attacker), _citizen(citizens)["afm"])
    victim = hub.browser()
    _refused(victim.get(callback, allow_redirects=False, timeout=30), 400)
    _no_session(hub, victim)


def test_a_replayed_code_is_refused(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    first = hub.browser()
    callback = _pick(hub, first, _start(hub, first), _citizen(citizens)["afm"])
    assert first.get(callback, allow_redirects=False, timeout=30).status_code == 303
    assert "hub_session" in first.cookies
    # Another browser, with a sign-in of its own in progress, brings the used code.
    second = hub.browser()
    own = _query(_start(hub, second))["state"]
    used = _query(callback)["code"]
    replay = f"{hub.url}/signin/callback?code={used}&state={own}"
    _refused(second.get(replay, allow_redirects=False, timeout=30), 401)
    _no_session(hub, second)


def _signin_with(hub: Hub, citizens: list[dict[str, Any]]) -> requests.Response:
    browser = hub.browser()
    callback = _pick(hub, browser, _start(hub, browser), _citizen(citizens)["afm"])
    answer = browser.get(callback, allow_redirects=False, timeout=30)
    if answer.status_code != 303:
        _no_session(hub, browser)
    return answer


def test_a_wrong_nonce_is_refused(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    hub.idp.app.tamper = {"nonce": "a-nonce-of-another-sign-in"}
    _refused(_signin_with(hub, citizens), 401)


def test_an_id_token_from_another_issuer_is_refused(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    hub.idp.app.tamper = {"iss": "https://evil.example"}
    _refused(_signin_with(hub, citizens), 401)


def test_an_id_token_for_another_client_is_refused(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    hub.idp.app.tamper = {"aud": "another-client"}
    _refused(_signin_with(hub, citizens), 401)
    # Several audiences with ours among them need azp = our client id.
    hub.idp.app.tamper = {"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}
    _refused(_signin_with(hub, citizens), 401)


def test_an_expired_id_token_is_refused(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    now = int(time.time())
    hub.idp.app.tamper = {"iat": now - 3600, "exp": now - 600}
    _refused(_signin_with(hub, citizens), 401)
    # Issued in the future (beyond the small clock skew allowed) is no better.
    hub.idp.app.tamper = {"iat": now + 3600, "exp": now + 7200}
    _refused(_signin_with(hub, citizens), 401)


def test_an_id_token_signed_with_an_unknown_key_is_refused(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    rogue = ec.generate_private_key(ec.SECP256R1())
    hub.idp.app.forge = lambda claims: jwt.encode(
        claims, rogue, algorithm="ES256", headers={"kid": "rogue-key"}
    )
    _refused(_signin_with(hub, citizens), 401)
    # The same kid as the issuer's, but another key: the signature fails.
    kid = hub.idp.app.current_kid
    hub.idp.app.forge = lambda claims: jwt.encode(
        claims, rogue, algorithm="ES256", headers={"kid": kid}
    )
    _refused(_signin_with(hub, citizens), 401)


def test_an_unsigned_id_token_is_refused(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    kid = hub.idp.app.current_kid
    hub.idp.app.forge = lambda claims: jwt.encode(
        claims, None, algorithm="none", headers={"kid": kid}
    )
    _refused(_signin_with(hub, citizens), 401)


def test_an_id_token_without_the_afm_is_refused(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    hub.idp.app.tamper = {AFM_CLAIM: "not-an-afm"}
    _refused(_signin_with(hub, citizens), 401)


def test_a_rotated_issuer_key_is_fetched_once(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    assert _signin_with(hub, citizens).status_code == 303
    before = hub.idp.app.jwks_fetches
    hub.idp.app.rotate()
    # A new kid arrives: the hub fetches the JWKS again (the throttle allows a
    # first refresh at once only after its interval, so wait it out here).
    keys = hub.services.tokens._citizen_keys
    keys.min_refresh = 0.0
    assert _signin_with(hub, citizens).status_code == 303
    assert hub.idp.app.jwks_fetches == before + 1


def test_a_failing_token_endpoint_is_a_503_page(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    hub.idp.app.set_faults(Faults(error_rate=1.0))
    try:
        _refused(_signin_with(hub, citizens), 503)
    finally:
        hub.idp.app.set_faults(None)
    assert _signin_with(hub, citizens).status_code == 303


# -- bearer tokens on the API ---------------------------------------------------------


def _id_token(hub: Hub, afm: str, **claims: Any) -> str:
    body = hub.idp.app.id_token_claims(CLIENT_ID, afm, None)
    body.update(claims)
    return hub.idp.app.sign(body)


def _me(hub: Hub, token: str) -> requests.Response:
    return requests.get(
        f"{hub.url}/v1/me/consents", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_bearer_id_tokens_of_the_issuer_work_on_the_api(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    afm = _citizen(citizens)["afm"]
    assert _me(hub, _id_token(hub, afm)).status_code == 200
    now = int(dt.datetime.now(dt.UTC).timestamp())
    rogue = ec.generate_private_key(ec.SECP256R1())
    body = hub.idp.app.id_token_claims(CLIENT_ID, afm, None)
    refused = {
        "another issuer": _id_token(hub, afm, iss="https://evil.example"),
        "another audience": _id_token(hub, afm, aud="someone-else"),
        "expired": _id_token(hub, afm, iat=now - 900, exp=now - 300),
        "no afm": _id_token(hub, afm, **{AFM_CLAIM: None}),
        "unknown kid": jwt.encode(body, rogue, algorithm="ES256", headers={"kid": "nope"}),
        "alg none": jwt.encode(body, None, algorithm="none", headers={"kid": "x"}),
        "HS256": jwt.encode(body, "secret-secret-secret-secret-1234", algorithm="HS256"),
    }
    for name, token in refused.items():
        answer = _me(hub, token)
        assert answer.status_code == 401, (name, answer.text)
        assert answer.headers["Content-Type"].startswith("application/problem+json"), name
    # The development issuer's tokens no longer pass once an issuer is configured.
    with pytest.raises(Exception, match="identity issuer"):
        hub.services.tokens.issue_citizen(afm, None, None)


def test_forged_kids_do_not_make_the_hub_hammer_the_issuer(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    afm = _citizen(citizens)["afm"]
    assert _me(hub, _id_token(hub, afm)).status_code == 200
    before = hub.idp.app.jwks_fetches
    rogue = ec.generate_private_key(ec.SECP256R1())
    body = hub.idp.app.id_token_claims(CLIENT_ID, afm, None)
    for n in range(20):
        forged = jwt.encode(body, rogue, algorithm="ES256", headers={"kid": f"forged-{n}"})
        assert _me(hub, forged).status_code == 401
    # At most one refresh in the throttle interval, however many kids were forged.
    assert hub.idp.app.jwks_fetches - before <= 1


def test_an_unreachable_issuer_is_503_not_500(
    settings: Settings, idp: IdpHandle, citizens: list[dict[str, Any]]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/jwks"
    with serve_hub(_issuer_settings(settings, idp, citizen_jwks_url=dead)) as (url, _, _):
        token = idp.app.sign(idp.app.id_token_claims(CLIENT_ID, _citizen(citizens)["afm"], None))
        answer = requests.get(
            f"{url}/v1/me/consents", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert answer.status_code == 503, answer.text
        assert answer.json()["type"].endswith("/identity-provider-unavailable")
