"""Issue 12 §3: every address a certificate names answers, and a fetching validator agrees.

The hub here runs at the public URL its keys were made for, as in a
deployment, so the CRL distribution points and AIA caIssuers inside its
certificates point at it. A validator that trusts only the hub's root and
fetches everything else — pyHanko with fetching on and hard-fail revocation
— must find an issued certificate intact, valid and trusted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import requests
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from hub.cli.keys import ensure_keys
from hub.config import Settings
from tests.common.server import free_port, serve
from tests.integration.certificates.test_cert_http import citizen_token


@dataclass
class Deployed:
    url: str
    keys_dir: Path


@pytest.fixture
def deployed(settings: Settings, tmp_path: Path) -> Iterator[Deployed]:
    """A hub serving at the public URL its own, freshly made, keys name."""
    from hub.app import build_services, create_app  # noqa: PLC0415
    from hub.persistence import migrate  # noqa: PLC0415

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = replace(settings, port=port, public_url=url, keys_dir=tmp_path / "keys")
    ensure_keys(settings)
    services = build_services(settings)
    try:
        migrate.upgrade(services.db)
        with serve(create_app(services=services), port=port):
            yield Deployed(url, settings.keys_dir)
    finally:
        services.close()


def _issue(deployed: Deployed, citizen: dict[str, Any]) -> bytes:
    token = citizen_token(deployed.url, deployed.keys_dir, citizen)
    response = requests.post(
        f"{deployed.url}/v1/me/certificates",
        json={"type": "birth-certificate"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return response.content


def _chain_of(pdf: bytes) -> list[x509.Certificate]:
    """Every certificate the issued PDF carries: its seal's CMS, the timestamp's, the DSS."""
    reader = PdfFileReader(BytesIO(pdf))
    found: dict[bytes, x509.Certificate] = {}
    sig = reader.embedded_regular_signatures[0]
    tst = sig.signer_info["unsigned_attrs"].native
    assert tst is not None, "a B-LT seal carries a signature timestamp"
    certs: list[asn1_x509.Certificate] = [sig.signer_cert, *sig.other_embedded_certs]
    dss = reader.root["/DSS"]
    certs.extend(asn1_x509.Certificate.load(ref.get_object().data) for ref in dss["/Certs"])
    for cert in certs:
        parsed = x509.load_der_x509_certificate(cert.dump())
        found[parsed.fingerprint(parsed.signature_hash_algorithm)] = parsed  # type: ignore[arg-type]
    return list(found.values())


def _urls(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    crl_urls: list[str] = []
    issuer_urls: list[str] = []
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        crl_urls = [name.value for p in points for name in p.full_name or ()]
    except x509.ExtensionNotFound:
        pass
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        issuer_urls = [
            a.access_location.value
            for a in access
            if a.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        ]
    except x509.ExtensionNotFound:
        pass
    return crl_urls, issuer_urls


def test_every_address_in_every_certificate_answers_with_its_object(
    deployed: Deployed, citizens: list[dict[str, Any]]
) -> None:
    pdf = _issue(deployed, citizens[0])
    certificates = [
        *_chain_of(pdf),
        *(
            x509.load_pem_x509_certificate(p.read_bytes())
            for p in sorted(deployed.keys_dir.glob("*.crt.pem"))
        ),
    ]
    roles = {c.subject.rfc4514_string() for c in certificates}
    assert any("e-Seal" in r for r in roles)
    assert any("Sealing CA" in r for r in roles)
    assert any("Timestamping" in r for r in roles)
    fetched = 0
    for cert in certificates:
        if cert.issuer == cert.subject:
            continue  # the root is the anchor: nothing to fetch for it
        crl_urls, issuer_urls = _urls(cert)
        assert crl_urls, f"{cert.subject.rfc4514_string()} names no CRL"
        assert issuer_urls, f"{cert.subject.rfc4514_string()} names no issuer (AIA)"
        for url in [*crl_urls, *issuer_urls]:
            assert url.startswith(deployed.url), url
        for url in crl_urls:
            response = requests.get(url, timeout=10)
            assert response.status_code == 200, (url, response.status_code)
            assert response.headers["Content-Type"] == "application/pkix-crl"
            crl = x509.load_der_x509_crl(response.content)
            assert crl.issuer == cert.issuer
            fetched += 1
        for url in issuer_urls:
            response = requests.get(url, timeout=10)
            assert response.status_code == 200, (url, response.status_code)
            assert response.headers["Content-Type"] == "application/pkix-cert"
            issuer = x509.load_der_x509_certificate(response.content)
            assert issuer.subject == cert.issuer
            cert.verify_directly_issued_by(issuer)
            assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            fetched += 1
    assert fetched >= 6
    assert requests.get(f"{deployed.url}/pki/other.crl", timeout=10).status_code in (400, 404)


def test_the_seal_certificate_has_the_e_seal_profile(deployed: Deployed) -> None:
    seal = next(
        x509.load_pem_x509_certificate(p.read_bytes())
        for p in deployed.keys_dir.glob("seal-*.crt.pem")
    )
    usage = seal.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not usage.value.key_encipherment
    try:
        eku = seal.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    assert eku is None or ExtendedKeyUsageOID.CLIENT_AUTH not in eku
    assert not seal.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    crl_urls, issuer_urls = _urls(seal)
    assert crl_urls == [f"{deployed.url}/pki/issuing-ca.crl"]
    assert issuer_urls == [f"{deployed.url}/pki/issuing-ca.crt"]


def test_pyhanko_with_fetching_and_hard_fail_finds_the_seal_trusted(
    deployed: Deployed, citizens: list[dict[str, Any]]
) -> None:
    pdf = _issue(deployed, citizens[1])
    root = next(
        c
        for c in (
            x509.load_pem_x509_certificate(p.read_bytes())
            for p in deployed.keys_dir.glob("root-ca.crt.pem")
        )
    )
    anchor = asn1_x509.Certificate.load(root.public_bytes(Encoding.DER))

    def context() -> ValidationContext:
        # Only the root: the issuing CA comes from the document or AIA, every
        # CRL from the addresses in the certificates.
        # The requests backend: aiohttp's leaves its session to the caller.
        return ValidationContext(
            trust_roots=[anchor],
            allow_fetching=True,
            revocation_mode="hard-fail",
            fetcher_backend=RequestsFetcherBackend(),
        )

    sig = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures[0]
    status = asyncio.run(
        async_validate_pdf_signature(
            sig, signer_validation_context=context(), ts_validation_context=context()
        )
    )
    assert status.intact, status.pretty_print_details()
    assert status.valid, status.pretty_print_details()
    assert status.trusted, status.pretty_print_details()
    assert status.revocation_details is None
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted, status.pretty_print_details()
