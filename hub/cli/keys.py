"""``hub keys``: create, import, rotate, revoke and list the hub's keys.

``init`` makes the development PKI (root CA → issuing CA → seal certificate),
the log key, the token key and — outside production — a private key per
development agency, so integrators can sign client assertions at once.

``import`` brings what a production hub seals with: a seal key certified by a
trust service provider (PKCS#12, or a PEM key and chain), the CRLs of that
CA, and the CA certificates of an outside timestamp authority. Each ceremony
is described in docs/operating.md ("Key ceremonies"). Passphrases are named
by environment variable, never typed on the command line.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cryptography import x509

from adapters import hsm
from hub.auth.agency_keys import ensure_development_keys
from hub.catalog.files import load_configured_catalog
from hub.config import Settings, secret_from_env
from hub.domain.sealing import keystore
from hub.errors import ConfigError

__all__ = ["ensure_keys", "register"]

#: RFC 5280 reasons an operator may give for revoking a seal key.
_REASONS = {
    "key-compromise": x509.ReasonFlags.key_compromise,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
}


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("keys", help="the hub's keys")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="create the development PKI and service keys")
    init.set_defaults(run=_init)
    rotate = actions.add_parser("rotate", help="replace a key; the old one is retired")
    rotate.add_argument(
        "purpose", nargs="?", default="seal", choices=("seal", "token", "log"), help="which key"
    )
    rotate.set_defaults(run=_rotate)
    listing = actions.add_parser(
        "list", help="each key's purpose, kid, origin, validity and where it lives"
    )
    listing.set_defaults(run=_list)
    _register_import(actions)
    hsm = actions.add_parser("hsm", help="make a key in a PKCS#11 token (HSM) the current one")
    hsm.add_argument("purpose", choices=("seal", "token", "log"))
    hsm.add_argument("uri", help="pkcs11:token=…;object=…?module-path=…&pin-source=env:VAR")
    hsm.add_argument(
        "--generate", action="store_true", help="generate the key pair in the token first"
    )
    hsm.set_defaults(run=_hsm)
    revoke = actions.add_parser("revoke", help="put a retired seal key on the CRL")
    revoke.add_argument("purpose", choices=("seal",))
    revoke.add_argument(
        "kid", help="the key id, as 'hub keys list' shows it (after '--' if it begins with '-')"
    )
    revoke.add_argument("--reason", choices=sorted(_REASONS), default="key-compromise")
    revoke.set_defaults(run=_revoke)


def _register_import(actions: Any) -> None:
    parser: argparse.ArgumentParser = actions.add_parser(
        "import", help="bring keys, CA certificates and CRLs issued elsewhere"
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    seal = kinds.add_parser("seal", help="a seal key certified by a trust service provider")
    source = seal.add_mutually_exclusive_group(required=True)
    source.add_argument("--pkcs12", type=Path, help="a PKCS#12 file: key, certificate, CAs")
    source.add_argument("--key", type=Path, help="a PEM private key (with --chain)")
    seal.add_argument(
        "--chain", type=Path, help="PEM: the certificate of --key, then its CAs up to the root"
    )
    seal.add_argument(
        "--passphrase-env", metavar="VAR", help="the variable holding the file's passphrase"
    )
    seal.add_argument(
        "--crl",
        type=Path,
        action="append",
        default=[],
        help="a CRL of a CA of the chain (PEM or DER); once per CA",
    )
    seal.set_defaults(run=_import_seal)
    crl = kinds.add_parser("crl", help="a fresh CRL of an outside CA the hub trusts")
    crl.add_argument("file", type=Path)
    crl.set_defaults(run=_import_crl)
    ca = kinds.add_parser("ca", help="CA certificates of an outside TSA (PEM), to trust")
    ca.add_argument("file", type=Path)
    ca.add_argument("--crl", type=Path, action="append", default=[])
    ca.set_defaults(run=_import_ca)


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


def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    purpose = getattr(args, "purpose", "seal")
    if purpose == "token":
        record = keystore.rotate_token_key(settings.keys_dir, settings.keys_passphrase)
        print(f"new token key {record.kid}; the old one verifies tokens for one more hour")
        return 0
    if purpose == "log":
        record = keystore.rotate_log_key(settings.keys_dir, settings.keys_passphrase)
        print(f"new log key {record.kid}, announced by a note signed with the old one")
        return 0
    record = keystore.rotate_seal_key(settings.keys_dir, settings.keys_passphrase)
    print(f"new seal key {record.kid}, valid until {record.not_after:%Y-%m-%d}")
    return 0


def _list(_args: argparse.Namespace, settings: Settings) -> int:
    print(
        f"{'purpose':<11} {'kid':<46} {'status':<8} {'origin':<10} "
        f"{'valid from':<10} {'until':<10} where"
    )
    for record in keystore.list_keys(settings.keys_dir):
        since = f"{record.not_before:%Y-%m-%d}"
        until = f"{record.not_after:%Y-%m-%d}" if record.not_after else "-"
        where = str(settings.keys_dir / record.key_file) if record.key_file else record.location
        print(
            f"{record.purpose!s:<11} {record.kid:<46} {record.status!s:<8} "
            f"{record.origin!s:<10} {since:<10} {until:<10} {where}"
        )
    return 0


def _import_seal(args: argparse.Namespace, settings: Settings) -> int:
    password = secret_from_env(args.passphrase_env) if args.passphrase_env else None
    if args.pkcs12 is not None:
        if args.chain is not None:
            raise ConfigError("--chain goes with --key; a PKCS#12 file holds its chain")
        key, cert, chain = keystore.read_pkcs12(_read(args.pkcs12), password)
    else:
        if args.chain is None:
            raise ConfigError("--key needs --chain: the certificate and its CAs, PEM")
        key, cert, chain = keystore.read_pem_key(_read(args.key), password, _read(args.chain))
    record = keystore.import_seal_key(
        settings.keys_dir,
        settings.keys_passphrase,
        key,
        cert,
        chain,
        crls=[_crl(path) for path in args.crl],
    )
    print(f"imported seal key {record.kid}: {cert.subject.rfc4514_string()}")
    print(f"issued by {cert.issuer.rfc4514_string()}, valid until {record.not_after:%Y-%m-%d}")
    print("it seals from the next start of the hub; the previous seal key is retired")
    return 0


def _import_crl(args: argparse.Namespace, settings: Settings) -> int:
    crl = _crl(args.file)
    if keystore.import_crl(settings.keys_dir, crl):
        print(f"CRL of {crl.issuer.rfc4514_string()} kept (updated {crl.last_update_utc:%c})")
    else:
        print("the CRL kept already is as recent; nothing changed")
    return 0


def _import_ca(args: argparse.Namespace, settings: Settings) -> int:
    try:
        certs = x509.load_pem_x509_certificates(_read(args.file))
    except ValueError as exc:
        raise ConfigError(f"{args.file} holds no PEM certificates") from exc
    added = keystore.trust_certificates(settings.keys_dir, certs, timestamps_only=True)
    for path in args.crl:
        keystore.import_crl(settings.keys_dir, _crl(path))
    print(f"{added} CA certificate(s) added to what the hub trusts for timestamps")
    return 0


def _hsm(args: argparse.Namespace, settings: Settings) -> int:
    purpose = keystore.KeyPurpose(args.purpose)
    algorithm = "EdDSA" if purpose is keystore.KeyPurpose.LOG else "ES256"
    key = hsm.generate_key(args.uri, algorithm) if args.generate else hsm.open_key(args.uri)
    record = keystore.adopt_hsm_key(
        settings.keys_dir, settings.keys_passphrase, purpose, args.uri, key
    )
    print(f"{purpose} key {record.kid} now lives in the HSM ({args.uri.split('?')[0]})")
    print("it signs from the next start of the hub; the previous key is retired")
    return 0


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    record = keystore.revoke_seal_key(
        settings.keys_dir, settings.keys_passphrase, args.kid, reason=_REASONS[args.reason]
    )
    print(f"seal key {record.kid} revoked ({args.reason}) at {record.revoked_at:%Y-%m-%d %H:%M}Z")
    print("the issuing CA's CRL lists it now: /pki/issuing-ca.crl and /v1/trust/crl")
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def _crl(path: Path) -> x509.CertificateRevocationList:
    data = _read(path)
    try:
        if data.lstrip().startswith(b"-----"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise ConfigError(f"{path} is not a CRL") from exc
