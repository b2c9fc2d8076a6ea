"""A citizen signs in through the identity issuer, in a real browser.

The hub is configured with the sandbox OpenID Connect provider as its
citizens' issuer; the browser follows every redirect itself, as a person's
would: the hub's page, the issuer's form, back to the hub, and out again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from adapters.sandbox.idp import IdpClient, IdpHandle, start_idp
from hub.config import Settings
from tests.common.server import serve_hub
from tests.e2e.conftest import Hub, Scanner

CLIENT_ID = "oncehub-web"
SECRET = "sandbox-client-secret"


@pytest.fixture
def idp_hub(settings: Settings, sandbox: Any) -> Iterator[tuple[Hub, IdpHandle]]:
    with start_idp(population=sandbox.population) as idp:
        configured = replace(
            settings,
            citizen_issuer=idp.url,
            citizen_client_id=CLIENT_ID,
            citizen_client_secret=SECRET,
        )
        with serve_hub(configured) as (url, services, served):
            idp.app.register(
                IdpClient(
                    CLIENT_ID,
                    SECRET,
                    redirect_uris=(f"{url}/signin/callback",),
                    post_logout_redirect_uris=(f"{url}/verify",),
                )
            )
            yield Hub(url, services, served), idp


def test_sign_in_and_out_through_the_identity_issuer(
    page: Any, idp_hub: tuple[Hub, IdpHandle], scan: Scanner
) -> None:
    hub, idp = idp_hub
    citizen = idp.app.population.sample(1)[0]
    page.goto(f"{hub.url}/me/consents")
    # No session: the hub sends the browser straight on to the issuer's form.
    page.wait_for_url(re.compile(re.escape(idp.url) + "/authorize"))
    page.get_by_label(re.compile(re.escape(citizen.full_name))).check()
    page.get_by_role("button", name="Σύνδεση").click()
    page.wait_for_url(f"{hub.url}/me/consents")
    assert citizen.full_name in page.locator("header").inner_text()
    scan(page, "signed-in")
    page.get_by_role("button", name="Αποσύνδεση").click()
    # Out through the issuer's end-session endpoint, back to the hub.
    page.wait_for_url(f"{hub.url}/verify")
    assert citizen.full_name not in page.locator("header").inner_text()
    page.goto(f"{hub.url}/me")
    page.wait_for_url(re.compile(re.escape(idp.url) + "/authorize"))
