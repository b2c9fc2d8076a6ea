"""``hub witness init`` and ``hub witness serve``: run a witness of hub logs.

``init`` makes the witness's Ed25519 ``cosignature/v1`` key: the private key
goes to a file only its owner can read, the verifier key (vkey) is printed
for the operators of the logs to put in ``HUB_WITNESSES``.

``serve`` runs the witness's ASGI app under uvicorn, with its own database
(SQLite by default; PostgreSQL works the same), migrated on start. Each
``--log`` names a log to follow: ``ORIGIN=VKEY``, or just the log's vkey when
its key name is its origin, as the hub's is (``hub audit`` prints it, and
``/v1/audit/log-key`` serves it).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import uvicorn

from hub.config import Settings
from hub.domain.auditlog.checkpoint import parse_verifier_key
from hub.domain.auditlog.witness import (
    CosignatureSigner,
    Witness,
    WitnessedLog,
    parse_cosigner_key,
)
from hub.errors import ConfigError
from hub.logs import configure_logging, logging_config
from hub.persistence import migrate
from hub.persistence.db import Database
from hub.persistence.witnesses import SqlWitnessStore
from hub.witness.app import create_witness_app

__all__ = ["load_witness", "parse_log", "register"]


def register(commands: Any) -> None:
    witness: argparse.ArgumentParser = commands.add_parser(
        "witness", help="run a C2SP witness of hub logs"
    )
    actions = witness.add_subparsers(dest="witness_command", required=True)
    init = actions.add_parser("init", help="make the witness's key; print its vkey")
    init.add_argument("--name", required=True, help="the witness's name, e.g. witness.example/w1")
    init.add_argument("--key", type=Path, required=True, help="file to write the private key to")
    init.set_defaults(run=_init)
    serve = actions.add_parser("serve", help="serve the witness")
    serve.add_argument("--key", type=Path, required=True, help="the private key file")
    serve.add_argument(
        "--log",
        action="append",
        required=True,
        help="a log to follow: ORIGIN=VKEY, or VKEY when its name is the origin (repeatable)",
    )
    serve.add_argument(
        "--database",
        default="sqlite:///var/witness.db",
        help="the witness's own database (default sqlite:///var/witness.db)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8300)
    serve.set_defaults(run=_serve)


def _init(args: argparse.Namespace, _settings: Settings) -> int:
    path: Path = args.key
    if path.exists():
        raise ConfigError(f"{path} exists; a witness keeps its key (refusing to overwrite)")
    signer = CosignatureSigner.generate(args.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(signer.to_text() + "\n")
    print(signer.verifier().to_text(), flush=True)
    return 0


def parse_log(text: str) -> WitnessedLog:
    """A ``--log`` value: ``ORIGIN=VKEY`` or a vkey whose name is the origin."""
    origin, sep, vkey = text.partition("=")
    if not sep:
        vkey = text
    verifier = parse_verifier_key(vkey.strip())
    return WitnessedLog(origin.strip() if sep else verifier.name, verifier)


def load_witness(key_file: Path, logs: list[str], database: Database) -> Witness:
    try:
        key_text = key_file.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the witness key {key_file}") from exc
    return Witness(
        parse_cosigner_key(key_text), [parse_log(item) for item in logs], SqlWitnessStore(database)
    )


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_level)
    database = Database(args.database)
    try:
        migrate.upgrade(database)
        witness = load_witness(args.key, args.log, database)
        print(f"witness {witness.signer.verifier().to_text()}", flush=True)
        for followed in witness.logs:
            print(f"following {followed.origin} ({followed.verifier.to_text()})", flush=True)
        config = uvicorn.Config(
            create_witness_app(witness),
            host=args.host,
            port=args.port,
            access_log=False,
            log_config=logging_config(settings.log_level),
            server_header=False,
            lifespan="off",
        )
        uvicorn.Server(config).run()
    finally:
        database.dispose()
    return 0
