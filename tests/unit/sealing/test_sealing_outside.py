"""Seal keys certified by a CA the hub does not own, and timestamps from a TSA it does not own.

The CA and the TSA come from tests/common/outside_pki.py: an RSA hierarchy
made by ``cryptography`` and an RFC 3161 responder over real HTTP, sharing
nothing with the hub's development PKI. A sealed certificate must then
verify with pyHanko trusting only that CA's root and reading nothing but the
file, and with poppler's pdfsig; a TSA that is down must never give a silent
B-B document.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from joserfc import jws as joserfc_jws
from joserfc.jwk import ECKey
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator.registry import SimpleCertificateStore

from adapters.tsa import http_timestamper
from hub.domain.sealing import keystore
from hub.domain.sealing.errors import KeyStoreError, KeyStoreLocked, TimestampAuthorityDown
from hub.domain.sealing.jws import seal_json, verify_jws
from hub.domain.sealing.keystore import KeyOrigin, KeyPurpose, KeyStatus
from hub.domain.sealing.pades import (
    GuardedTimeStamper,
    KeyStoreTimeStamper,
    PadesLevel,
    PdfSealer,
    verify_pdf,
)
from hub.domain.sealing.pdf import render_certificate
from hub.domain.sealing.pki import certificate_kid, new_ec_key
from hub.domain.sealing.report import Status, SubIndication
from hub.domain.sealing.trust import Trust
from tests.common.outside_pki import OutsideCA, TestTSA, running_tsa
from tests.unit.sealing.conftest import PUBLIC_URL, make_content

P12_PASSWORD = b"p12 secret of the operator"


@pytest.fixture(scope="module")
def ca() -> OutsideCA:
    return OutsideCA.create()


def _import(keys_dir: Path, ca: OutsideCA) -> keystore.KeyRecord:
    key = new_ec_key()
    p12 = ca.pkcs12(key, ca.issue_seal(key), P12_PASSWORD)
    key, cert, chain = keystore.read_pkcs12(p12, P12_PASSWORD)
    return keystore.import_seal_key(keys_dir, None, key, cert, chain, crls=ca.crls())


def _trust_tsa(keys_dir: Path, tsa_ca: OutsideCA) -> None:
    keystore.trust_certificates(keys_dir, [tsa_ca.issuing, tsa_ca.root], timestamps_only=True)
    for crl in tsa_ca.crls():
        keystore.import_crl(keys_dir, crl)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory, ca: OutsideCA) -> tuple[Path, OutsideCA]:
    tsa_ca = OutsideCA.create("Independent Time")
    path = tmp_path_factory.mktemp("outside") / "keys"
    keystore.init(path, None, public_url=PUBLIC_URL)
    _import(path, ca)
    _trust_tsa(path, tsa_ca)
    return path, tsa_ca


def test_an_imported_pkcs12_becomes_the_current_seal_key(
    outside: tuple[Path, OutsideCA], ca: OutsideCA
) -> None:
    keys_dir, _ = outside
    store = keystore.load(keys_dir)
    seal = store.current(KeyPurpose.SEAL)
    assert seal.origin is KeyOrigin.IMPORTED
    chain = store.certificate_chain(seal.kid)
    assert chain[0].issuer == ca.issuing.subject
    assert chain[1] == ca.issuing  # the outside issuing CA, not the hub's
    retired = [r for r in store.records() if r.purpose is KeyPurpose.SEAL and r is not seal]
    assert [r.status for r in retired] == [KeyStatus.RETIRED]
    # Published: the outside CA's certificates in the PEM bundle, the x5c in the JWKS.
    bundle = x509.load_pem_x509_certificates(store.pem_chain().encode())
    assert ca.root in bundle
    assert ca.issuing in bundle
    first = store.jwks()["keys"][0]
    assert first["kid"] == seal.kid
    x5c = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in first["x5c"]]
    assert x5c == list(chain)


def test_a_pdf_sealed_with_the_imported_key_and_an_outside_tsa_verifies_from_the_file(
    outside: tuple[Path, OutsideCA], ca: OutsideCA, tmp_path: Path
) -> None:
    keys_dir, tsa_ca = outside
    store = keystore.load(keys_dir)
    tsa = TestTSA(tsa_ca)
    with running_tsa(tsa) as url:
        stamper = GuardedTimeStamper(http_timestamper(url, timeout=5), name=url)
        rendered = render_certificate(make_content(), store, PUBLIC_URL)
        pdf = PdfSealer(store, level=PadesLevel.B_LT, timestamper=stamper).seal(rendered.pdf)
    assert tsa.requests >= 1
    reader = PdfFileReader(BytesIO(pdf))
    dss = DocumentSecurityStore.read_dss(reader)

    def context(root: x509.Certificate) -> object:
        # Only the given root is trusted; every other certificate and CRL
        # comes from the document; nothing is fetched.
        return dss.as_validation_context(
            {"trust_roots": [_asn1(root)], "allow_fetching": False, "revocation_mode": "hard-fail"}
        )

    status = validate_pdf_signature(
        reader.embedded_regular_signatures[0],
        signer_validation_context=context(ca.root),  # type: ignore[arg-type]
        ts_validation_context=context(tsa_ca.root),  # type: ignore[arg-type]
    )
    assert status.intact, status.pretty_print_details()
    assert status.valid, status.pretty_print_details()
    assert status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
    # The timestamp is the outside TSA's, not the hub's development one.
    assert status.timestamp_validity.signing_cert.dump() == _asn1(tsa.cert).dump()
    report = verify_pdf(pdf, store.trust())
    assert report.status is Status.VALID, report.reasons
    assert report.level is PadesLevel.B_LT
    if shutil.which("pdfsig") is not None:
        (tmp_path / "sealed.pdf").write_bytes(pdf)
        out = subprocess.run(  # fixed arguments, our own file
            ["pdfsig", "-nocert", str(tmp_path / "sealed.pdf")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Signature is Valid" in out.stdout, out.stdout + out.stderr


def test_an_evidence_seal_with_the_imported_key_verifies(
    outside: tuple[Path, OutsideCA], ca: OutsideCA
) -> None:
    keys_dir, _ = outside
    store = keystore.load(keys_dir)
    token = seal_json({"evidence": {"afm": "x"}}, store)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["kid"] == store.current(KeyPurpose.SEAL).kid
    report = verify_jws(token, store.trust())
    assert report.status is Status.VALID, report
    # A verifier that trusts the hub's development root alone does not accept it.
    own = Trust(roots=(store.trust().roots[0],), crls=store.trust().crls)
    assert verify_jws(token, own).status is not Status.VALID


def test_a_pem_key_and_chain_import_too(tmp_path: Path, ca: OutsideCA) -> None:
    keys_dir = tmp_path / "keys"
    keystore.init(keys_dir, "store secret")
    key = new_ec_key()
    cert = ca.issue_seal(key)
    key_pem = key.private_bytes(
        Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pem secret"),
    )
    chain_pem = cert.public_bytes(Encoding.PEM) + ca.chain_pem()
    key2, cert2, chain = keystore.read_pem_key(key_pem, "pem secret", chain_pem)
    record = keystore.import_seal_key(keys_dir, "store secret", key2, cert2, chain, crls=ca.crls())
    # The imported key is kept under the store's own passphrase.
    store = keystore.load(keys_dir, "store secret")
    assert store.current(KeyPurpose.SEAL).kid == record.kid
    assert b"ENCRYPTED" in (keys_dir / str(record.key_file)).read_bytes()


def test_imports_that_could_not_seal_are_refused(tmp_path: Path, ca: OutsideCA) -> None:
    keys_dir = tmp_path / "keys"
    keystore.init(keys_dir, None)
    key = new_ec_key()
    cert = ca.issue_seal(key)
    before = keystore.list_keys(keys_dir)
    with pytest.raises(KeyStoreError, match="not for this private key"):
        keystore.import_seal_key(keys_dir, None, new_ec_key(), cert, (ca.issuing, ca.root))
    with pytest.raises(KeyStoreError, match="does not reach a root"):
        keystore.import_seal_key(keys_dir, None, key, cert, (ca.issuing,), crls=ca.crls())
    with pytest.raises(KeyStoreError, match="no CRL"):
        keystore.import_seal_key(keys_dir, None, key, cert, (ca.issuing, ca.root))
    with pytest.raises(KeyStoreLocked):
        keystore.read_pkcs12(ca.pkcs12(key, cert, P12_PASSWORD), b"wrong")
    revoked = OutsideCA(ca.root_key, ca.root, ca.issuing_key, ca.issuing)
    revoked.revoke(cert)
    with pytest.raises(KeyStoreError, match="revoked"):
        keystore.import_seal_key(
            keys_dir, None, key, cert, (ca.issuing, ca.root), crls=revoked.crls()
        )
    assert keystore.list_keys(keys_dir) == before  # nothing changed


def test_a_crl_not_signed_by_a_trusted_ca_is_refused(
    outside: tuple[Path, OutsideCA],
) -> None:
    keys_dir, _ = outside
    stranger = OutsideCA.create("Stranger")
    with pytest.raises(KeyStoreError, match="not signed by a CA the hub trusts"):
        keystore.import_crl(keys_dir, stranger.crls()[1])


# -- the TSA, up, down, with authentication -------------------------------------------


@pytest.fixture
def dev_store(fresh_dir: Path) -> keystore.FileKeyStore:
    return keystore.load(fresh_dir)


def test_a_tsa_that_is_down_never_gives_a_silent_b_b(dev_store: keystore.FileKeyStore) -> None:
    tsa = TestTSA(OutsideCA.create("Gone"))
    with running_tsa(tsa) as url:
        pass  # the server is gone: connections are refused
    stamper = GuardedTimeStamper(http_timestamper(url, timeout=2), name=url)
    rendered = render_certificate(make_content(), dev_store, PUBLIC_URL)
    sealer = PdfSealer(dev_store, level=PadesLevel.B_LT, timestamper=stamper)
    with pytest.raises(TimestampAuthorityDown) as info:
        sealer.seal(rendered.pdf)
    assert info.value.status == 503
    assert url in str(info.value)


def test_the_fallbacks_happen_only_where_configured(dev_store: keystore.FileKeyStore) -> None:
    url = "http://127.0.0.1:9/tsa"  # the discard port: nothing answers
    rendered = render_certificate(make_content(), dev_store, PUBLIC_URL)
    to_development = GuardedTimeStamper(
        http_timestamper(url, timeout=2), name=url, fallback=KeyStoreTimeStamper(dev_store)
    )
    pdf = PdfSealer(dev_store, level=PadesLevel.B_LT, timestamper=to_development).seal(rendered.pdf)
    report = verify_pdf(pdf, dev_store.trust())
    assert report.status is Status.VALID
    assert report.level is PadesLevel.B_LT
    lowered = PdfSealer(
        dev_store,
        level=PadesLevel.B_LT,
        timestamper=GuardedTimeStamper(http_timestamper(url, timeout=2), name=url),
        downgrade=True,
    ).seal(rendered.pdf)
    report = verify_pdf(lowered, dev_store.trust())
    assert report.status is Status.VALID
    assert report.level is PadesLevel.B_B  # and the report says so


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_the_tsa_credentials_are_sent(outside: tuple[Path, OutsideCA], scheme: str) -> None:
    keys_dir, tsa_ca = outside
    store = keystore.load(keys_dir)
    tsa = TestTSA(tsa_ca)
    basic = ("hub", "tsa-password") if scheme == "basic" else None
    bearer = "tsa-bearer-token-0123456789" if scheme == "bearer" else None
    rendered = render_certificate(make_content(), store, PUBLIC_URL)
    with running_tsa(tsa, basic=basic, bearer=bearer) as url:
        right = GuardedTimeStamper(
            http_timestamper(url, timeout=5, basic_auth=basic, bearer=bearer), name=url
        )
        pdf = PdfSealer(store, level=PadesLevel.B_T, timestamper=right).seal(rendered.pdf)
        wrong = GuardedTimeStamper(http_timestamper(url, timeout=5), name=url)
        with pytest.raises(TimestampAuthorityDown):
            PdfSealer(store, level=PadesLevel.B_T, timestamper=wrong).seal(rendered.pdf)
    assert verify_pdf(pdf, store.trust()).level is PadesLevel.B_T


# -- someone else's seal under a CA the hub trusts ---------------------------
#
# The outside CA that certified the hub's seal certifies other organisations'
# seals too, and an outside TSA's CA may issue signing certificates. Such a
# certificate chains to a root the hub trusts; what it seals must still never
# pass for the hub's word, in a PDF or in an evidence JWS.


def _joserfc_jws(key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]) -> str:
    """An ES256 JWS with ``x5c``, made by joserfc: the attacker's own tooling."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    header = {
        "alg": "ES256",
        "kid": certificate_kid(chain[0]),
        "x5c": [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in chain],
    }
    payload = json.dumps({"evidence": {"married": True}, "iat": int(time.time())}).encode()
    return joserfc_jws.serialize_compact(header, payload, ECKey.import_key(pem))


def _signed_by(pdf: bytes, key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]) -> bytes:
    """The rendered certificate (its code in /Keywords) signed with pyHanko by ``key``."""
    signer = signers.SimpleSigner(
        signing_cert=_asn1(chain[0]),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in chain[1:]]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name="Seal", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    return bytes(signers.PdfSigner(meta, signer=signer).sign_pdf(writer).getvalue())


def test_an_evidence_jws_by_another_seal_of_the_same_outside_ca_is_refused(
    outside: tuple[Path, OutsideCA], ca: OutsideCA
) -> None:
    keys_dir, _ = outside
    trust = keystore.load(keys_dir).trust()
    key = new_ec_key()
    forged = _joserfc_jws(key, [ca.issue_seal(key, "Another Organisation e-Seal"), ca.issuing])
    report = verify_jws(forged, trust)
    assert report.status is not Status.VALID
    assert report.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
    assert report.payload is None
    # The same tool and shape with the hub's own imported key does verify:
    # the refusal is about whose seal it is, not about joserfc's output.
    store = keystore.load(keys_dir, None)
    seal = store.current(KeyPurpose.SEAL)
    own = _joserfc_jws(store._private[seal.kid], list(store.certificate_chain(seal.kid)))  # type: ignore[arg-type]
    assert verify_jws(own, trust).status is Status.VALID


@pytest.mark.parametrize("issuer", ["seal CA", "TSA CA"])
def test_a_pdf_sealed_by_someone_else_under_a_trusted_ca_is_not_the_hubs(
    outside: tuple[Path, OutsideCA], ca: OutsideCA, issuer: str
) -> None:
    keys_dir, tsa_ca = outside
    store = keystore.load(keys_dir)
    outsider = ca if issuer == "seal CA" else tsa_ca
    key = new_ec_key()
    content = make_content()
    rendered = render_certificate(content, store, PUBLIC_URL)
    chain = [outsider.issue_seal(key, "Another Organisation e-Seal"), outsider.issuing]
    report = verify_pdf(_signed_by(rendered.pdf, key, chain), store.trust())
    assert report.status is not Status.VALID, report.reasons
    # A TSA's CA anchors timestamps only; the seal CA anchors the chain, but
    # the certificate is none of the hub's.
    expected = (
        SubIndication.CHAIN_CONSTRAINTS_FAILURE
        if issuer == "seal CA"
        else SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    )
    assert report.sub_indication is expected, report.reasons
    # The code it names is not read: no holder, no history entry.
    assert report.code is None
    # The hub's own seal over the same document is valid and names the code.
    own = verify_pdf(PdfSealer(store).seal(rendered.pdf), store.trust())
    assert own.status is Status.VALID, own.reasons
    assert own.code == content.code
