"""``hub keys``: create, rotate and list the hub's keys.

``init`` makes the development PKI (root CA → issuing CA → seal certificate),
the log key, the token key and — outside production — a private key per
development agency, so integrators can sign client assertions at once.
"""

from __future__ import annotations

import argparse
from typing import Any

from hub.agency_keys import ensure_development_keys
from hub.catalog_files import load_configured_catalog
from hub.config import Settings
from hub.domain.sealing import keystore

__all__ = ["ensure_keys", "register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("keys", help="the hub's keys")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="create the development PKI and service keys")
    init.set_defaults(run=_init)
    rotate = actions.add_parser("rotate", help="add a new seal key; the old one is retired")
    rotate.set_defaults(run=_rotate)
    listing = actions.add_parser("list", help="list keys with their kid, purpose and status")
    listing.set_defaults(run=_list)


def ensure_keys(settings: Settings) -> list[str]:
    """Create whatever keys are missing; return lines saying what was made."""
    said: list[str] = []
    made = keystore.init(
        settings.keys_dir,
        settings.keys_passphrase,
        public_url=settings.public_url,
        exist_ok=True,
    )
    if made and not (settings.keys_dir / "agencies").exists():
        said.append(f"keys in {settings.keys_dir}: {len(made)} (see 'hub keys list')")
    if not settings.is_production:
        catalog = load_configured_catalog(settings).catalog
        for agency in ensure_development_keys(settings.keys_dir, catalog):
            said.append(
                f"development key of agency {agency}: {settings.keys_dir}/agencies/{agency}.pem"
            )
    return said


def _init(_args: argparse.Namespace, settings: Settings) -> int:
    existed = (settings.keys_dir / "manifest.json").exists()
    for line in ensure_keys(settings):
        print(line)
    if existed:
        print(f"{settings.keys_dir} already held keys; nothing was overwritten")
    _list(_args, settings)
    return 0


def _rotate(_args: argparse.Namespace, settings: Settings) -> int:
    record = keystore.rotate_seal_key(settings.keys_dir, settings.keys_passphrase)
    print(f"new seal key {record.kid}, valid until {record.not_after:%Y-%m-%d}")
    return 0


def _list(_args: argparse.Namespace, settings: Settings) -> int:
    print(f"{'kid':<46} {'purpose':<11} {'status':<8} {'alg':<6} not after")
    for record in keystore.list_keys(settings.keys_dir):
        until = f"{record.not_after:%Y-%m-%d}" if record.not_after else "-"
        print(
            f"{record.kid:<46} {record.purpose!s:<11} {record.status!s:<8} "
            f"{record.algorithm:<6} {until}"
        )
    return 0
