"""``hub certificates``: an operator's view of issued certificates, and revocation.

A citizen revokes their own certificates through the API; an operator may
have to revoke one too (issued in error, reported stolen). The revocation is
logged with the operator as actor, and every later verification says
``revoked``, with the reason and time.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from hub.config import Settings

if TYPE_CHECKING:
    from hub.certificates.service import CertificateService
    from hub.services import Services

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "certificates", help="issued certificates: show and revoke"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    revoke = actions.add_parser("revoke", help="revoke a certificate by its verification code")
    revoke.add_argument("code", help="the verification code, e.g. 7KQ2-M9XD-4TZB-P0HC")
    revoke.add_argument("--reason", required=True, help="shown to anyone who verifies it")
    revoke.add_argument("--operator", default="cli", help="who revokes (logged as the actor)")
    revoke.set_defaults(run=_revoke)
    show = actions.add_parser("show", help="a certificate's status, as a verifier sees it")
    show.add_argument("code")
    show.set_defaults(run=_show)


def _service(services: Services) -> CertificateService:
    return services.certificates


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    from hub.app import build_services  # noqa: PLC0415  # only this command needs the app

    services = build_services(settings)
    try:
        record = _service(services).revoke_by_operator(args.code, args.reason, args.operator)
    finally:
        services.close()
    print(f"revoked {record.code} ({record.evidence_type}) at {record.summary()['revoked_at']}")
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from hub.app import build_services  # noqa: PLC0415  # only this command needs the app

    services = build_services(settings)
    try:
        record = _service(services).operator_view(args.code)
    finally:
        services.close()
    print(json.dumps(record, ensure_ascii=False, indent=2))
    return 0
