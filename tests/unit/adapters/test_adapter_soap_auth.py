"""SOAP registries configured from the catalogue: binding, WS-Security, signatures, faults.

Against canned replies (``responses``): the education registry's WSDL (from
the onboarding catalogue extension) describes a SOAP 1.1 and a SOAP 1.2
port, so the binding the catalogue names decides what goes on the wire.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from zeep.exceptions import SignatureVerificationFailed
from zeep.wsse.signature import verify_envelope

from adapters._auth import Access
from adapters.resilience import Policy, Resilient
from adapters.soap import SoapRegistryClient
from hub.errors import CitizenNotFound, ConfigError, RegistryError

ROOT = Path(__file__).resolve().parents[3]
WSDL = ROOT / "tests" / "fixtures" / "catalog_onboarding" / "registries" / "education.wsdl"
ENDPOINT = "https://education.test/"
AMKA = "01017012345"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:gr:sandbox:education"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
OPERATIONS = {
    "QualificationsByAmka": {
        "operation": "GetQualifications",
        "input": {"Student": {"Amka": "{amka}"}},
        "answer": {"as_of": "/AsOf", "qualifications": "/Qualification"},
    }
}
ANSWER12 = f"""<?xml version="1.0" encoding="utf-8"?>
<env:Envelope xmlns:env="{SOAP12}" xmlns:ed="{NS}"><env:Body>
<ed:GetQualificationsResponse><ed:AsOf>2026-01-01</ed:AsOf>
<ed:Qualification><ed:Title>Bachelor of Laws</ed:Title><ed:Level>bachelor</ed:Level>
<ed:Institution>University of Patras</ed:Institution><ed:Awarded>2001-06-01</ed:Awarded>
</ed:Qualification></ed:GetQualificationsResponse></env:Body></env:Envelope>""".encode()


def fault12(value: str, code: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<env:Envelope xmlns:env="{SOAP12}" xmlns:ed="{NS}"><env:Body><env:Fault>
<env:Code><env:Value>env:{value}</env:Value></env:Code>
<env:Reason><env:Text xml:lang="en">no</env:Text></env:Reason>
<env:Detail><ed:RegistryFault><ed:code>{code}</ed:code></ed:RegistryFault></env:Detail>
</env:Fault></env:Body></env:Envelope>""".encode()


def education(**kwargs: Any) -> SoapRegistryClient:
    policy = Policy(timeout=5.0, retries=1, failure_threshold=100)
    resilient = Resilient("education", policy, sleep=lambda _: None)
    kwargs.setdefault("operations", OPERATIONS)
    return SoapRegistryClient("education", WSDL, ENDPOINT, policy, resilient=resilient, **kwargs)


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def sent(mock: responses.RequestsMock) -> tuple[Any, Any]:
    request = mock.calls[-1].request
    return request, etree.fromstring(request.body)


def test_soap12_binding_sends_a_soap12_envelope_built_from_the_catalogue(
    mock: responses.RequestsMock,
) -> None:
    mock.post(ENDPOINT, body=ANSWER12, content_type="application/soap+xml; charset=utf-8")
    answer = education(binding="soap12").call(
        "QualificationsByAmka", {"amka": AMKA}, request_id="r"
    )
    assert answer == {
        "as_of": "2026-01-01",
        "qualifications": [
            {
                "Title": "Bachelor of Laws",
                "Level": "bachelor",
                "Institution": "University of Patras",
                "Awarded": "2001-06-01",
            }
        ],
    }
    request, envelope = sent(mock)
    assert envelope.tag == f"{{{SOAP12}}}Envelope"
    assert request.headers["Content-Type"].startswith("application/soap+xml")
    assert "urn:gr:sandbox:education:GetQualifications" in request.headers["Content-Type"]
    assert envelope.findtext(f".//{{{NS}}}Student/{{{NS}}}Amka") == AMKA


def test_soap11_binding_sends_a_soap11_envelope(mock: responses.RequestsMock) -> None:
    mock.post(ENDPOINT, status=500, body=b"down", content_type="text/plain")
    with pytest.raises(RegistryError):
        education(binding="soap11").call("QualificationsByAmka", {"amka": AMKA}, request_id="r")
    request, envelope = sent(mock)
    assert envelope.tag == f"{{{SOAP11}}}Envelope"
    assert request.headers["SOAPAction"] == '"urn:gr:sandbox:education:GetQualifications"'


def test_a_binding_the_wsdl_lacks_stops_the_start() -> None:
    policy = Policy(timeout=1.0)
    population = ROOT / "specs" / "registries" / "population.wsdl"
    with pytest.raises(ConfigError, match="soap12"):
        SoapRegistryClient("population", population, ENDPOINT, policy, binding="soap12")


def test_an_operation_the_wsdl_lacks_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="GetDiplomas"):
        education(operations={"X": {"operation": "GetDiplomas"}})


def test_a_missing_parameter_is_a_registry_error_before_any_call(
    mock: responses.RequestsMock,
) -> None:
    with pytest.raises(RegistryError, match="amka"):
        education().call("QualificationsByAmka", {"afm": "090000045"}, request_id="r")
    assert len(mock.calls) == 0


def test_username_token_digest_proves_the_password_without_sending_it(
    mock: responses.RequestsMock,
) -> None:
    mock.post(ENDPOINT, body=ANSWER12, content_type="application/soap+xml")
    client = education(
        binding="soap12",
        auth={"kind": "username_token", "digest": True},
        access=Access(credentials=("hub", "pa55word")),
    )
    client.call("QualificationsByAmka", {"amka": AMKA}, request_id="r")
    client.call("QualificationsByAmka", {"amka": AMKA}, request_id="r")
    nonces = set()
    for call in mock.calls:
        body = call.request.body
        assert b"pa55word" not in body
        token = etree.fromstring(body).find(f".//{{{WSSE}}}UsernameToken")
        password = token.find(f"{{{WSSE}}}Password")
        assert password.get("Type").endswith("#PasswordDigest")
        nonce = token.findtext(f"{{{WSSE}}}Nonce")
        created = token.findtext(f"{{{WSU}}}Created")
        expected = hashlib.sha1(  # noqa: S324 - the UsernameToken profile's digest
            base64.b64decode(nonce) + created.encode() + b"pa55word"
        ).digest()
        assert password.text == base64.b64encode(expected).decode()
        nonces.add(nonce)
    assert len(nonces) == 2


def test_username_token_text_when_no_digest_is_asked(mock: responses.RequestsMock) -> None:
    mock.post(ENDPOINT, body=ANSWER12, content_type="application/soap+xml")
    education(
        binding="soap12",
        auth={"kind": "username_token"},
        access=Access(credentials=("hub", "pa55word")),
    ).call("QualificationsByAmka", {"amka": AMKA}, request_id="r")
    _, envelope = sent(mock)
    password = envelope.find(f".//{{{WSSE}}}Password")
    assert password.get("Type").endswith("#PasswordText")
    assert password.text == "pa55word"


@pytest.mark.parametrize(
    ("value", "code", "error", "transient"),
    [
        ("Sender", "NOT_FOUND", CitizenNotFound, False),
        ("Sender", "AUTH_FAILED", RegistryError, False),
        ("Receiver", "INTERNAL_ERROR", RegistryError, True),
    ],
)
def test_soap12_faults_become_problems(
    mock: responses.RequestsMock, value: str, code: str, error: type[Exception], transient: bool
) -> None:
    status = 400 if value == "Sender" else 500
    mock.post(
        ENDPOINT, status=status, body=fault12(value, code), content_type="application/soap+xml"
    )
    with pytest.raises(error) as caught:
        education(binding="soap12").call("QualificationsByAmka", {"amka": AMKA}, request_id="r")
    if isinstance(caught.value, RegistryError) and not isinstance(caught.value, CitizenNotFound):
        assert caught.value.transient is transient
    assert "Traceback" not in str(caught.value)


def _key_and_cert(directory: Path, name: str) -> tuple[Path, Path, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path, key


def test_x509_signature_signs_the_body_verifiably(
    mock: responses.RequestsMock, tmp_path: Path
) -> None:
    key, cert, _ = _key_and_cert(tmp_path, "hub")
    mock.post(ENDPOINT, body=ANSWER12, content_type="application/soap+xml")
    education(
        binding="soap12",
        auth={"kind": "x509_signature", "username_token": True, "digest": True},
        access=Access(credentials=("hub", "pw"), signing_key=key, signing_cert=cert),
    ).call("QualificationsByAmka", {"amka": AMKA}, request_id="r")
    _, envelope = sent(mock)
    signature = envelope.find(f".//{{{DS}}}Signature")
    assert signature is not None
    assert signature.find(f".//{{{DS}}}SignatureMethod").get("Algorithm").endswith("ecdsa-sha256")
    assert envelope.find(f".//{{{WSSE}}}UsernameToken") is not None
    verify_envelope(envelope, str(cert))  # Raises if the signature does not hold.
    # Tampering with the signed body breaks it.
    envelope.find(f".//{{{NS}}}Amka").text = "99999999999"
    with pytest.raises(SignatureVerificationFailed):
        verify_envelope(envelope, str(cert))


def test_replies_are_checked_against_the_registrys_certificate(
    mock: responses.RequestsMock, tmp_path: Path
) -> None:
    key, cert, _ = _key_and_cert(tmp_path, "hub")
    _, registry_cert, _ = _key_and_cert(tmp_path, "registry")
    # An unsigned reply, where the registry's certificate says replies are signed.
    mock.post(ENDPOINT, body=ANSWER12, content_type="application/soap+xml")
    client = education(
        binding="soap12",
        auth={"kind": "x509_signature"},
        access=Access(signing_key=key, signing_cert=cert, registry_cert=registry_cert),
    )
    with pytest.raises(RegistryError, match="signature"):
        client.call("QualificationsByAmka", {"amka": AMKA}, request_id="r")


def test_x509_signature_needs_its_files() -> None:
    with pytest.raises(ConfigError, match="HUB_REGISTRY_SIGNING_KEY_"):
        education(auth={"kind": "x509_signature"}, access=Access())


def test_mutual_tls_sets_the_client_certificate(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HUB_REGISTRY_CLIENT_CERT_"):
        education(mutual_tls=True, access=Access())
    cert, key = tmp_path / "c.pem", tmp_path / "c.key"
    client = education(mutual_tls=True, access=Access(client_cert=cert, client_key=key))
    assert client.session.cert == (str(cert), str(key))
