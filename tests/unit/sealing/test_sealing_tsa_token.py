"""The development TSA's tokens serialise in time linear in their size.

asn1crypto never clears the "mutated" mark of a structure once set, and an
``ESSCertIDv2`` whose hash algorithm is the DEFAULT (SHA-256, so absent from
the DER) gets one the first time anyone reads that field: the default is
built and its parameters forced to NULL. From then on every enclosing
structure counts as changed, and each ``dump`` re-encodes its children once
per read of their contents — twice per level, so the work doubles with each
level of nesting. A token embedded in the seal's CMS is about seventeen
levels deep: about one seal in four took 10–70 s instead of 0.05 s, the
case decided by which fields pyHanko happened to read. The development TSA
names its certificate by SHA-512, a hash that is no DEFAULT and is encoded;
an outside TSA that encodes strict DER omits SHA-256, and for its tokens the
guarded patch ``asn1crypto-clean-default`` builds DEFAULT values clean.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.general import as_signing_certificate_v2

from hub.domain.sealing.keystore import FileKeyStore, KeyPurpose
from hub.domain.sealing.pades import KeyStoreTimeStamper


def _token(store: FileKeyStore) -> cms.ContentInfo:
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"sealed bytes").digest(),
            },
            "nonce": 20261202,
            "cert_req": True,
        }
    )
    response = asyncio.run(KeyStoreTimeStamper(store).async_request_tsa_response(request))
    token: cms.ContentInfo = response["time_stamp_token"]
    return token


def _strict_der(token: cms.ContentInfo, store: FileKeyStore) -> cms.ContentInfo:
    """The token as a strict-DER TSA sends it: SHA-256 ESSCertIDv2, its DEFAULT omitted."""
    attrs = token["content"]["signer_infos"][0]["signed_attrs"]
    (position,) = (i for i, a in enumerate(attrs) if a["type"].native == "signing_certificate_v2")
    tsa = store.certificate_chain(store.current(KeyPurpose.TSA).kid)[0]
    der = tsa.public_bytes(serialization.Encoding.DER)
    attrs[position] = cms.CMSAttribute(
        {
            "type": "signing_certificate_v2",
            "values": [as_signing_certificate_v2(asn1_x509.Certificate.load(der))],
        }
    )
    return cms.ContentInfo.load(token.dump(force=True))


@pytest.mark.parametrize("authority", ["development", "strict DER"])
def test_reading_the_token_does_not_make_its_encoding_exponential(
    store: FileKeyStore, monkeypatch: pytest.MonkeyPatch, authority: str
) -> None:
    token = _token(store)
    if authority == "strict DER":
        token = _strict_der(token, store)
    # What a validator reads: the ESS certificate identifier of the signer.
    attrs = token["content"]["signer_infos"][0]["signed_attrs"]
    (signing_certificate,) = (a for a in attrs if a["type"].native == "signing_certificate_v2")
    ess = signing_certificate["values"][0]["certs"][0]
    # Strict DER leaves SHA-256 out of the encoding: it is the DEFAULT.
    sha256_oid = b"\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01"
    assert sha256_oid not in ess.contents
    hash_algorithm = ess["hash_algorithm"]["algorithm"].native
    assert hash_algorithm == ("sha512" if authority == "development" else "sha256")
    encodings = 0
    original = core.Asn1Value.dump

    def counting(self: core.Asn1Value, force: bool = False) -> bytes:
        nonlocal encodings
        encodings += 1
        return original(self, force)

    monkeypatch.setattr(core.Asn1Value, "dump", counting)
    # Embedded where pyHanko embeds it: an unsigned attribute of the seal's
    # signer info, inside the seal's own CMS; then encoded.
    inner = token["content"]["signer_infos"][0]
    seal = cms.SignerInfo(
        {
            "version": "v1",
            "sid": inner["sid"],
            "digest_algorithm": {"algorithm": "sha256"},
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": b"\x00" * 64,
            "unsigned_attrs": [
                cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [token]})
            ],
        }
    )
    outer = cms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": cms.SignedData(
                {
                    "version": "v1",
                    "digest_algorithms": [{"algorithm": "sha256"}],
                    "encap_content_info": {"content_type": "data"},
                    "signer_infos": [seal],
                }
            ),
        }
    )
    encoded = outer.dump()
    # A few encodings per structure, and the whole has about a hundred
    # structures; the exponential case made hundreds of thousands.
    assert encodings < 2_000, (hash_algorithm, encodings)
    assert cms.ContentInfo.load(encoded).dump() == encoded
