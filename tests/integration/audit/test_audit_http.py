"""The audit API over real HTTP: checkpoints, log key, proofs, searches.

An auditor holding nothing but the public log key checks that the served
checkpoint is signed, that an entry is in it and that a later checkpoint
extends an earlier one, all with RFC 9162's verification algorithms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests

from hub.app import Services, build_services, create_app
from hub.config import Settings
from hub.domain.auditlog.checkpoint import parse_verifier_key, verify_note
from hub.domain.auditlog.entry import AccessEntry, entry_leaf_hash
from hub.domain.auditlog.merkle import verify_consistency, verify_inclusion
from hub.errors import PROBLEM_BASE
from hub.persistence import migrate
from hub.persistence.auditlog import SqlAccessLog
from tests.common.factories import access_entry
from tests.common.server import free_port, serve

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ORIGIN = "oncehub.gov.gr/log"
PROBLEM = "application/problem+json"


@pytest.fixture
def hub(settings: Settings) -> Iterator[tuple[str, Services]]:
    """Like the shared ``hub_url``, but the test also holds the services."""
    port = free_port()
    settings = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings)
    migrate.upgrade(services.db)
    with serve(create_app(services=services), port=port) as url:
        yield url, services
    services.close()


def entry(i: int) -> AccessEntry:
    return access_entry(
        i,
        agency="efka" if i % 2 else "dypa",
        action="evidence.request",
        outcome="denied" if i % 4 == 0 else "granted",
        subject=f"afm:{100000000 + i % 3}",
        evidence_type=None,
        purpose="housing",
    )


def fill(services: Services, start: int, end: int) -> None:
    log = SqlAccessLog(services.db)
    for i in range(start, end):
        log.record(entry(i))


def bearer(services: Services) -> dict[str, str]:
    token = services.tokens.issue_auditor("ana").access_token
    return {"Authorization": f"Bearer {token}"}


def get(url: str, headers: dict[str, str] | None = None, **params: Any) -> requests.Response:
    return requests.get(url, headers=headers or {}, params=params, timeout=10)


def test_public_checkpoint_and_log_key(hub: tuple[str, Services]) -> None:
    url, services = hub
    missing = get(f"{url}/v1/audit/checkpoint")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    key = get(f"{url}/v1/audit/log-key")
    assert key.status_code == 200
    assert key.headers["content-type"].startswith("text/plain")
    assert services.keystore is not None
    assert key.text == services.keystore.log_verifier_key() + "\n"
    fill(services, 0, 20)
    made = requests.post(f"{url}/v1/audit/checkpoints", headers=bearer(services), timeout=10)
    assert made.status_code == 201
    body = made.json()
    assert body["size"] == 20
    again = requests.post(f"{url}/v1/audit/checkpoints", headers=bearer(services), timeout=10)
    assert (again.status_code, again.json()) == (200, body)
    note = get(f"{url}/v1/audit/checkpoint")
    assert note.headers["content-type"].startswith("text/plain")
    assert note.text == body["note"]
    checkpoint = verify_note(note.text, parse_verifier_key(key.text.strip()), origin=ORIGIN)
    assert (checkpoint.size, checkpoint.root_hash.hex()) == (20, body["root"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/audit/checkpoints"),
        ("GET", "/v1/audit/entries"),
        ("GET", "/v1/audit/entries/0"),
        ("GET", "/v1/audit/proofs/inclusion?index=0&tree_size=1"),
    ],
)
def test_auditor_operations_need_an_auditor_token(
    hub: tuple[str, Services], method: str, path: str
) -> None:
    url, _ = hub
    response = requests.request(method, url + path, timeout=10)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    forged = requests.request(
        method, url + path, headers={"Authorization": "Bearer not.a.token"}, timeout=10
    )
    assert forged.status_code == 401


def test_checkpoints_and_consistency_proofs_are_public(hub: tuple[str, Services]) -> None:
    """They carry tree hashes only (issue 17 §5): no token, and no entry in them."""
    url, services = hub
    fill(services, 0, 5)
    services.audit.make_checkpoint()
    listed = requests.get(f"{url}/v1/audit/checkpoints", timeout=10)
    assert listed.status_code == 200
    assert [c["size"] for c in listed.json()["items"]] == [5]
    proof = requests.get(f"{url}/v1/audit/proofs/consistency?first=2&second=5", timeout=10)
    assert proof.status_code == 200
    assert set(proof.json()) == {"first", "second", "first_root", "second_root", "hashes"}
    # Without witnesses configured, nothing is published as witnessed.
    witnessed = requests.get(f"{url}/v1/audit/checkpoint/witnessed", timeout=10)
    assert witnessed.status_code == 404
    assert witnessed.headers["content-type"] == PROBLEM


def test_proofs_verify_against_signed_checkpoints(hub: tuple[str, Services]) -> None:
    url, services = hub
    auth = bearer(services)
    verifier = parse_verifier_key(get(f"{url}/v1/audit/log-key").text.strip())
    fill(services, 0, 13)
    old = requests.post(f"{url}/v1/audit/checkpoints", headers=auth, timeout=10).json()
    fill(services, 13, 29)
    new = requests.post(f"{url}/v1/audit/checkpoints", headers=auth, timeout=10).json()
    old_cp = verify_note(old["note"], verifier, origin=ORIGIN)
    new_cp = verify_note(new["note"], verifier, origin=ORIGIN)

    proof = get(f"{url}/v1/audit/proofs/inclusion", auth, index=7, tree_size=29).json()
    leaf = entry_leaf_hash(entry(7).to_json_obj())
    assert proof["leaf_hash"] == leaf.hex()
    assert proof["root"] == new_cp.root_hash.hex()
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    assert verify_inclusion(7, 29, leaf, hashes, new_cp.root_hash)

    proof = get(f"{url}/v1/audit/proofs/consistency", auth, first=13, second=29).json()
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    assert verify_consistency(13, 29, old_cp.root_hash, new_cp.root_hash, hashes)
    assert (proof["first_root"], proof["second_root"]) == (old["root"], new["root"])

    history = get(f"{url}/v1/audit/checkpoints", auth, limit=1).json()
    assert [c["size"] for c in history["items"]] == [29]
    rest = get(f"{url}/v1/audit/checkpoints", auth, cursor=history["next"]).json()
    assert ([c["size"] for c in rest["items"]], rest["next"]) == ([13], None)


@pytest.mark.parametrize(
    "params",
    [
        {"index": 5, "tree_size": 6},
        {"index": 5, "tree_size": 5},
        {"index": -1, "tree_size": 3},
        {"index": "x", "tree_size": 3},
    ],
    ids=["beyond-log", "index-outside-tree", "negative", "not-a-number"],
)
def test_impossible_inclusion_proofs_are_problems(
    hub: tuple[str, Services], params: dict[str, Any]
) -> None:
    url, services = hub
    fill(services, 0, 5)
    response = get(f"{url}/v1/audit/proofs/inclusion", bearer(services), **params)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


def test_impossible_consistency_proofs_are_problems(hub: tuple[str, Services]) -> None:
    url, services = hub
    fill(services, 0, 5)
    for first, second in ((4, 3), (2, 6)):
        response = get(
            f"{url}/v1/audit/proofs/consistency", bearer(services), first=first, second=second
        )
        assert response.status_code == 400
        assert response.json()["type"] == PROBLEM_BASE + "invalid-proof"


def test_search_filters_pages_and_records_the_auditor(hub: tuple[str, Services]) -> None:
    url, services = hub
    auth = bearer(services)
    fill(services, 0, 30)
    seen: list[int] = []
    params: dict[str, Any] = {"citizen": "afm:100000001", "agency": "efka", "limit": 2}
    while True:
        page = get(f"{url}/v1/audit/entries", auth, **params).json()
        seen.extend(item["index"] for item in page["items"])
        for item in page["items"]:
            assert entry_leaf_hash(item["entry"]).hex() == item["leaf_hash"]
        if page["next"] is None:
            break
        params["cursor"] = page["next"]
    assert seen == [i for i in range(29, -1, -1) if i % 3 == 1 and i % 2 == 1]
    denied = get(
        f"{url}/v1/audit/entries",
        auth,
        outcome="denied",
        since="2026-01-01T00:04:00Z",
        until="2026-01-01T02:12:00+02:00",  # 00:12Z, exclusive
    ).json()
    assert [i["index"] for i in denied["items"]] == [8, 4]
    assert denied["next"] is None
    denied = get(
        f"{url}/v1/audit/entries", auth, outcome="denied", since="2026-01-01T00:04:00Z"
    ).json()
    assert [i["index"] for i in denied["items"]] == [28, 24, 20, 16, 12, 8, 4]
    one = get(f"{url}/v1/audit/entries/5", auth).json()
    assert one == {
        "index": 5,
        "entry": entry(5).to_json_obj(),
        "leaf_hash": entry(5).leaf_hash().hex(),
    }
    # Every search and read above was itself logged, naming the auditor.
    logged = get(f"{url}/v1/audit/entries", auth, action="audit.search", limit=200).json()
    assert logged["items"]
    assert all(
        i["entry"]["actor"] == {"kind": "auditor", "id": "ana", "official": None}
        for i in logged["items"]
    )
    reads = get(f"{url}/v1/audit/entries", auth, action="audit.read").json()["items"]
    assert [i["entry"]["subject"] for i in reads] == ["afm:100000002"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/audit/entries?cursor=%21%21", 400),
        ("/v1/audit/entries?limit=201", 400),
        ("/v1/audit/entries?outcome=maybe", 400),
        ("/v1/audit/entries?since=yesterday", 400),
        ("/v1/audit/entries?since=2026-01-01T00:00:00", 400),
        ("/v1/audit/entries?nonsense=1", 400),
        ("/v1/audit/entries/999", 404),
    ],
)
def test_bad_searches_are_problems(hub: tuple[str, Services], path: str, status: int) -> None:
    url, services = hub
    fill(services, 0, 3)
    response = requests.get(url + path, headers=bearer(services), timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert "afm:" not in response.text
