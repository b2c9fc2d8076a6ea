"""Clients of the hub as tests use them: real tokens, real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from hub.auth.agency_keys import load_agency_private_key
from hub.cli.token import client_assertion

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_request(hub_url: str, assertion: str) -> requests.Response:
    return requests.post(
        f"{hub_url}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        timeout=10,
    )


def agency_token(hub_url: str, keys_dir: Path, agency_id: str) -> str:
    """An access token obtained over HTTP with the agency's development key."""
    kid, key = load_agency_private_key(keys_dir, agency_id)
    response = token_request(
        hub_url, client_assertion(agency_id, f"{hub_url}/oauth2/token", kid, key)
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def post_evidence(hub_url: str, token: str | None, body: dict[str, Any]) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{hub_url}/v1/evidence", json=body, headers=headers, timeout=30)
