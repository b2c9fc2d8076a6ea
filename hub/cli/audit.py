"""``hub audit``: checkpoints, exports and verification of the access log.

``checkpoint`` signs the log as it stands. ``export FILE`` writes the log as
JSON lines ``{index, entry, leaf_hash}`` with the checkpoint that covers it
(``FILE.checkpoint``) and the log key (``FILE.logkey``) beside it.
``verify`` checks the live store; ``verify --export FILE`` checks an export
offline, needing nothing but the file, a checkpoint and the log key: an
auditor should take the key from a source other than the operator who hands
over the export (the published ``/v1/audit/log-key``). ``consistency``
proves that the log's latest checkpoint extends one the auditor kept.

Every check prints ``ok: N entries, root <hex>`` and exits 0, or prints one
line per finding, ``FAILED: <fault>[ at index N]: <what>``, the gravest
first, and exits 1. Live, ``verify`` checks every stored cell of the log's
tables and the consent and certificate rows that gate access (see
docs/auditing.md). The commands print indices, hashes, column names and row
ids only, never an entry: entries hold citizen references.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapters.hsm import open_key
from hub.audit.factory import build_audit_service
from hub.audit.keys import KeyStoreLogSigner
from hub.audit.service import DEFAULT_ORIGIN, AuditService
from hub.config import Settings
from hub.domain.auditlog.checkpoint import NoteVerifier, parse_verifier_key, verify_note
from hub.domain.auditlog.verify import (
    Fault,
    Finding,
    LogVerificationReport,
    verify_checkpoint_consistency,
    verify_export,
)
from hub.domain.sealing import keystore as keystore_files
from hub.domain.sealing.errors import KeyStoreError
from hub.errors import ConfigError
from hub.persistence.audit_queries import VERIFY_BATCH, iter_records, verify_store
from hub.persistence.db import Database

__all__ = ["read_export", "register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "audit", help="checkpoints, exports and verification of the access log"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    checkpoint = actions.add_parser("checkpoint", help="sign a checkpoint of the log now")
    checkpoint.set_defaults(run=_checkpoint)

    export = actions.add_parser(
        "export", help="write the log as JSON lines, with its checkpoint and log key beside it"
    )
    export.add_argument("file", type=Path, help="the export; FILE.checkpoint, FILE.logkey too")
    export.add_argument(
        "--latest",
        action="store_true",
        help="export up to the latest checkpoint instead of signing a new one",
    )
    export.set_defaults(run=_export)

    verify = actions.add_parser("verify", help="verify the live log, or an export offline")
    verify.add_argument("--export", type=Path, help="verify this export offline")
    verify.add_argument(
        "--checkpoint", type=Path, help="the signed checkpoint (default: EXPORT.checkpoint)"
    )
    verify.add_argument(
        "--log-key",
        help="the log's verifier key, or a file holding it "
        "(default: EXPORT.logkey offline, the key store live)",
    )
    verify.add_argument(
        "--earlier",
        type=Path,
        action="append",
        default=[],
        help="an earlier checkpoint the log must extend (repeatable)",
    )
    verify.add_argument("--batch", type=int, default=VERIFY_BATCH, help=argparse.SUPPRESS)
    verify.set_defaults(run=_verify)

    consistency = actions.add_parser(
        "consistency", help="prove the latest checkpoint extends an earlier one"
    )
    consistency.add_argument("--old", type=Path, required=True, help="the earlier checkpoint")
    consistency.add_argument("--new", type=Path, help="the later one (default: the latest)")
    consistency.add_argument("--log-key", help="the verifier key, or a file holding it")
    consistency.set_defaults(run=_consistency)


# -- helpers -------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def _verifier_from(value: str) -> NoteVerifier:
    """A verifier key given as its text or as a file holding it."""
    path = Path(value)
    text = _read_text(path) if path.is_file() else value
    return parse_verifier_key(text.strip())


def _open(settings: Settings) -> tuple[Database, AuditService]:
    # The log key may be in an HSM: open it the way the server does.
    keys = keystore_files.load(settings.keys_dir, settings.keys_passphrase, hsm=open_key)
    db = Database(settings.database_url)
    return db, build_audit_service(db, keys)


def _store_verifier(settings: Settings) -> list[NoteVerifier] | None:
    try:
        keys = keystore_files.load(settings.keys_dir, settings.keys_passphrase)
    except KeyStoreError:
        return None
    # Every log key the store knows: checkpoints made before a rotation
    # carry only the old key's signature.
    return KeyStoreLogSigner(keys).verifiers()


def _print_report(report: LogVerificationReport) -> int:
    if report.ok:
        print(f"ok: {report.entries} entries, root {report.root}")
        return 0
    findings = report.findings or (Finding(Fault.MALFORMED, None, report.message),)
    for finding in findings:
        where = "" if finding.index is None else f" at index {finding.index}"
        print(f"FAILED: {finding.fault.value}{where}: {finding.message}")
    return 1


def read_export(path: Path) -> Iterator[object]:
    """The records of an export file; a line that is not JSON becomes ``None``.

    ``None`` is a malformed record to the verifier, which locates it.
    """
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except ValueError:
                    yield None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


# -- commands ------------------------------------------------------------------------


def _checkpoint(_args: argparse.Namespace, settings: Settings) -> int:
    db, audit = _open(settings)
    try:
        checkpoint, created = audit.make_checkpoint()
    finally:
        db.dispose()
    state = "signed" if created else "unchanged since"
    print(f"{state} checkpoint: {checkpoint.size} entries, root {checkpoint.root_hash.hex()}")
    print(checkpoint.note, end="")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    db, audit = _open(settings)
    path: Path = args.file
    try:
        checkpoint = audit.latest_checkpoint() if args.latest else audit.make_checkpoint()[0]
        count = 0
        try:
            with path.open("w", encoding="utf-8") as out:
                for record in iter_records(db, checkpoint.size):
                    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                    out.write("\n")
                    count += 1
            Path(f"{path}.checkpoint").write_text(checkpoint.note, encoding="utf-8")
            Path(f"{path}.logkey").write_text(audit.log_key() + "\n", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the export {path}: {exc.strerror}") from exc
    finally:
        db.dispose()
    print(
        f"exported {count} entries to {path}; checkpoint of size {checkpoint.size}, "
        f"root {checkpoint.root_hash.hex()}"
    )
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    if args.export is not None:
        return _verify_export(args)
    verifier = _verifier_from(args.log_key) if args.log_key else _store_verifier(settings)
    if verifier is None:
        print("warning: no log key; checkpoint signatures are not checked")
    db = Database(settings.database_url)
    try:
        report = verify_store(
            db,
            verifier=verifier,
            origin=None if verifier is None else DEFAULT_ORIGIN,
            batch=args.batch,
        )
    finally:
        db.dispose()
    return _print_report(report)


def _verify_export(args: argparse.Namespace) -> int:
    export: Path = args.export
    checkpoint = args.checkpoint or Path(f"{export}.checkpoint")
    key = args.log_key or f"{export}.logkey"
    report = verify_export(
        read_export(export),
        _read_text(checkpoint),
        _verifier_from(key),
        origin=DEFAULT_ORIGIN,
        earlier_checkpoints=[_read_text(p) for p in args.earlier],
    )
    return _print_report(report)


def _consistency(args: argparse.Namespace, settings: Settings) -> int:
    db, audit = _open(settings)
    try:
        verifier = _verifier_from(args.log_key) if args.log_key else audit.verifier
        old_note = _read_text(args.old)
        new_note = _read_text(args.new) if args.new else audit.latest_checkpoint().note
        old = verify_note(old_note, verifier, origin=DEFAULT_ORIGIN)
        new = verify_note(new_note, verifier, origin=DEFAULT_ORIGIN)
        if old.size > new.size:
            print(f"FAILED: the old checkpoint ({old.size}) is larger than the new ({new.size})")
            return 1
        proof = audit.consistency(old.size, new.size)
    finally:
        db.dispose()
    report = verify_checkpoint_consistency(
        old_note, new_note, proof.hashes, verifier, origin=DEFAULT_ORIGIN
    )
    if report.ok:
        print(f"ok: the checkpoint of size {new.size} extends the one of size {old.size}")
        return 0
    return _print_report(report)
