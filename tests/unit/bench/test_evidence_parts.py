"""The evidence work's floors add up as the bench table says they do."""

from __future__ import annotations

import pytest

from bench.evidence_parts import GROUP, PartsResult, evidence_floor_figures, parts_figures
from bench.report import Figure


def _result(**floors: float) -> PartsResult:
    base = {
        "requests": 0.8,
        "http.client": 0.2,
        "log, one commit": 0.5,
        f"log, {GROUP} per commit": 0.125,
        "cel": 0.06,
        "jsonschema": 0.03,
        "jws": 0.05,
    }
    return PartsResult(
        whole=3.0,
        parts={
            "registry": 1.0,
            "access log": 1.2,
            "mapping": 0.3,
            "schema check": 0.1,
            "seal": 0.2,
        },
        registry_calls=2.0,
        floors=base | floors,
    )


def test_the_floor_counts_every_registry_call_and_the_cheaper_log_commit() -> None:
    result = _result()
    assert result.floor("requests") == pytest.approx(0.8 * 2 + 0.125 + 0.06 + 0.03 + 0.05)
    assert result.floor("http.client") == pytest.approx(0.2 * 2 + 0.125 + 0.06 + 0.03 + 0.05)
    # Where one entry per commit is the cheaper, that is the floor.
    assert _result(**{"log, one commit": 0.1}).floor("requests") == pytest.approx(1.84)


def test_the_stack_floor_plus_the_work_is_held_to_the_healthz_budget() -> None:
    stack = [
        Figure(
            "evidence floor SQLite c=16",
            "hub CPU per no-op evidence",
            1.2,
            "ms",
            "hub CPU per /healthz",
            0.7,
        ),
        Figure(
            "evidence floor SQLite c=16",
            "hub CPU per no-op evidence",
            1.2,
            "ms",
            "same, responses unvalidated",
            1.1,
        ),
    ]
    figures = evidence_floor_figures(_result(), stack, "SQLite")
    by_client = {f.name: f for f in figures}
    assert set(by_client) == {
        "no-op hub + floors of the evidence work (requests)",
        "no-op hub + floors of the evidence work (http.client)",
    }
    with_requests = by_client["no-op hub + floors of the evidence work (requests)"]
    assert with_requests.value == pytest.approx(1.2 + 1.865)
    assert with_requests.floor == 0.7
    assert with_requests.met is False
    with_stdlib = by_client["no-op hub + floors of the evidence work (http.client)"]
    assert with_stdlib.value == pytest.approx(1.2 + 0.665)
    assert with_stdlib.met is False  # 1.865 / 0.7 = 2.66 > 2.5


def test_each_part_is_set_against_its_library() -> None:
    figures = {(f.name, f.floor_name): f for f in parts_figures(_result())}
    seal = figures[("seal (ES256 JWS)", "same payload, cryptography ES256 alone")]
    assert (seal.value, seal.floor) == (0.2, 0.05)
    registry = figures[("registry calls (2 per request)", "same POST + lxml parse, http.client")]
    assert registry.floor == pytest.approx(0.4)
