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
names its certificate by SHA-512, a hash that is no DEFAULT and is encoded.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from asn1crypto import cms, core, tsp

from hub.domain.sealing.keystore import FileKeyStore
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


def test_reading_the_token_does_not_make_its_encoding_exponential(
    store: FileKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _token(store)
    # What a validator reads: the ESS certificate identifier of the signer.
    attrs = token["content"]["signer_infos"][0]["signed_attrs"]
    (signing_certificate,) = (a for a in attrs if a["type"].native == "signing_certificate_v2")
    ess = signing_certificate["values"][0]["certs"][0]
    hash_algorithm = ess["hash_algorithm"]["algorithm"].native
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
