"""Rotation and revocation: what was signed before keeps verifying, what comes after does not.

A B-LT seal made before its key was revoked carries a timestamp that proves
it; the report stays valid and says the revocation came later. A seal made
with the same key after the revocation is revoked. Token keys overlap by the
life of the longest token; log keys overlap with checkpoints signed by both,
and the new log key is announced by a note the old one signed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography import x509

from hub.audit.keys import KeyStoreLogSigner
from hub.audit.service import sign_checkpoint_with
from hub.auth.token_keys import KeyStoreTokenKeys
from hub.domain.auditlog.checkpoint import Checkpoint, open_note, parse_verifier_key
from hub.domain.sealing import keystore
from hub.domain.sealing.errors import KeyStoreError
from hub.domain.sealing.keystore import FileKeyStore, KeyPurpose, KeyStatus
from hub.domain.sealing.pades import KeyStoreTimeStamper, PadesLevel, PdfSealer, verify_pdf
from hub.domain.sealing.pdf import RenderedCertificate
from hub.domain.sealing.report import Status


def _b_lt(store: FileKeyStore, pdf: bytes) -> bytes:
    return PdfSealer(store, level=PadesLevel.B_LT, timestamper=KeyStoreTimeStamper(store)).seal(pdf)


def test_a_b_lt_seal_made_before_the_revocation_stays_valid_and_says_so(
    fresh_dir: Path, render: Callable[[FileKeyStore], RenderedCertificate]
) -> None:
    before = keystore.load(fresh_dir)
    old = before.current(KeyPurpose.SEAL).kid
    sealed_before = _b_lt(before, render(before).pdf)
    keystore.rotate_seal_key(fresh_dir)
    # CRL times have whole seconds: let the revocation fall in a later one.
    time.sleep(1.1)
    revoked = keystore.revoke_seal_key(fresh_dir, None, old, reason=x509.ReasonFlags.key_compromise)
    assert revoked.status is KeyStatus.REVOKED
    assert revoked.revocation_reason == "key_compromise"
    after = keystore.load(fresh_dir)
    report = verify_pdf(sealed_before, after.trust())
    assert report.status is Status.VALID, report.reasons
    assert report.level is PadesLevel.B_LT
    assert "revoked" in report.reasons[0]
    assert "after this document was sealed" in report.reasons[0]
    # The CRL lists it, and the seal JWKS no longer offers it.
    crl = x509.load_der_x509_crl(after.crls()[KeyPurpose.ISSUING_CA])
    serial = before.certificate_chain(old)[0].serial_number
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert old not in {k["kid"] for k in after.jwks()["keys"]}


def test_a_seal_made_after_the_revocation_is_refused(
    fresh_dir: Path, render: Callable[[FileKeyStore], RenderedCertificate]
) -> None:
    stolen = keystore.load(fresh_dir)  # a copy of the key taken before it was revoked
    old = stolen.current(KeyPurpose.SEAL).kid
    keystore.rotate_seal_key(fresh_dir)
    keystore.revoke_seal_key(fresh_dir, None, old, at=datetime.now(UTC) - timedelta(minutes=5))
    after = keystore.load(fresh_dir)
    with pytest.raises(KeyStoreError):
        after.sign(old, b"the hub itself no longer signs with it")
    # B-T: a thief's sealer does not embed the revocation data that condemns it.
    forged = PdfSealer(stolen, level=PadesLevel.B_T, timestamper=KeyStoreTimeStamper(stolen)).seal(
        render(stolen).pdf
    )
    report = verify_pdf(forged, after.trust())
    assert report.status is Status.REVOKED, report.reasons


def test_the_current_and_imported_seal_keys_are_not_revoked_by_the_hub(fresh_dir: Path) -> None:
    current = keystore.load(fresh_dir).current(KeyPurpose.SEAL).kid
    with pytest.raises(KeyStoreError, match="rotate it first"):
        keystore.revoke_seal_key(fresh_dir, None, current)


def test_token_keys_overlap_until_the_old_tokens_expire(fresh_dir: Path) -> None:
    old_store = keystore.load(fresh_dir)
    old_keys = KeyStoreTokenKeys(old_store)
    token = old_keys.sign_jwt({"sub": "agency", "exp": 2_000_000_000}, typ="at+jwt")
    old_kid = jwt.get_unverified_header(token)["kid"]
    new = keystore.rotate_token_key(fresh_dir)
    keys = KeyStoreTokenKeys(keystore.load(fresh_dir))
    assert {k["kid"] for k in keys.jwks()["keys"]} == {old_kid, new.kid}
    assert keys.verification_key(old_kid) is not None  # old tokens still verify
    fresh = keys.sign_jwt({"sub": "agency"}, typ="at+jwt")
    assert jwt.get_unverified_header(fresh)["kid"] == new.kid
    retired = next(r for r in keystore.list_keys(fresh_dir) if r.kid == old_kid)
    assert retired.status is KeyStatus.RETIRED
    assert retired.not_after is not None
    assert retired.not_after - datetime.now(UTC) <= keystore.TOKEN_OVERLAP
    # Past the overlap the old key is gone from the set and verifies nothing.
    keystore.rotate_token_key(fresh_dir, now=datetime.now(UTC) - timedelta(hours=2))
    expired = KeyStoreTokenKeys(keystore.load(fresh_dir))
    assert expired.verification_key(new.kid) is None
    assert new.kid not in {k["kid"] for k in expired.jwks()["keys"]}


def test_during_a_log_key_overlap_checkpoints_carry_both_signatures(fresh_dir: Path) -> None:
    old = parse_verifier_key(keystore.load(fresh_dir).log_verifier_key())
    keystore.rotate_log_key(fresh_dir)
    store = keystore.load(fresh_dir)
    new = parse_verifier_key(store.log_verifier_key())
    assert new.key_id != old.key_id
    note = sign_checkpoint_with(
        Checkpoint("oncehub.gov.gr/log", 3, b"\x01" * 32), KeyStoreLogSigner(store)
    )
    # A monitor that knows only the old key, or only the new one, verifies it.
    for verifier in (old, new):
        _text, signatures = open_note(note, verifier)
        assert [s.key_id for s in signatures] == [verifier.key_id]
    assert len(open_note(note, [old, new])[1]) == 2
    # The announcement: signed by the old key, naming the new one.
    announcement = keystore.log_key_announcement(fresh_dir)
    assert announcement is not None
    text, _ = open_note(announcement, old)
    assert f"new {store.log_verifier_key()}" in text


def test_after_the_log_overlap_only_the_new_key_signs(fresh_dir: Path) -> None:
    keystore.rotate_log_key(fresh_dir, overlap=timedelta(seconds=-1))
    store = keystore.load(fresh_dir)
    note = sign_checkpoint_with(
        Checkpoint("oncehub.gov.gr/log", 3, b"\x01" * 32), KeyStoreLogSigner(store)
    )
    assert note.count("\u2014 ") == 1
