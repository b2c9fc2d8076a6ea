"""``hub token``: development tokens for demo agencies, citizens and auditors.

All are refused in production. Tokens name the running demo's address
(``hub demo --port 9000``) unless ``HUB_PUBLIC_URL`` or ``HUB_PORT`` says
otherwise. An agency token is obtained exactly as a client would: a client
assertion signed with the agency's development key,
exchanged through the hub's token service (so its ``jti`` is spent in the
replay cache). A citizen token comes from the development identity issuer,
which knows the sandbox population; an auditor token names the auditor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from collections.abc import Callable
from typing import Any

import jwt

from hub.app import build_services
from hub.auth.agency_keys import load_agency_private_key
from hub.auth.models import IssuedToken
from hub.auth.service import TokenService
from hub.cli._running import with_running_demo
from hub.config import Settings
from hub.domain.identity import is_valid_afm
from hub.errors import CitizenNotFound, Forbidden, InvalidIdentifier

__all__ = ["client_assertion", "register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "token", help="print a development token (not in production)"
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    agency = kinds.add_parser("agency", help="an access token for a demo agency")
    agency.add_argument("agency_id", help="the agency, e.g. opeka")
    agency.set_defaults(run=_agency)
    citizen = kinds.add_parser("citizen", help="an ID token for a sandbox citizen")
    citizen.add_argument("afm", help="the citizen's AFM (see 'hub sandbox citizens')")
    citizen.set_defaults(run=_citizen)
    auditor = kinds.add_parser("auditor", help="an auditor token")
    auditor.add_argument("name", help="the auditor's name, recorded with each search")
    auditor.set_defaults(run=_auditor)


def client_assertion(agency_id: str, token_endpoint: str, kid: str, key: Any) -> str:
    """A fresh RFC 7523 client assertion signed with the agency's key."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": agency_id,
        "sub": agency_id,
        "aud": token_endpoint,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def _print_token(settings: Settings, issue: Callable[[TokenService], IssuedToken]) -> int:
    """Issue a development token with the hub's token service and print it.

    The token names the running demo's address as its issuer when the
    environment names none (see :mod:`hub.cli._running`); stderr says which,
    so that stdout holds the token alone.
    """
    if settings.is_production:
        raise Forbidden("Development tokens are not issued in production.")
    settings, note = with_running_demo(settings)
    print(note, file=sys.stderr)
    services = build_services(settings)
    try:
        issued = issue(services.tokens)
    finally:
        services.close()
    print(issued.access_token)
    return 0


def _citizen(args: argparse.Namespace, settings: Settings) -> int:
    if not is_valid_afm(args.afm):
        raise InvalidIdentifier("The AFM is not nine digits with a valid check digit.")
    from adapters.sandbox.population import Population  # noqa: PLC0415 - development only

    person = Population(settings.sandbox_population, settings.sandbox_seed).by_afm(args.afm)
    if person is None:
        raise CitizenNotFound("The sandbox population has no citizen with that AFM.")
    return _print_token(
        settings, lambda tokens: tokens.issue_citizen(person.afm, person.amka, person.full_name)
    )


def _auditor(args: argparse.Namespace, settings: Settings) -> int:
    return _print_token(settings, lambda tokens: tokens.issue_auditor(args.name))


def _agency(args: argparse.Namespace, settings: Settings) -> int:
    def exchange(tokens: TokenService) -> IssuedToken:
        kid, key = load_agency_private_key(settings.keys_dir, args.agency_id)
        return tokens.exchange(client_assertion(args.agency_id, tokens.token_endpoint, kid, key))

    return _print_token(settings, exchange)
