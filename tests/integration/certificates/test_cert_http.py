"""Sealed certificates over real HTTP: issue, verify (upload, code, offline), revoke.

Each check an outside party would make is made here with independent tools:
pyhanko through the hub's verifier, poppler's ``pdfsig``, and joserfc (a
second JOSE library) against the published JWKS.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from sqlalchemy import func, select

from hub.auth.service import TokenService
from hub.auth.token_keys import KeyStoreTokenKeys
from hub.config import Settings
from hub.domain.sealing import keystore as keystore_files
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from tests.common.clients import agency_token, post_evidence
from tests.common.qr import qr_codes_on_page


class _NoReplay:
    def remember(self, issuer: str, jti: str, expires_at: Any) -> bool:
        return True


def citizen_token(hub_url: str, keys_dir: Path, citizen: dict[str, Any]) -> str:
    """A development ID token for ``citizen``, as ``hub token citizen`` makes one."""
    tokens = TokenService(
        issuer=hub_url,
        token_endpoint=f"{hub_url}/oauth2/token",
        agency_keys=lambda _agency: {},
        agency_purposes=lambda _agency: (),
        keys=KeyStoreTokenKeys(keystore_files.load(keys_dir)),
        replay=_NoReplay(),
    )
    return tokens.issue_citizen(citizen["afm"], citizen["amka"], citizen["name"]).access_token


def _living(citizens: list[dict[str, Any]], index: int = 0) -> dict[str, Any]:
    return [c for c in citizens if not c.get("deceased")][index]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _issue(hub_url: str, token: str, kind: str = "birth-certificate") -> requests.Response:
    return requests.post(
        f"{hub_url}/v1/me/certificates", json={"type": kind}, headers=_auth(token), timeout=60
    )


def _verify(hub_url: str, data: bytes, media: str = "application/pdf") -> requests.Response:
    return requests.post(
        f"{hub_url}/v1/verify", data=data, headers={"Content-Type": media}, timeout=60
    )


@pytest.fixture
def holder(citizens: list[dict[str, Any]]) -> dict[str, Any]:
    return _living(citizens)


@pytest.fixture
def issued(hub_url: str, keys_dir: Path, holder: dict[str, Any]) -> tuple[str, bytes, str]:
    """A freshly issued birth certificate: (token, pdf, code)."""
    token = citizen_token(hub_url, keys_dir, holder)
    response = _issue(hub_url, token)
    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].startswith("application/pdf")
    code = response.headers["X-Verification-Code"]
    return token, response.content, code


def test_issued_certificate_verifies_by_upload_and_by_code(
    hub_url: str, issued: tuple[str, bytes, str], holder: dict[str, Any]
) -> None:
    _token, pdf, code = issued
    assert pdf.startswith(b"%PDF-")
    report = _verify(hub_url, pdf).json()
    assert report["status"] == "valid", report
    assert report["indication"] == "TOTAL-PASSED"
    assert report["code"] == code
    assert report["type"] == "birth-certificate"
    assert report["registered"] is True
    assert report["matches_issued"] is True
    assert report["content_digest"].startswith("sha256:")
    assert report["kid"]
    assert "Once-only" in report["signer"] or "Hub" in report["signer"]

    check = requests.get(f"{hub_url}/v1/verify/{code}", timeout=10).json()
    assert check["status"] == "valid"
    assert check["type"] == "birth-certificate"
    first, last = holder["name"].split()[0], holder["name"].split()[-1]
    assert check["holder"] == f"{first[0]}*** {last[0]}***"
    assert first not in json.dumps(check, ensure_ascii=False)
    # Typed by a person: lower case, no dashes.
    loose = requests.get(f"{hub_url}/v1/verify/{code.replace('-', '').lower()}", timeout=10)
    assert loose.json()["status"] == "valid"


def test_unknown_code_is_a_200_with_status_unknown(hub_url: str) -> None:
    for code in ("0000-0000-0000-0000", "not-a-code"):
        response = requests.get(f"{hub_url}/v1/verify/{code}", timeout=10)
        assert response.status_code == 200
        assert response.json()["status"] == "unknown"


def test_listing_and_download_again_are_the_holders_own(
    hub_url: str,
    keys_dir: Path,
    issued: tuple[str, bytes, str],
    citizens: list[dict[str, Any]],
) -> None:
    token, pdf, code = issued
    listing = requests.get(f"{hub_url}/v1/me/certificates", headers=_auth(token), timeout=10)
    assert listing.status_code == 200
    items = listing.json()["items"]
    assert [i["code"] for i in items] == [code]
    assert items[0]["status"] == "valid"
    again = requests.get(
        f"{hub_url}/v1/me/certificates/{code}/pdf", headers=_auth(token), timeout=10
    )
    assert again.status_code == 200
    assert again.content == pdf

    other = citizen_token(hub_url, keys_dir, _living(citizens, 1))
    assert (
        requests.get(f"{hub_url}/v1/me/certificates", headers=_auth(other), timeout=10).json()[
            "items"
        ]
        == []
    )
    stolen = requests.get(
        f"{hub_url}/v1/me/certificates/{code}/pdf", headers=_auth(other), timeout=10
    )
    assert stolen.status_code == 404
    revoke = requests.post(
        f"{hub_url}/v1/certificates/{code}/revocation",
        json={"reason": "not mine"},
        headers=_auth(other),
        timeout=10,
    )
    assert revoke.status_code == 404
    assert requests.get(f"{hub_url}/v1/me/certificates", timeout=10).status_code == 401


def test_a_changed_byte_is_caught(hub_url: str, issued: tuple[str, bytes, str]) -> None:
    _token, pdf, _code = issued
    # Flip one byte inside the signed range (the page content near the start).
    changed = bytearray(pdf)
    where = pdf.index(b"stream") + 20
    changed[where] ^= 0x01
    report = _verify(hub_url, bytes(changed)).json()
    assert report["status"] == "invalid", report
    assert report["indication"] == "TOTAL-FAILED"


def test_a_transplanted_signature_is_caught(
    hub_url: str, keys_dir: Path, citizens: list[dict[str, Any]], issued: tuple[str, bytes, str]
) -> None:
    _token, genuine, _code = issued
    other = _issue(hub_url, citizen_token(hub_url, keys_dir, _living(citizens, 2))).content

    # Put the first document's signature (its /Contents) into the second.
    def contents(pdf: bytes) -> tuple[int, int]:
        start = pdf.rindex(b"/Contents <") + len(b"/Contents <")
        return start, pdf.index(b">", start)

    a_start, a_end = contents(genuine)
    b_start, b_end = contents(other)
    # The reserved space is zero-padded; fit the genuine CMS into the other's.
    signature = genuine[a_start:a_end].rstrip(b"0")
    signature += b"0" * (len(signature) % 2)
    assert len(signature) <= b_end - b_start
    forged = other[:b_start] + signature.ljust(b_end - b_start, b"0") + other[b_end:]
    report = _verify(hub_url, forged).json()
    assert report["status"] == "invalid", report


def test_a_pdf_sealed_by_a_stranger_is_not_trusted(
    hub_url: str, tmp_path: Path, issued: tuple[str, bytes, str]
) -> None:
    from hub.domain.sealing.pades import PdfSealer  # noqa: PLC0415

    _token, pdf, _code = issued
    stranger = tmp_path / "other-pki"
    keystore_files.init(stranger, None, public_url="http://stranger.invalid")
    resealed = PdfSealer(keystore_files.load(stranger)).seal(_unsealed_copy(pdf))
    report = _verify(hub_url, resealed).json()
    assert report["status"] == "unknown", report
    assert report["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"


def _unsealed_copy(pdf: bytes) -> bytes:
    # The revision before the seal: everything up to the first %%EOF.
    end = pdf.index(b"%%EOF") + len(b"%%EOF\n")
    return pdf[:end]


def test_revocation_is_reported_by_upload_and_by_code(
    hub_url: str, issued: tuple[str, bytes, str]
) -> None:
    token, pdf, code = issued
    revoked = requests.post(
        f"{hub_url}/v1/certificates/{code}/revocation",
        json={"reason": "replaced by a newer certificate"},
        headers=_auth(token),
        timeout=10,
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    report = _verify(hub_url, pdf).json()
    assert report["status"] == "revoked"
    assert report["revocation_reason"] == "replaced by a newer certificate"
    assert report["revoked_at"]
    check = requests.get(f"{hub_url}/v1/verify/{code}", timeout=10).json()
    assert check["status"] == "revoked"
    again = requests.post(
        f"{hub_url}/v1/certificates/{code}/revocation",
        json={"reason": "twice"},
        headers=_auth(token),
        timeout=10,
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("data", "media"),
    [
        (b"%PDF-1.7\n%garbage that is not a pdf", "application/pdf"),
        (b"not a token at all", "application/jose"),
        (b"eyJhbGciOiJub25lIn0.e30.", "application/jose"),
    ],
)
def test_malformed_uploads_get_a_report_not_an_error(hub_url: str, data: bytes, media: str) -> None:
    response = _verify(hub_url, data, media)
    assert response.status_code == 200
    assert response.json()["status"] == "invalid"


def test_truncated_empty_oversized_and_wrong_type_uploads_are_clean_4xx(
    hub_url: str, issued: tuple[str, bytes, str]
) -> None:
    _token, pdf, _code = issued
    truncated = _verify(hub_url, pdf[: len(pdf) // 2])
    assert truncated.status_code == 200
    assert truncated.json()["status"] == "invalid"
    empty = _verify(hub_url, b"")
    assert empty.status_code == 400
    assert empty.headers["Content-Type"].startswith("application/problem+json")
    huge = _verify(hub_url, b"%PDF-1.7\n" + b"0" * (11 * 1024 * 1024))
    assert huge.status_code == 413
    assert huge.headers["Content-Type"].startswith("application/problem+json")
    wrong = _verify(hub_url, b"hello", "text/html")
    assert wrong.status_code == 415


def test_the_printed_qr_code_verifies_offline_with_joserfc_against_the_jwks(
    hub_url: str, issued: tuple[str, bytes, str], tmp_path: Path
) -> None:
    # The QR code of the issued certificate itself, as a phone would read it
    # off the printed page: poppler draws page 1, ZBar decodes the symbol.
    _token, pdf, code = issued
    found = qr_codes_on_page(pdf, tmp_path)
    assert len(found) == 1, found
    url, _, token = found[0].partition("#")
    assert url == f"{hub_url}/verify/{code}"
    jwks = requests.get(f"{hub_url}/.well-known/jwks.json", timeout=10).json()
    keys = KeySet.import_key_set(jwks)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert set(header) == {"alg", "kid"}
    verified = jws.deserialize_compact(token, keys.get_by_kid(header["kid"]), algorithms=["ES256"])
    claims = json.loads(verified.payload)
    assert set(claims) == {"iss", "code", "type", "iat", "holder"}
    assert claims["iss"] == hub_url
    assert claims["code"] == code
    assert claims["type"] == "birth-certificate"
    # What a verifier by code sees: the issue time and the masked name.
    by_code = requests.get(f"{hub_url}/v1/verify/{code}", timeout=10).json()
    assert claims["iat"] == int(dt.datetime.fromisoformat(by_code["issued_at"]).timestamp())
    assert claims["holder"] == by_code["holder"]
    report = _verify(hub_url, token.encode(), "application/jose").json()
    assert report["status"] == "valid", report
    assert report["code"] == code
    assert report["registered"] is True
    # One changed character of the signature and the token no longer verifies.
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(flipped, keys.get_by_kid(header["kid"]), algorithms=["ES256"])


def test_evidence_seal_verifies_with_joserfc_and_the_hub(
    hub_url: str, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    token = agency_token(hub_url, keys_dir, "municipality-athens")
    body = {
        "citizen": {"afm": _living(citizens)["afm"]},
        "evidence_type": "birth-certificate",
        "purpose": "school-enrollment",
    }
    response = post_evidence(hub_url, token, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    seal = answer["seal"]
    header = json.loads(base64.urlsafe_b64decode(seal.split(".")[0] + "=="))
    assert header["alg"] == "ES256"
    assert header["kid"]
    assert len(header["x5c"]) == 2
    jwks = KeySet.import_key_set(
        requests.get(f"{hub_url}/.well-known/jwks.json", timeout=10).json()
    )
    # An x5c header is larger than joserfc's default 512-byte cap.
    registry = jws.JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 8192
    verified = jws.deserialize_compact(seal, jwks.get_by_kid(header["kid"]), registry=registry)
    payload = json.loads(verified.payload)
    assert payload["evidence"] == answer["evidence"]
    assert payload["request_id"] == answer["request_id"]
    assert payload["purpose"] == "school-enrollment"
    assert payload["agency"] == "municipality-athens"
    report = _verify(hub_url, seal.encode(), "application/jose").json()
    assert report["status"] == "valid", report
    assert report["type"] == "birth-certificate"


def _pdfsig(*args: str) -> str:
    result = subprocess.run(  # fixed arguments, our own temp files
        ["pdfsig", *args], capture_output=True, text=True, check=False
    )
    return result.stdout + result.stderr


def test_pdfsig_validates_the_seal(
    hub_url: str, tmp_path: Path, issued: tuple[str, bytes, str]
) -> None:
    if shutil.which("pdfsig") is None:
        pytest.skip("poppler-utils (pdfsig) is not installed")
    _token, pdf, _code = issued
    (tmp_path / "cert.pdf").write_bytes(pdf)
    # The signature itself, whatever NSS trusts.
    plain = _pdfsig("-nocert", str(tmp_path / "cert.pdf"))
    assert "Signature is Valid" in plain, plain
    assert "ETSI.CAdES.detached" in plain, plain
    if shutil.which("certutil") is None:
        return
    # With the published root imported into a fresh NSS database, the chain too.
    chain = requests.get(f"{hub_url}/v1/trust/certificates.pem", timeout=10).text
    root_pem = chain.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    (tmp_path / "root.pem").write_text(root_pem)
    root = str(tmp_path / "root.pem")
    nss = tmp_path / "nss"
    nss.mkdir()
    certutil = shutil.which("certutil") or "certutil"
    subprocess.run(  # fixed arguments
        [certutil, "-N", "-d", f"sql:{nss}", "--empty-password"], check=True
    )
    subprocess.run(  # fixed arguments
        [certutil, "-A", "-d", f"sql:{nss}", "-n", "oncehub-root", "-t", "C,C,C", "-i", root],
        check=True,
    )
    trusted = _pdfsig("-nssdir", f"sql:{nss}", str(tmp_path / "cert.pdf"))
    assert "Signature is Valid" in trusted, trusted
    assert "Certificate is Trusted" in trusted, trusted


def test_checks_by_code_appear_in_the_holders_access_log(
    hub_url: str, settings: Settings, issued: tuple[str, bytes, str], holder: dict[str, Any]
) -> None:
    _token, _pdf, code = issued
    response = requests.get(
        f"{hub_url}/v1/verify/{code}", params={"verifier": "Τράπεζα Demo"}, timeout=10
    )
    assert response.status_code == 200
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            rows = session.scalars(
                select(AuditEntryRow).where(AuditEntryRow.subject == f"afm:{holder['afm']}")
            ).all()
            entries = [json.loads(r.entry) for r in rows]
    finally:
        db.dispose()
    actions = [e["action"] for e in entries]
    assert "certificate.issue" in actions
    checks = [e for e in entries if e["action"] == "certificate.verify"]
    assert checks
    assert checks[-1]["actor"] == {
        "kind": "verifier",
        "id": "Τράπεζα Demo",
        "official": None,
    }


@pytest.mark.parametrize("name", ["Τράπεζα\n", "Bank\r\n", "Bank\x1f"])
def test_a_verifier_name_with_a_control_character_is_refused_and_not_logged(
    hub_url: str, settings: Settings, issued: tuple[str, bytes, str], name: str
) -> None:
    # The spec's pattern ^[^\u0000-\u001f]+$ refuses control characters; under
    # Python's re its "$" also matched before a final newline, so a name ending
    # in one reached the holder's access log.
    _token, _pdf, code = issued
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            before = session.scalar(select(func.count()).select_from(AuditEntryRow))
        response = requests.get(
            f"{hub_url}/v1/verify/{code}", params={"verifier": name}, timeout=10
        )
        with db.session() as session:
            after = session.scalar(select(func.count()).select_from(AuditEntryRow))
    finally:
        db.dispose()
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "does not match" in response.json()["detail"]
    assert after == before


def test_published_trust_endpoints(hub_url: str) -> None:
    jwks = requests.get(f"{hub_url}/.well-known/jwks.json", timeout=10)
    assert jwks.status_code == 200
    seals = [k for k in jwks.json()["keys"] if "x5c" in k]
    assert seals
    assert all(k["kid"] == k["x5t#S256"] for k in seals)
    pem = requests.get(f"{hub_url}/v1/trust/certificates.pem", timeout=10)
    assert pem.headers["Content-Type"].startswith("application/x-pem-file")
    assert pem.text.count("BEGIN CERTIFICATE") == 2
    from cryptography import x509  # noqa: PLC0415

    for ca in ("root", "issuing"):
        crl = requests.get(f"{hub_url}/v1/trust/crl", params={"ca": ca}, timeout=10)
        assert crl.headers["Content-Type"].startswith("application/pkix-crl")
        x509.load_der_x509_crl(crl.content)
    assert (
        requests.get(f"{hub_url}/v1/trust/crl", params={"ca": "x"}, timeout=10).status_code == 400
    )
