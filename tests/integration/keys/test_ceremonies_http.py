"""Each key ceremony of docs/operating.md, done with the ``hub keys`` commands, seen over HTTP.

The operator imports a PKCS#12 seal from a CA the hub does not own, trusts an
outside TSA and points the hub at it; a certificate issued over HTTP is then
sealed by that key and timestamped by that TSA, and pyHanko — trusting only
the two outside roots and reading only the file — finds it valid. A TSA that
is down gives a 503 problem, never a silent B-B. Production refuses to start
with development keys or an http:// address. Token and log keys rotate with
an overlap, and a revoked seal key is on the CRL the hub serves.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import requests
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore

from hub.app import build_services, production_refusals
from hub.cli.keys import ensure_keys
from hub.cli.main import main
from hub.config import Settings
from hub.domain.auditlog.checkpoint import open_note, parse_verifier_key
from hub.domain.sealing import keystore
from hub.domain.sealing.keystore import KeyPurpose
from hub.domain.sealing.pki import new_ec_key
from tests.common.clients import agency_token, post_evidence
from tests.common.outside_pki import OutsideCA, TestTSA, running_tsa
from tests.common.server import free_port, serve, serve_hub
from tests.integration.certificates.test_cert_http import citizen_token

P12_PASSWORD = "pkcs12 passphrase of the ceremony"


@pytest.fixture
def own(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with a key store of this test's own, which ``hub keys`` also finds."""
    mine = replace(settings, keys_dir=tmp_path / "keys")
    ensure_keys(mine)
    monkeypatch.setenv("HUB_KEYS_DIR", str(mine.keys_dir))
    return mine


def _living(citizens: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in citizens if not c.get("deceased"))


def _issue(url: str, keys_dir: Path, citizen: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{url}/v1/me/certificates",
        json={"type": "birth-certificate"},
        headers={"Authorization": f"Bearer {citizen_token(url, keys_dir, citizen)}"},
        timeout=60,
    )


def _write_crls(directory: Path, ca: OutsideCA, stem: str) -> list[str]:
    paths = []
    for index, crl in enumerate(ca.crls()):
        path = directory / f"{stem}-{index}.crl"
        path.write_bytes(crl.public_bytes(Encoding.DER))
        paths.append(str(path))
    return paths


@pytest.fixture
def imported(
    own: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, OutsideCA, TestTSA]:
    """The import and TSA ceremonies done with the CLI; yields the hub's settings."""
    ca = OutsideCA.create()
    key = new_ec_key()
    (tmp_path / "seal.p12").write_bytes(ca.pkcs12(key, ca.issue_seal(key), P12_PASSWORD.encode()))
    monkeypatch.setenv("SEAL_P12_PASSPHRASE", P12_PASSWORD)
    crls = _write_crls(tmp_path, ca, "seal-ca")
    command = ["keys", "import", "seal", "--pkcs12", str(tmp_path / "seal.p12")]
    command += ["--passphrase-env", "SEAL_P12_PASSPHRASE"]
    for path in crls:
        command += ["--crl", path]
    assert main(command) == 0
    tsa_ca = OutsideCA.create("Independent Time")
    (tmp_path / "tsa-ca.pem").write_bytes(tsa_ca.chain_pem())
    command = ["keys", "import", "ca", str(tmp_path / "tsa-ca.pem")]
    for path in _write_crls(tmp_path, tsa_ca, "tsa-ca"):
        command += ["--crl", path]
    assert main(command) == 0
    return own, ca, TestTSA(tsa_ca)


def test_an_imported_seal_and_an_outside_tsa_make_the_issued_certificate(
    imported: tuple[Settings, OutsideCA, TestTSA],
    citizens: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings, ca, tsa = imported
    assert main(["keys", "list"]) == 0
    assert "imported" in capsys.readouterr().out
    credentials = ("hub", "tsa password")
    with running_tsa(tsa, basic=credentials) as tsa_url:
        hub = replace(settings, tsa_url=tsa_url, tsa_credentials=credentials)
        with serve_hub(hub) as (url, _, _):
            response = _issue(url, settings.keys_dir, _living(citizens))
            assert response.status_code == 201, response.text
            pdf = response.content
            report = requests.post(
                f"{url}/v1/verify",
                data=pdf,
                headers={"Content-Type": "application/pdf"},
                timeout=60,
            ).json()
            bundle = requests.get(f"{url}/v1/trust/certificates.pem", timeout=10).text
            jwks = requests.get(f"{url}/.well-known/jwks.json", timeout=10).json()
    assert tsa.requests >= 1
    assert report["status"] == "valid", report
    assert report["level"] == "B-LT"
    published = x509.load_pem_x509_certificates(bundle.encode())
    assert ca.root in published
    x5c = jwks["keys"][0]["x5c"]
    assert x509.load_der_x509_certificate(base64.b64decode(x5c[1])) == ca.issuing
    reader = PdfFileReader(BytesIO(pdf))
    dss = DocumentSecurityStore.read_dss(reader)

    def only(root: x509.Certificate) -> Any:
        anchor = asn1_x509.Certificate.load(root.public_bytes(Encoding.DER))
        return dss.as_validation_context(
            {"trust_roots": [anchor], "allow_fetching": False, "revocation_mode": "hard-fail"}
        )

    status = validate_pdf_signature(
        reader.embedded_regular_signatures[0],
        signer_validation_context=only(ca.root),
        ts_validation_context=only(tsa.ca.root),
    )
    assert status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
    assert status.signing_cert.issuer.native["common_name"] == "Test Trust Services Issuing CA"


def test_a_tsa_that_is_down_is_a_503_problem_unless_a_fallback_is_configured(
    own: Settings, citizens: list[dict[str, Any]]
) -> None:
    dead = "http://127.0.0.1:9/tsa"  # the discard port: nothing listens
    with serve_hub(replace(own, tsa_url=dead, tsa_timeout=2)) as (url, _, _):
        refused = _issue(url, own.keys_dir, _living(citizens))
    assert refused.status_code == 503, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/timestamp-authority-unavailable")
    lowered = replace(own, tsa_url=dead, tsa_timeout=2, tsa_fallback="B-B")
    with serve_hub(lowered) as (url, _, _):
        issued = _issue(url, own.keys_dir, _living(citizens))
        assert issued.status_code == 201, issued.text
        report = requests.post(
            f"{url}/v1/verify",
            data=issued.content,
            headers={"Content-Type": "application/pdf"},
            timeout=60,
        ).json()
    assert report["status"] == "valid"
    assert report["level"] == "B-B"  # the report says what the document is


def test_production_refuses_development_keys_and_http_and_says_which(
    own: Settings,
    imported: tuple[Settings, OutsideCA, TestTSA],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {
        "HUB_ENV": "production",
        "HUB_DATABASE_URL": own.database_url,
        "HUB_REGISTRY_CREDENTIALS_SOCIAL_SECURITY": "hub:secret",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--port", "1"]) != 0
    said = capsys.readouterr().err
    assert "https://" in said
    assert "development" in said
    assert "HUB_TSA_URL" in said  # the development TSA would timestamp
    production = replace(
        own,
        env="production",
        public_url="https://hub.example.gr",
        tsa_url="https://tsa.example.gr",
        registry_credentials={"social-security": ("hub", "secret")},
    )
    services = build_services(production)
    try:
        assert production_refusals(production, services.keystore) == []
    finally:
        services.close()


@contextmanager
def _at(settings: Settings, port: int) -> Iterator[str]:
    """The hub at one fixed address, so that a restart keeps its issuer name."""
    from hub.app import create_app  # noqa: PLC0415
    from hub.persistence import migrate  # noqa: PLC0415

    settings = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings)
    try:
        migrate.upgrade(services.db)
        with serve(create_app(services=services), port=port) as url:
            yield url
    finally:
        services.close()


def test_token_keys_rotate_with_an_overlap(own: Settings) -> None:
    port = free_port()
    with _at(own, port) as url:
        old_token = agency_token(url, own.keys_dir, "opeka")
        before = requests.get(f"{url}/oauth2/jwks.json", timeout=10).json()["keys"]
    assert main(["keys", "rotate", "token"]) == 0
    with _at(own, port) as url:
        after = requests.get(f"{url}/oauth2/jwks.json", timeout=10).json()["keys"]
        new_token = agency_token(url, own.keys_dir, "opeka")
        # An empty request: refused as invalid (400) when the token is good,
        # as unauthenticated (401) when it is not.
        with_old = post_evidence(url, old_token, {})
        with_forged = post_evidence(url, old_token[:-4] + "AAAA", {})
    assert len(before) == 1
    assert len(after) == 2
    assert {k["kid"] for k in before} < {k["kid"] for k in after}
    assert _kid(new_token) != _kid(old_token)
    assert _kid(new_token) in {k["kid"] for k in after}
    assert with_forged.status_code == 401
    assert with_old.status_code != 401, with_old.text


def test_a_key_id_that_begins_with_a_dash_is_read_as_a_key_id(
    own: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # One key id in 64 begins with "-": after "--" it is looked up (and here
    # refused as unknown), not taken for an option argparse exits on.
    assert main(["keys", "revoke", "--reason", "superseded", "seal", "--", "-NoSuchKey"]) != 0
    said = capsys.readouterr().err
    assert "-NoSuchKey" in said
    assert "arguments are required" not in said


def test_a_revoked_seal_key_is_on_the_crl_the_hub_serves(own: Settings) -> None:
    old = keystore.load(own.keys_dir)
    old_kid = old.current(KeyPurpose.SEAL).kid
    serial = old.certificate_chain(old_kid)[0].serial_number
    # A key id is base64url and may begin with "-": it goes after "--".
    revoke = ["keys", "revoke", "--reason", "key-compromise", "seal", "--", old_kid]
    assert main(revoke) != 0
    assert main(["keys", "rotate", "seal"]) == 0
    assert main(revoke) == 0
    with serve_hub(own) as (url, _, _):
        pki = requests.get(f"{url}/pki/issuing-ca.crl", timeout=10)
        trust = requests.get(f"{url}/v1/trust/crl", timeout=10)
        jwks = requests.get(f"{url}/.well-known/jwks.json", timeout=10).json()
    for response in (pki, trust):
        crl = x509.load_der_x509_crl(response.content)
        entry = crl.get_revoked_certificate_by_serial_number(serial)
        assert entry is not None
    assert old_kid not in {k["kid"] for k in jwks["keys"]}
    assert jwks["revoked"] == [
        {"kid": old_kid, "revoked_at": jwks["revoked"][0]["revoked_at"], "reason": "key_compromise"}
    ]


def test_a_rotated_log_key_is_announced_by_the_old_one(own: Settings) -> None:
    old = parse_verifier_key(keystore.load(own.keys_dir).log_verifier_key())
    assert main(["keys", "rotate", "log"]) == 0
    with serve_hub(own) as (url, _, _):
        published = requests.get(f"{url}/v1/audit/log-keys", timeout=10).json()
    assert [k["status"] for k in published["keys"]] == ["retired", "current"]
    text, _ = open_note(published["announcement"], old)
    assert f"new {published['keys'][1]['verifierKey']}" in text


def _kid(token: str) -> str:
    import json  # noqa: PLC0415

    header = token.split(".", maxsplit=1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def test_the_live_log_verifies_across_a_log_key_rotation(
    own: Settings,
    citizens: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", own.database_url)
    with serve_hub(own) as (url, services, _):
        assert _issue(url, own.keys_dir, _living(citizens)).status_code == 201
        before, _ = services.audit.make_checkpoint()
    assert before.note.count("\u2014 ") == 1
    assert main(["keys", "rotate", "log"]) == 0
    with serve_hub(own) as (url, services, _):
        assert _issue(url, own.keys_dir, _living(citizens)).status_code == 201
        during, _ = services.audit.make_checkpoint()
    assert during.note.count("\u2014 ") == 2  # the new key's and the old one's
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0, capsys.readouterr()
    assert capsys.readouterr().out.startswith("ok:")
