"""Seal, token and log keys in a PKCS#11 token: SoftHSM2, set up by the test itself.

The session gets its own SoftHSM2 token directory (``SOFTHSM2_CONF`` in
tmp); each test generates keys of its own labels there through ``hub keys
hsm … --generate``, and then seals a certificate PDF and an evidence record
whose signatures are made by the token. The tests skip only when SoftHSM2 is
not installed and CI is not set; in CI (``CI=true``) a missing SoftHSM2 is a
failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader

from adapters.hsm import Pkcs11Uri, generate_key, open_key
from hub.audit.keys import KeyStoreLogSigner
from hub.audit.service import sign_checkpoint_with
from hub.auth.token_keys import KeyStoreTokenKeys
from hub.cli.main import main
from hub.domain.auditlog.checkpoint import Checkpoint, open_note
from hub.domain.sealing import keystore
from hub.domain.sealing.errors import HsmError, KeyStoreError
from hub.domain.sealing.jws import seal_json, verify_jws
from hub.domain.sealing.keystore import KeyOrigin, KeyPurpose, KeyStatus
from hub.domain.sealing.pades import KeyStoreTimeStamper, PadesLevel, PdfSealer, verify_pdf
from hub.domain.sealing.pdf import render_certificate
from hub.domain.sealing.report import Status
from tests.unit.sealing.conftest import PUBLIC_URL, make_content

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "87654321"


def _softhsm_missing() -> str | None:
    if shutil.which("softhsm2-util") is None:
        return "softhsm2-util is not installed"
    if not MODULE.exists():
        return f"{MODULE} is missing"
    return None


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SoftHSM2 token for the session (the module reads its configuration once
    per process); each test uses object labels of its own. Yields the token label."""
    reason = _softhsm_missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the HSM tests cannot run in CI: {reason} (install softhsm2)")
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("softhsm")
    tokens = home / "tokens"
    tokens.mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(  # fixed arguments
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                "hub",
                "--pin",
                PIN,
                "--so-pin",
                "12345678",
            ],
            check=True,
            capture_output=True,
        )
        yield "hub"


@pytest.fixture
def token(softhsm: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HUB_HSM_PIN", PIN)
    return softhsm


@pytest.fixture
def label(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Object labels unique to the test, in the shared token."""
    stem = request.node.name[-24:].replace("[", "-").replace("]", "")
    return lambda name: f"{stem}-{name}"


def _uri(token: str, name: str) -> str:
    return f"pkcs11:token={token};object={name}?module-path={MODULE}&pin-source=env:HUB_HSM_PIN"


@pytest.fixture
def keys_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys"
    keystore.init(path, None, public_url=PUBLIC_URL)
    monkeypatch.setenv("HUB_KEYS_DIR", str(path))
    return path


def _hsm(purpose: str, uri: str) -> None:
    assert main(["keys", "hsm", purpose, uri, "--generate"]) == 0


def test_a_seal_key_in_the_hsm_seals_pdfs_and_evidence(
    token: str, keys_dir: Path, capsys: pytest.CaptureFixture[str], label: Callable[[str], str]
) -> None:
    _hsm("seal", _uri(token, label("seal-1")))
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "hsm" in listing
    assert f"pkcs11:token={token};object={label('seal-1')}" in listing
    store = keystore.load(keys_dir, hsm=open_key)
    seal = store.current(KeyPurpose.SEAL)
    assert seal.origin is KeyOrigin.HSM
    assert seal.key_file is None  # nothing private on disk
    assert not list(keys_dir.glob(f"seal-{seal.kid}.key.pem"))
    rendered = render_certificate(make_content(), store, PUBLIC_URL)
    pdf = PdfSealer(store, level=PadesLevel.B_LT, timestamper=KeyStoreTimeStamper(store)).seal(
        rendered.pdf
    )
    report = verify_pdf(pdf, store.trust())
    assert report.status is Status.VALID, report.reasons
    assert report.kid == seal.kid
    assert report.level is PadesLevel.B_LT
    signer = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures[0].signer_cert
    assert signer.public_key.dump() == _spki(store, seal.kid)
    evidence = seal_json({"evidence": {"n": 1}}, store)
    assert verify_jws(evidence, store.trust()).status is Status.VALID
    # Without the HSM opened, the store knows the key but cannot sign with it.
    with pytest.raises(KeyStoreError, match="HSM"):
        keystore.load(keys_dir).sign(seal.kid, b"x")


def test_the_hsm_seal_key_rotates_and_old_seals_keep_verifying(
    token: str, keys_dir: Path, label: Callable[[str], str]
) -> None:
    _hsm("seal", _uri(token, label("seal-1")))
    first = keystore.load(keys_dir, hsm=open_key)
    old_pdf = PdfSealer(first).seal(render_certificate(make_content(), first, PUBLIC_URL).pdf)
    _hsm("seal", _uri(token, label("seal-2")))
    second = keystore.load(keys_dir, hsm=open_key)
    assert second.current(KeyPurpose.SEAL).kid != first.current(KeyPurpose.SEAL).kid
    assert second.record(first.current(KeyPurpose.SEAL).kid).status is KeyStatus.RETIRED
    new_pdf = PdfSealer(second).seal(render_certificate(make_content(), second, PUBLIC_URL).pdf)
    for pdf in (old_pdf, new_pdf):
        assert verify_pdf(pdf, second.trust()).status is Status.VALID
    # The label of a key that exists is never generated over.
    with pytest.raises(HsmError, match="already holds"):
        generate_key(_uri(token, label("seal-2")), "ES256")


def test_token_and_log_keys_in_the_hsm_sign(
    token: str, keys_dir: Path, label: Callable[[str], str]
) -> None:
    _hsm("token", _uri(token, label("token-1")))
    _hsm("log", _uri(token, label("log-1")))
    store = keystore.load(keys_dir, hsm=open_key)
    keys = KeyStoreTokenKeys(store)
    minted = keys.sign_jwt({"sub": "x", "exp": 2_000_000_000}, typ="at+jwt")
    kid = jwt.get_unverified_header(minted)["kid"]
    assert kid == store.current(KeyPurpose.TOKEN).kid
    claims = jwt.decode(minted, keys.verification_key(kid), algorithms=["ES256"])
    assert claims["sub"] == "x"
    signer = KeyStoreLogSigner(store)
    note = sign_checkpoint_with(Checkpoint("oncehub.gov.gr/log", 1, b"\x02" * 32), signer)
    _text, signatures = open_note(note, signer.verifier())
    assert signatures[0].key_id == signer.key_id


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        ("file:///etc/passwd", "not a PKCS#11 URI"),
        ("pkcs11:token=hub?module-path=/x.so", "object"),
        ("pkcs11:token=hub;object=seal", "module-path"),
        ("pkcs11:token=hub;object=seal?module-path=/x.so&pin-value=1234", "pin-source"),
    ],
)
def test_bad_uris_are_refused(uri: str, said: str) -> None:
    with pytest.raises(HsmError, match=said):
        Pkcs11Uri.parse(uri)


def test_a_missing_key_and_a_missing_token_are_hsm_errors(
    token: str, label: Callable[[str], str]
) -> None:
    with pytest.raises(HsmError, match="no usable key"):
        open_key(_uri(token, label("never-made")))
    with pytest.raises(HsmError, match="cannot open"):
        open_key(_uri(token, "x").replace(f"token={token}", "token=other"))


def _spki(store: keystore.FileKeyStore, kid: str) -> bytes:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    return store.public_key(kid).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_a_lost_session_is_opened_again(token: str, label: Callable[[str], str]) -> None:
    key = generate_key(_uri(token, label("seal")), "ES256")
    before = key.sign(b"first")
    # The token forgets the session (a restart, a timeout): the next signature logs in again.
    key._session.session.close()
    after = key.sign(b"second")
    public = key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(before, b"first", ec.ECDSA(hashes.SHA256()))
    public.verify(after, b"second", ec.ECDSA(hashes.SHA256()))
