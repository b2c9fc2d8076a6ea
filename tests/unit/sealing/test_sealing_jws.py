"""JSON seals: compact JWS with kid and x5c, verified against the trust chain."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.domain.sealing import keystore
from hub.domain.sealing.errors import SealingError
from hub.domain.sealing.jws import (
    canonical_json,
    record_digest,
    seal_json,
    sign_compact,
    verify_jws,
)
from hub.domain.sealing.keystore import FileKeyStore, KeyPurpose
from hub.domain.sealing.report import Indication, Status, SubIndication

PAYLOAD = {"evidence": "birth", "fields": {"name": "Μαρία", "born": "1985-03-12"}}


def _parts(token: str) -> list[str]:
    return token.split(".")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_round_trip(store: FileKeyStore) -> None:
    token = seal_json(PAYLOAD, store)
    report = verify_jws(token, store.trust())
    assert report.status is Status.VALID
    assert report.indication is Indication.TOTAL_PASSED
    assert report.sub_indication is None
    assert report.kid == store.current(KeyPurpose.SEAL).kid
    assert report.payload is not None
    assert report.payload["fields"] == PAYLOAD["fields"]
    assert report.signing_time is not None
    assert "2.5.4.97=VATGR-090000045" in (report.signer or "")


def test_header_carries_kid_and_x5c(store: FileKeyStore) -> None:
    header = json.loads(base64.urlsafe_b64decode(_parts(seal_json(PAYLOAD, store))[0] + "=="))
    assert header["alg"] == "ES256"
    assert header["kid"] == store.current(KeyPurpose.SEAL).kid
    assert len(header["x5c"]) == 2


def test_payload_is_canonical_json(store: FileKeyStore) -> None:
    token = seal_json({"b": 1, "a": "α"}, store, now=datetime(2026, 1, 1, tzinfo=UTC))
    body = base64.urlsafe_b64decode(_parts(token)[1] + "==")
    assert body == canonical_json({"a": "α", "b": 1, "iat": 1767225600})


def test_a_second_jose_library_accepts_the_seal(store: FileKeyStore) -> None:
    # joserfc is a dev-only cross-check; skip cleanly where it is not installed.
    jose_jws = pytest.importorskip("joserfc.jws")
    eckey = pytest.importorskip("joserfc.jwk").ECKey

    class _Registry(jose_jws.JWSRegistry):  # type: ignore[name-defined,misc]
        # joserfc caps protected headers at 512 bytes; x5c with two P-256
        # certificates needs about 1.5 KB, so a verifier must raise the cap.
        max_header_length = 8192

    token = seal_json(PAYLOAD, store)
    jwk = next(k for k in store.jwks()["keys"] if k["kid"] == store.current(KeyPurpose.SEAL).kid)
    key = eckey.import_key({k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y")})
    result = jose_jws.deserialize_compact(token, key, algorithms=["ES256"], registry=_Registry())
    assert json.loads(result.payload)["evidence"] == "birth"
    assert result.headers()["kid"] == jwk["kid"]


def test_tampered_payload_is_invalid(store: FileKeyStore) -> None:
    header, body, signature = _parts(seal_json(PAYLOAD, store))
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["fields"]["born"] = "1975-03-12"
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    report = verify_jws(forged, store.trust())
    assert report.status is Status.INVALID
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication is SubIndication.SIG_CRYPTO_FAILURE
    assert report.payload is None


def test_unknown_signer_is_unknown(store: FileKeyStore, other_store: FileKeyStore) -> None:
    report = verify_jws(seal_json(PAYLOAD, other_store), store.trust())
    assert report.status is Status.UNKNOWN
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


def test_swapped_x5c_does_not_borrow_trust(store: FileKeyStore, other_store: FileKeyStore) -> None:
    # A stranger's token presenting the hub's certificates fails on the signature.
    ours = json.loads(base64.urlsafe_b64decode(_parts(seal_json(PAYLOAD, store))[0] + "=="))
    _, body, signature = _parts(seal_json(PAYLOAD, other_store))
    forged = ".".join([_b64(json.dumps(ours).encode()), body, signature])
    assert verify_jws(forged, store.trust()).status is Status.INVALID


def test_revoked_certificate_is_revoked(fresh_dir: Path) -> None:
    token = seal_json(PAYLOAD, keystore.load(fresh_dir))
    old = keystore.load(fresh_dir).current(KeyPurpose.SEAL).kid
    keystore.rotate_seal_key(fresh_dir)
    keystore.revoke_seal_key(fresh_dir, None, old)
    report = verify_jws(token, keystore.load(fresh_dir).trust())
    assert report.status is Status.REVOKED
    assert report.sub_indication in {SubIndication.REVOKED, SubIndication.REVOKED_NO_POE}


def test_rotation_keeps_old_seals_valid(fresh_dir: Path) -> None:
    token = seal_json(PAYLOAD, keystore.load(fresh_dir))
    keystore.rotate_seal_key(fresh_dir)
    store = keystore.load(fresh_dir)
    assert verify_jws(token, store.trust()).status is Status.VALID
    new = verify_jws(seal_json(PAYLOAD, store), store.trust())
    assert new.status is Status.VALID
    assert new.kid == store.current(KeyPurpose.SEAL).kid


def test_seal_after_certificate_expiry_is_expired(tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(days=10)
    keystore.init(tmp_path / "k", now=start, seal_validity=timedelta(days=1))
    store = keystore.load(tmp_path / "k")
    token = seal_json(PAYLOAD, store, now=start + timedelta(days=2))
    report = verify_jws(token, store.trust())
    assert report.status is Status.EXPIRED
    assert report.sub_indication is SubIndication.OUT_OF_BOUNDS_NO_POE
    # Sealed while the certificate was valid: still valid after it expired.
    inside = seal_json(PAYLOAD, store, now=start + timedelta(hours=2))
    assert verify_jws(inside, store.trust()).status is Status.VALID


def test_future_iat_is_rejected(store: FileKeyStore) -> None:
    token = seal_json(PAYLOAD, store, now=datetime.now(UTC) + timedelta(days=1))
    assert verify_jws(token, store.trust()).status is Status.INVALID


def test_kid_only_token_uses_the_published_certificate(store: FileKeyStore) -> None:
    iat = int(datetime.now(UTC).timestamp())
    token = sign_compact({"code": "X", "iat": iat}, store, with_x5c=False, typ=None)
    report = verify_jws(token, store.trust())
    assert report.status is Status.VALID
    header = json.loads(base64.urlsafe_b64decode(_parts(token)[0] + "=="))
    assert set(header) == {"alg", "kid"}


def test_kid_that_names_another_certificate_is_invalid(store: FileKeyStore) -> None:
    header, body, signature = _parts(seal_json(PAYLOAD, store))
    fields = json.loads(base64.urlsafe_b64decode(header + "=="))
    fields["kid"] = "A" * 43
    forged = ".".join([_b64(json.dumps(fields).encode()), body, signature])
    report = verify_jws(forged, store.trust())
    assert report.status is Status.INVALID
    assert report.sub_indication is SubIndication.FORMAT_FAILURE


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b.c",
        "a.b.c.d",
        "...",
        "eyJhbGciOiJub25lIn0.e30.",
        _b64(b'{"alg":"HS256","kid":"x"}') + ".e30.c2ln",
        _b64(b'{"alg":"ES256","x5c":"not a list"}') + ".e30.c2ln",
        _b64(b'{"alg":"ES256","x5c":["!!"]}') + ".e30.c2ln",
        _b64(b'{"alg":"ES256","x5c":["AAAA"]}') + ".e30.c2ln",
        _b64(b'["alg"]') + ".e30.c2ln",
        "x" * 100_000,
    ],
)
def test_malformed_tokens_become_reports(store: FileKeyStore, token: str) -> None:
    report = verify_jws(token, store.trust())
    assert report.status in {Status.INVALID, Status.UNKNOWN}
    assert report.reasons


def test_non_ascii_bytes_become_a_report(store: FileKeyStore) -> None:
    assert verify_jws("αβγ.δ.ε".encode(), store.trust()).status is Status.INVALID


def test_record_digest_ignores_key_order() -> None:
    assert record_digest({"a": 1, "b": [1, 2]}) == record_digest({"b": [1, 2], "a": 1})
    assert record_digest({"a": 1}) != record_digest({"a": 2})


def test_uncanonicalisable_record_is_a_sealing_error() -> None:
    with pytest.raises(SealingError):
        record_digest({"when": datetime.now(UTC)})
