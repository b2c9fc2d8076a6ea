"""The evidence floor of the bench is the hub's own app, validating as the hub does.

``bench._floor_hub`` swaps the evidence service for one that repeats its
first real answer. A floor that skipped validation or security would flatter
the hub's stack; these tests hold it to the hub's checks over real HTTP.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from connexion import AsyncApp

from bench._floor_hub import CannedEvidence, floor_app, registry_on_loop
from bench.evidence import REGISTRY_IO
from hub.app import build_services
from hub.config import Settings
from hub.persistence import migrate
from tests.common.clients import agency_token, post_evidence
from tests.common.server import free_port, serve


def _body(afm: str) -> dict[str, Any]:
    return {
        "citizen": {"afm": afm},
        "evidence_type": "family-status",
        "purpose": "social-benefit-eligibility",
        "official": "bench.test",
    }


def _living(citizens: list[dict[str, Any]]) -> str:
    afm: str = next(c["afm"] for c in citizens if not c["deceased"])
    return afm


@pytest.fixture
def floor(settings: Settings) -> Iterator[Any]:
    """Serve a floor hub: yields a function (validate_responses, registry) -> (url, canned)."""
    started: list[Any] = []

    def start(
        *, validate_responses: bool = True, registry: str = "none"
    ) -> tuple[str, CannedEvidence]:
        port = free_port()
        local = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}")
        services = build_services(local)
        migrate.upgrade(services.db)
        app, canned = floor_app(services, validate_responses=validate_responses, registry=registry)
        server = serve(app, port=port)
        with registry_on_loop() if registry == "loop" else contextlib.nullcontext():
            url = server.__enter__()
        started.append((server, services, canned))
        return url, canned

    yield start
    for server, services, canned in reversed(started):
        server.__exit__(None, None, None)
        canned.close()
        services.close()


def test_an_invalid_body_is_refused_with_a_problem(
    floor: Any, keys_dir: Any, citizens: list[dict[str, Any]]
) -> None:
    url, canned = floor()
    token = agency_token(url, keys_dir, "opeka")
    body = {**_body(_living(citizens)), "evidence_type": 42}
    answer = post_evidence(url, token, body)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert canned.real_calls == 0


def test_a_request_without_a_token_is_refused(floor: Any, citizens: list[dict[str, Any]]) -> None:
    url, _ = floor()
    answer = post_evidence(url, None, _body(_living(citizens)))
    assert answer.status_code == 401


def test_the_canned_answer_is_the_first_real_one_and_passes_validation(
    floor: Any, keys_dir: Any, citizens: list[dict[str, Any]]
) -> None:
    url, canned = floor()
    token = agency_token(url, keys_dir, "opeka")
    first = post_evidence(url, token, _body(_living(citizens)))
    second = post_evidence(url, token, _body(_living(citizens)))
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert first.json()["evidence_type"] == "family-status"
    assert canned.real_calls == 1


def test_response_validation_is_on_unless_turned_off(
    floor: Any, keys_dir: Any, citizens: list[dict[str, Any]]
) -> None:
    # A canned answer the response schema refuses (log_index has minimum 0):
    # the validating floor must fail it; the unvalidated one lets it through.
    # The unvalidated floor is built first: the one built after it validates.
    unchecked_url, unchecked = floor(validate_responses=False)
    checked_url, checked = floor()
    token = agency_token(checked_url, keys_dir, "opeka")
    good = post_evidence(checked_url, token, _body(_living(citizens)))
    assert good.status_code == 200, good.text
    broken = dataclasses.replace(checked.answer, log_index=-1)
    checked.answer = broken
    unchecked.answer = broken
    refused = post_evidence(checked_url, token, _body(_living(citizens)))
    assert refused.status_code == 500
    assert refused.headers["content-type"].startswith("application/problem+json")
    other_token = agency_token(unchecked_url, keys_dir, "opeka")
    passed = post_evidence(unchecked_url, other_token, _body(_living(citizens)))
    assert passed.status_code == 200, passed.text
    assert passed.json()["log_index"] == -1


def test_the_hub_itself_still_validates_responses(settings: Settings) -> None:
    # The switch for the floor must not leak into apps built after it.
    before = dict(AsyncApp.__dict__)
    services = build_services(settings)
    try:
        floor_app(services, validate_responses=False)
        assert dict(AsyncApp.__dict__) == before
    finally:
        services.close()


@pytest.mark.parametrize("registry", list(REGISTRY_IO))
def test_each_canned_request_makes_the_first_registry_call_again(
    floor: Any, keys_dir: Any, citizens: list[dict[str, Any]], registry: str
) -> None:
    # The registry I/O variants repeat the first request's registry call on
    # every later request and read the same answer from the real registry.
    url, canned = floor(registry=registry)
    token = agency_token(url, keys_dir, "opeka")
    answers = [post_evidence(url, token, _body(_living(citizens))) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200], answers[-1].text
    assert canned.real_calls == 1
    assert canned.first is not None
    assert canned.first.answer
    assert canned.last_reply == canned.first.answer


def test_the_loop_variant_leaves_other_apps_their_own_handler() -> None:
    from hub.api import evidence, operations  # noqa: PLC0415 - the table under test

    with registry_on_loop():
        assert operations.HANDLERS["requestEvidence"] is not evidence.request_evidence
    assert operations.HANDLERS["requestEvidence"] is evidence.request_evidence
