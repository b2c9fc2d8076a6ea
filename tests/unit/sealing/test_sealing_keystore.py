"""The development PKI and the file-backed key store."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from hub.domain.sealing import keystore
from hub.domain.sealing.errors import KeyStoreError, KeyStoreExists, KeyStoreLocked
from hub.domain.sealing.keystore import FileKeyStore, KeyPurpose, KeyStatus, KeyStore
from hub.domain.sealing.pki import certificate_kid


def _cert(store: FileKeyStore, purpose: KeyPurpose) -> x509.Certificate:
    return store.certificate_chain(store.current(purpose).kid)[0]


def test_file_store_implements_the_port(store: FileKeyStore) -> None:
    assert isinstance(store, KeyStore)


def test_chain_runs_root_to_issuing_ca_to_seal(store: FileKeyStore) -> None:
    seal, issuing = store.certificate_chain(store.current(KeyPurpose.SEAL).kid)
    root = _cert(store, KeyPurpose.ROOT_CA)
    seal.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    for ca in (root, issuing):
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert store.trust().check(seal, at=datetime.now(UTC)).ok


def test_seal_certificate_is_for_non_repudiation_only(store: FileKeyStore) -> None:
    seal = _cert(store, KeyPurpose.SEAL)
    usage = seal.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not seal.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(seal.public_key(), ec.EllipticCurvePublicKey)
    assert seal.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    subject = seal.subject
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "GR"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    org_id = subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value
    assert org_id == "VATGR-090000045"
    points = seal.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value.endswith("/pki/issuing-ca.crl")


def test_tsa_certificate_has_critical_timestamping_eku(store: FileKeyStore) -> None:
    eku = _cert(store, KeyPurpose.TSA).extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert [oid.dotted_string for oid in eku.value] == ["1.3.6.1.5.5.7.3.8"]


def test_private_keys_are_0600_and_encrypted(keys_dir: Path) -> None:
    key_files = sorted(keys_dir.glob("*.key.pem"))
    assert len(key_files) == 6
    for path in key_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        data = path.read_bytes()
        assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(data, password=None)
    assert stat.S_IMODE((keys_dir / "chain.pem").stat().st_mode) == 0o644


def test_encrypted_store_needs_the_right_passphrase(keys_dir: Path, passphrase: str) -> None:
    with pytest.raises(KeyStoreLocked):
        keystore.load(keys_dir)
    with pytest.raises(KeyStoreLocked):
        keystore.load(keys_dir, "wrong passphrase")
    assert keystore.load(keys_dir, passphrase).current(KeyPurpose.SEAL)


def test_unencrypted_store_loads_without_passphrase(fresh_dir: Path) -> None:
    data = next(fresh_dir.glob("seal-*.key.pem")).read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert keystore.load(fresh_dir).current(KeyPurpose.SEAL)


def test_init_refuses_to_overwrite(fresh_dir: Path) -> None:
    before = {p.name: p.read_bytes() for p in fresh_dir.iterdir()}
    with pytest.raises(KeyStoreExists):
        keystore.init(fresh_dir)
    again = keystore.init(fresh_dir, exist_ok=True)
    assert [r.kid for r in again] == [r.kid for r in keystore.list_keys(fresh_dir)]
    assert {p.name: p.read_bytes() for p in fresh_dir.iterdir()} == before


def test_init_refuses_a_directory_with_stray_keys(tmp_path: Path) -> None:
    (tmp_path / "old.key.pem").write_text("x")
    with pytest.raises(KeyStoreExists):
        keystore.init(tmp_path)


def test_load_of_an_empty_directory_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="init"):
        keystore.load(tmp_path)


def test_manifest_lists_every_key_with_derived_kids(store: FileKeyStore, keys_dir: Path) -> None:
    manifest = json.loads((keys_dir / "manifest.json").read_text())
    purposes = sorted(k["purpose"] for k in manifest["keys"])
    assert purposes == ["issuing-ca", "log", "root-ca", "seal", "token", "tsa"]
    for row in manifest["keys"]:
        assert row["status"] == "current"
        assert row["not_before"]
    seal = store.current(KeyPurpose.SEAL)
    assert seal.kid == certificate_kid(_cert(store, KeyPurpose.SEAL))
    token_key = store.public_key(store.current(KeyPurpose.TOKEN).kid)
    assert isinstance(token_key, ec.EllipticCurvePublicKey)
    assert store.current(KeyPurpose.TOKEN).kid == keystore.jwk_thumbprint(token_key)
    assert store.current(KeyPurpose.LOG).kid.startswith("oncehub.gov.gr/log+")


def test_jwks_publishes_only_seal_keys_without_secrets(store: FileKeyStore) -> None:
    jwks = store.jwks()
    seal_kid = store.current(KeyPurpose.SEAL).kid
    by_kid = {k["kid"]: k for k in jwks["keys"]}
    # The token key is published apart (hub/auth/token_keys.py), never among the seals.
    assert set(by_kid) == {seal_kid}
    seal = by_kid[seal_kid]
    assert seal["alg"] == "ES256"
    assert seal["crv"] == "P-256"
    assert "d" not in seal
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in seal["x5c"]]
    assert [certificate_kid(c) for c in chain] == [
        seal_kid,
        store.current(KeyPurpose.ISSUING_CA).kid,
    ]
    assert seal["x5t#S256"] == seal_kid


def test_the_jwk_thumbprint_matches_rfc_7638_example() -> None:
    # RFC 7638 §3.1 gives no EC example; check the definition directly.
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    members = keystore.ec_public_jwk(key)
    assert list(members) == ["crv", "kty", "x", "y"]
    assert len(keystore.jwk_thumbprint(key)) == 43


def test_pem_chain_is_root_first(store: FileKeyStore) -> None:
    certs = x509.load_pem_x509_certificates(store.pem_chain().encode())
    assert [certificate_kid(c) for c in certs] == [
        store.current(KeyPurpose.ROOT_CA).kid,
        store.current(KeyPurpose.ISSUING_CA).kid,
    ]


def test_log_verifier_key_is_a_signed_note_key(store: FileKeyStore) -> None:
    name, key_hash, encoded = store.log_verifier_key().split("+", 2)
    raw = base64.b64decode(encoded)
    assert name == "oncehub.gov.gr/log"
    assert len(key_hash) == 8
    assert raw[0] == 1
    assert len(raw) == 33
    public = ed25519.Ed25519PublicKey.from_public_bytes(raw[1:])
    signature = store.sign(store.current(KeyPurpose.LOG).kid, b"checkpoint")
    public.verify(signature, b"checkpoint")


def test_rotation_retires_the_old_key_and_keeps_it_published(fresh_dir: Path) -> None:
    old = keystore.load(fresh_dir).current(KeyPurpose.SEAL)
    new = keystore.rotate_seal_key(fresh_dir)
    store = keystore.load(fresh_dir)
    assert store.current(KeyPurpose.SEAL).kid == new.kid != old.kid
    assert store.record(old.kid).status is KeyStatus.RETIRED
    assert [k["kid"] for k in store.jwks()["keys"][:2]] == [new.kid, old.kid]
    assert store.trust().certificate_for(old.kid) is not None
    with pytest.raises(KeyStoreError):
        store.sign(old.kid, b"retired keys do not sign")


def test_revocation_puts_the_serial_on_the_crl(fresh_dir: Path) -> None:
    old = keystore.load(fresh_dir).current(KeyPurpose.SEAL)
    with pytest.raises(KeyStoreError, match="rotate"):
        keystore.revoke_seal_key(fresh_dir, None, old.kid)
    keystore.rotate_seal_key(fresh_dir)
    keystore.revoke_seal_key(fresh_dir, None, old.kid)
    store = keystore.load(fresh_dir)
    serial = store.certificate_chain(old.kid)[0].serial_number
    crl = x509.load_pem_x509_crl((fresh_dir / "issuing-ca.crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert store.record(old.kid).status is KeyStatus.REVOKED
    assert old.kid not in {k["kid"] for k in store.jwks()["keys"]}


def _addresses(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return (
        [str(name.value) for point in points for name in point.full_name or ()],
        [
            str(a.access_location.value)
            for a in access
            if a.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        ],
    )


def test_every_issued_certificate_names_its_crl_and_its_issuer(fresh_dir: Path) -> None:
    base = "https://oncehub.example.gr"
    store = keystore.load(fresh_dir)
    seal = store.certificate_chain(store.current(KeyPurpose.SEAL).kid)[0]
    issuing = store.certificate_chain(store.current(KeyPurpose.ISSUING_CA).kid)[0]
    tsa = store.certificate_chain(store.current(KeyPurpose.TSA).kid)[0]
    assert _addresses(seal) == ([f"{base}/pki/issuing-ca.crl"], [f"{base}/pki/issuing-ca.crt"])
    assert _addresses(issuing) == ([f"{base}/pki/root-ca.crl"], [f"{base}/pki/root-ca.crt"])
    assert _addresses(tsa) == ([f"{base}/pki/root-ca.crl"], [f"{base}/pki/root-ca.crt"])
    rotated = keystore.rotate_seal_key(fresh_dir)
    again = keystore.load(fresh_dir).certificate_chain(rotated.kid)[0]
    assert _addresses(again) == _addresses(seal)
    assert store.ca_certificate(KeyPurpose.ROOT_CA) == store.trust().roots[0].public_bytes(
        serialization.Encoding.DER
    )


def test_the_seal_certificate_is_an_e_seal_and_nothing_else(store: FileKeyStore) -> None:
    seal = store.certificate_chain(store.current(KeyPurpose.SEAL).kid)[0]
    usage = seal.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment  # nonRepudiation
    assert not usage.value.key_encipherment
    assert not usage.value.key_agreement
    assert not usage.value.key_cert_sign
    # No extended key usage at all: not a TLS client (nor server) certificate.
    with pytest.raises(x509.ExtensionNotFound):
        seal.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert not seal.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
