"""``hub audit``: checkpoint, export, verify live and offline, consistency.

The commands are run through their own argument parser, so these tests need
no merged ``hub`` entry point; the database is the per-test one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.audit.factory import build_audit_service
from hub.audit.keys import KeyStoreLogSigner
from hub.audit.ports import LogSigner
from hub.audit.service import DEFAULT_ORIGIN, sign_checkpoint_with
from hub.cli import audit as audit_cli
from hub.config import Settings
from hub.domain.auditlog.checkpoint import Checkpoint, NoteSigner
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.sealing import keystore
from hub.persistence import migrate
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.db import Database
from tests.common.factories import access_entry

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def cli_settings(settings: Settings) -> Settings:
    """The shared settings: the per-test database and the session's keys."""
    return settings


def entry(i: int) -> AccessEntry:
    return access_entry(
        i,
        step=dt.timedelta(seconds=1),
        agency="efka",
        action="evidence.request",
        outcome="granted",
        subject=f"afm:{100000000 + i}",
        evidence_type=None,
        purpose="housing",
    )


@pytest.fixture
def db(cli_settings: Settings) -> Iterator[Database]:
    database = Database(cli_settings.database_url)
    migrate.upgrade(database)
    log = SqlAccessLog(database)
    for i in range(30):
        log.record(entry(i))
    yield database
    database.dispose()


def hub_audit(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hub")
    audit_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *argv])
    code: int = args.run(args, settings)
    return code


def test_the_key_store_signer_is_a_log_signer(keys_dir: Path) -> None:
    store = keystore.load(keys_dir)
    signer = KeyStoreLogSigner(store)
    assert isinstance(signer, LogSigner)
    assert signer.verifier().to_text() == store.log_verifier_key()
    assert signer.name == DEFAULT_ORIGIN


def test_checkpoint_command(
    cli_settings: Settings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hub_audit(cli_settings, "checkpoint") == 0
    out = capsys.readouterr().out
    assert out.startswith("signed checkpoint: 30 entries, root ")
    assert f"{DEFAULT_ORIGIN}\n30\n" in out
    assert hub_audit(cli_settings, "checkpoint") == 0
    assert capsys.readouterr().out.startswith("unchanged since checkpoint: 30 entries")


def export(settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "log.jsonl"
    assert hub_audit(settings, "export", str(path)) == 0
    assert capsys.readouterr().out.startswith(f"exported 30 entries to {path}")
    return path


def test_an_export_verifies_offline(
    cli_settings: Settings, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = export(cli_settings, tmp_path, capsys)
    lines = path.read_text().splitlines()
    assert len(lines) == 30
    assert json.loads(lines[4])["index"] == 4
    assert Path(f"{path}.checkpoint").read_text().startswith(f"{DEFAULT_ORIGIN}\n30\n")
    # The auditor's own copy of the key, not the one beside the export.
    key = keystore.load(cli_settings.keys_dir).log_verifier_key()
    assert hub_audit(cli_settings, "verify", "--export", str(path), "--log-key", key) == 0
    root = build_audit_service(db, keystore.load(cli_settings.keys_dir)).latest_checkpoint()
    assert capsys.readouterr().out == f"ok: 30 entries, root {root.root_hash.hex()}\n"


def _edit(lines: list[str]) -> None:
    record = json.loads(lines[7])
    record["entry"]["purpose"] = "curiosity"
    lines[7] = json.dumps(record)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("edit", "FAILED: altered at index 7:"),
        ("delete", "FAILED: missing at index 7:"),
        ("swap", "FAILED: reordered at index 7:"),
        ("duplicate", "FAILED: inserted at index 7:"),
        ("garbage", "FAILED: malformed at index 7:"),
        ("truncate", "FAILED: missing at index 29:"),
    ],
)
def test_a_tampered_export_is_located(
    cli_settings: Settings,
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    expected: str,
) -> None:
    path = export(cli_settings, tmp_path, capsys)
    lines = path.read_text().splitlines()
    if name == "edit":
        _edit(lines)
    elif name == "delete":
        del lines[7]
    elif name == "swap":
        lines[7], lines[8] = lines[8], lines[7]
    elif name == "duplicate":
        lines.insert(8, lines[7])
    elif name == "garbage":
        lines[7] = "{not json"
    else:
        del lines[29]
    path.write_text("\n".join(lines) + "\n")
    assert hub_audit(cli_settings, "verify", "--export", str(path)) == 1
    assert capsys.readouterr().out.startswith(expected)


def test_an_export_against_a_foreign_key_or_forged_checkpoint_fails(
    cli_settings: Settings, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = export(cli_settings, tmp_path, capsys)
    foreign = NoteSigner.generate(DEFAULT_ORIGIN)
    code = hub_audit(
        cli_settings, "verify", "--export", str(path), "--log-key", foreign.verifier().to_text()
    )
    assert code == 1
    assert capsys.readouterr().out.startswith("FAILED: bad-signature:")
    forged = tmp_path / "forged.checkpoint"
    forged.write_text(sign_checkpoint_with(Checkpoint(DEFAULT_ORIGIN, 30, b"\0" * 32), foreign))
    code = hub_audit(cli_settings, "verify", "--export", str(path), "--checkpoint", str(forged))
    assert code == 1
    assert capsys.readouterr().out.startswith("FAILED: bad-signature:")


def test_an_export_must_extend_earlier_checkpoints(
    cli_settings: Settings, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signer = KeyStoreLogSigner(keystore.load(cli_settings.keys_dir))
    earlier = tmp_path / "earlier.checkpoint"
    # Signed by the hub's own key, but of a history this log never had.
    earlier.write_text(sign_checkpoint_with(Checkpoint(DEFAULT_ORIGIN, 10, b"\5" * 32), signer))
    path = export(cli_settings, tmp_path, capsys)
    code = hub_audit(cli_settings, "verify", "--export", str(path), "--earlier", str(earlier))
    assert code == 1
    assert capsys.readouterr().out.startswith("FAILED: inconsistent-checkpoint:")


def test_the_live_store_verifies_and_a_changed_row_is_located(
    cli_settings: Settings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hub_audit(cli_settings, "checkpoint") == 0
    capsys.readouterr()
    assert hub_audit(cli_settings, "verify") == 0
    assert capsys.readouterr().out.startswith("ok: 30 entries, root ")
    with db.session() as session:
        session.execute(
            sa.text(
                "UPDATE audit_entries SET entry = replace(entry, 'housing', 'curiosity') "
                "WHERE idx = 12"
            )
        )
    assert hub_audit(cli_settings, "verify", "--batch", "8") == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED: altered at index 12:")
    assert "afm:" not in out


def test_consistency_with_an_earlier_checkpoint(
    cli_settings: Settings, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = build_audit_service(db, keystore.load(cli_settings.keys_dir))
    old = tmp_path / "old.checkpoint"
    old.write_text(audit.make_checkpoint()[0].note)
    log = SqlAccessLog(db)
    for i in range(30, 45):
        log.record(entry(i))
    audit.make_checkpoint()
    assert hub_audit(cli_settings, "consistency", "--old", str(old)) == 0
    assert capsys.readouterr().out == ("ok: the checkpoint of size 45 extends the one of size 30\n")
    signer = KeyStoreLogSigner(keystore.load(cli_settings.keys_dir))
    old.write_text(sign_checkpoint_with(Checkpoint(DEFAULT_ORIGIN, 20, b"\6" * 32), signer))
    assert hub_audit(cli_settings, "consistency", "--old", str(old)) == 1
    assert capsys.readouterr().out.startswith("FAILED: inconsistent-checkpoint:")


def test_verify_prints_every_finding_with_its_location(
    cli_settings: Settings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 12: a search column edited so the access leaves the citizen's view.
    assert hub_audit(cli_settings, "checkpoint") == 0
    with db.session() as session:
        session.execute(sa.text("UPDATE audit_entries SET subject='afm:000000000' WHERE idx=0"))
        session.execute(sa.text("UPDATE audit_entries SET purpose='x' WHERE idx=17"))
    capsys.readouterr()
    assert hub_audit(cli_settings, "verify") == 1
    assert capsys.readouterr().out.splitlines() == [
        "FAILED: altered at index 0: column subject differs from its entry",
        "FAILED: altered at index 17: column purpose differs from its entry",
    ]
