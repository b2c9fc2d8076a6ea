"""A sealed evidence answer, checked against the access log as a court would.

The court holds the agency's answer and nothing else of the hub's. With a
general JOSE library (joserfc) and the published JWKS it verifies the seal;
with an auditor's help it obtains a signed checkpoint, the entry at the
seal's ``log_index`` and its RFC 9162 inclusion proof, and checks them with
code written here from the RFCs and the C2SP note format, not the hub's.
Then it compares the entry with the seal, claim by claim.

Concurrent requests must each get the index of their own entry: the log's
group commit hands indexes out in batches, and the seal is made after.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from hub.config import Settings
from tests.common.clients import agency_token, post_evidence
from tests.common.server import serve_hub

# -- an outsider's tools, from the specifications -------------------------------------------


def jcs(value: Any) -> bytes:
    """RFC 8785 for JSON without floats (all the log holds): sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def rfc9162_root_from_inclusion(
    index: int, size: int, leaf: bytes, path: list[bytes]
) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or None if malformed."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def open_checkpoint(note: str, verifier_key: str) -> tuple[str, int, bytes]:
    """C2SP signed-note + tlog-checkpoint: (origin, size, root) once the signature holds."""
    name, key_id_hex, material = verifier_key.strip().split("+", 2)
    raw = base64.b64decode(material)
    assert raw[0] == 1, "an Ed25519 note key"
    key_id = bytes.fromhex(key_id_hex)
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] == key_id
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    for line in signatures.splitlines():
        dash, signer, blob = line.split(" ")
        sig = base64.b64decode(blob)
        if dash == "\u2014" and signer == name and sig[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], text.encode())
            origin, size, root = text.splitlines()[:3]
            return origin, int(size), base64.b64decode(root)
    raise AssertionError("no signature by the log key")


# -- the hub and its parties -----------------------------------------------------------------


@pytest.fixture
def hub(settings: Settings) -> Iterator[tuple[str, Any]]:
    with serve_hub(settings) as (url, services, _):
        yield url, services


def _owner(citizens: list[dict[str, Any]], skip: int = 0) -> dict[str, Any]:
    found = [c for c in citizens if c.get("owns_property") and not c.get("deceased")]
    return found[skip]


def _verify_seal(url: str, seal: str) -> dict[str, Any]:
    jwks = KeySet.import_key_set(requests.get(f"{url}/.well-known/jwks.json", timeout=10).json())
    header = json.loads(base64.urlsafe_b64decode(seal.split(".", maxsplit=1)[0] + "=="))
    registry = jws.JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 8192  # the x5c chain is larger than joserfc's default cap
    verified = jws.deserialize_compact(seal, jwks.get_by_kid(header["kid"]), registry=registry)
    payload: dict[str, Any] = json.loads(verified.payload)
    return payload


class Auditor:
    def __init__(self, url: str, services: Any) -> None:
        self.url = url
        self.headers = {
            "Authorization": f"Bearer {services.tokens.issue_auditor('court').access_token}"
        }

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(self.url + path, headers=self.headers, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def checkpoint(self) -> str:
        made = requests.post(f"{self.url}/v1/audit/checkpoints", headers=self.headers, timeout=10)
        assert made.status_code in (200, 201), made.text
        note: str = made.json()["note"]
        return note


def check_against_log(
    url: str, auditor: Auditor, payload: dict[str, Any], note: str
) -> dict[str, Any]:
    """What docs/verifying.md tells a court to do once the seal verified."""
    log_key = requests.get(f"{url}/v1/audit/log-key", timeout=10).text
    origin, size, root = open_checkpoint(note, log_key)
    assert payload["log_origin"] == origin
    index = payload["log_index"]
    assert index < size
    record = auditor.get(f"/v1/audit/entries/{index}")
    entry = record["entry"]
    leaf = hashlib.sha256(b"\x00" + jcs(entry)).digest()
    assert leaf.hex() == record["leaf_hash"]
    proof = auditor.get("/v1/audit/proofs/inclusion", index=index, tree_size=size)
    path = [bytes.fromhex(h) for h in proof["hashes"]]
    assert rfc9162_root_from_inclusion(index, size, leaf, path) == root
    # The entry tells the same story as the seal.
    ((kind, value),) = payload["citizen"].items()
    assert entry["action"] == "evidence.request"
    assert entry["outcome"] == "granted"
    assert entry["subject"] == f"{kind}:{value}"
    assert entry["actor"]["kind"] == "agency"
    assert entry["actor"]["id"] == payload["agency"]
    assert entry["actor"]["official"] == payload["official"]
    for claim in (
        "evidence_type",
        "purpose",
        "legal_basis",
        "consent_id",
        "parameters",
        "case_reference",
        "request_id",
        "client_request_id",
    ):
        assert entry[claim] == payload[claim], claim
    assert entry["time"] == payload["issued_at"]
    assert (
        entry["response_digest"] == "sha256:" + hashlib.sha256(jcs(payload["evidence"])).hexdigest()
    )
    assert entry["fields"] == sorted(payload["evidence"])
    return entry


def test_a_court_checks_a_sealed_answer_against_the_log(
    hub: tuple[str, Any], keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    url, services = hub
    owner = _owner(citizens)
    athens = agency_token(url, keys_dir, "municipality-athens")
    response = requests.post(
        f"{url}/v1/evidence",
        json={
            "citizen": {"afm": owner["afm"]},
            "evidence_type": "property-ownership",
            "purpose": "local-property-check",
            "official": "Ε. Παπαδοπούλου",
            "case_reference": "ΔΑ-2026/4711",
        },
        headers={"Authorization": f"Bearer {athens}", "X-Request-ID": "athens-17"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    payload = _verify_seal(url, answer["seal"])

    # Whom it is about, and under what authority.
    assert payload["citizen"] == {"afm": owner["afm"]}
    assert payload["agency"] == "municipality-athens"
    assert payload["purpose"] == "local-property-check"
    assert payload["legal_basis"] == "Ν. 3852/2010 — demo reference"
    assert payload["consent_id"] is None
    assert payload["parameters"] == {"municipality": "Αθήνα"}
    assert payload["evidence"] == answer["evidence"]
    assert payload["request_id"] == answer["request_id"] == response.headers["X-Request-ID"]
    assert payload["client_request_id"] == "athens-17"
    assert payload["log_index"] == answer["log_index"]

    auditor = Auditor(url, services)
    check_against_log(url, auditor, payload, auditor.checkpoint())

    # A seal moved to another entry (or any other claim changed) no longer verifies.
    head, body, signature = answer["seal"].split(".")
    moved = json.loads(base64.urlsafe_b64decode(body + "=="))
    moved["log_index"] -= 1
    forged_body = base64.urlsafe_b64encode(jcs(moved)).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        _verify_seal(url, f"{head}.{forged_body}.{signature}")
    # And the entry at another index does not match the seal's claims.
    with pytest.raises(AssertionError):
        check_against_log(
            url, auditor, {**payload, "log_index": payload["log_index"] - 1}, auditor.checkpoint()
        )


def test_a_consent_answer_names_the_consent_it_rests_on(
    hub: tuple[str, Any], keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    url, services = hub
    owner = _owner(citizens)
    bank = agency_token(url, keys_dir, "bank-demo")
    citizen = services.tokens.issue_citizen(owner["afm"], owner["amka"], owner["name"])
    as_citizen = {"Authorization": f"Bearer {citizen.access_token}"}
    opened = requests.post(
        f"{url}/v1/consent-requests",
        json={
            "citizen": {"amka": owner["amka"]},
            "purpose": "mortgage-application",
            "evidence_types": ["property-ownership"],
        },
        headers={"Authorization": f"Bearer {bank}"},
        timeout=10,
    )
    assert opened.status_code == 201, opened.text
    decided = requests.post(
        f"{url}/v1/me/consent-requests/{opened.json()['id']}/decision",
        json={"decision": "approve"},
        headers=as_citizen,
        timeout=10,
    )
    assert decided.status_code == 200, decided.text
    consent_id = decided.json()["consent"]["id"]
    response = post_evidence(
        url,
        bank,
        {
            "citizen": {"amka": owner["amka"]},
            "evidence_type": "property-ownership",
            "purpose": "mortgage-application",
        },
    )
    assert response.status_code == 200, response.text
    payload = _verify_seal(url, response.json()["seal"])
    # The citizen as the agency named them: by AMKA.
    assert payload["citizen"] == {"amka": owner["amka"]}
    assert payload["legal_basis"] == "consent"
    assert payload["consent_id"] == consent_id
    auditor = Auditor(url, services)
    check_against_log(url, auditor, payload, auditor.checkpoint())


def test_concurrent_answers_each_seal_the_index_of_their_own_entry(
    hub: tuple[str, Any], keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    url, services = hub
    opeka = agency_token(url, keys_dir, "opeka")
    people = [c for c in citizens if not c.get("deceased")][:24]

    def ask(citizen: dict[str, Any]) -> requests.Response:
        return post_evidence(
            url,
            opeka,
            {
                "citizen": {"afm": citizen["afm"]},
                "evidence_type": "insurance-status",
                "purpose": "social-benefit-eligibility",
            },
        )

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(ask, people))
    sealed = [a.json() for a in answers if a.status_code == 200]
    assert len(sealed) == len(people), [a.status_code for a in answers]
    payloads = [_verify_seal(url, a["seal"]) for a in sealed]
    assert len({p["log_index"] for p in payloads}) == len(payloads)
    auditor = Auditor(url, services)
    note = auditor.checkpoint()
    for answer, payload in zip(sealed, payloads, strict=True):
        assert payload["log_index"] == answer["log_index"]
        check_against_log(url, auditor, payload, note)
