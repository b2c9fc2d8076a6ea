"""The hub's spec is valid OpenAPI 3.1 and its 3.1 keywords are enforced."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from connexion.exceptions import InvalidSpecification

from hub.api import openapi31

SPEC = Path(__file__).resolve().parents[3] / "specs" / "hub.yaml"


def test_hub_spec_is_valid_openapi_3_1() -> None:
    spec = yaml.safe_load(SPEC.read_text())
    assert spec["openapi"].startswith("3.1.")
    openapi31.check_document(spec)


def test_an_invalid_document_is_refused() -> None:
    spec = yaml.safe_load(SPEC.read_text())
    spec["paths"]["/healthz"]["get"]["responses"] = "nothing"
    with pytest.raises(InvalidSpecification):
        openapi31.check_document(spec)


def test_response_validator_enforces_const_which_draft4_ignores() -> None:
    validator_cls = openapi31.VALIDATOR_MAP["response"]["application/json"]
    validator = validator_cls(
        scope={},
        schema={"type": "object", "properties": {"status": {"const": "ok"}}},
        encoding="utf-8",
        nullable=False,
    )
    validator._validate({"status": "ok"})
    with pytest.raises(Exception, match="ok"):
        validator._validate({"status": "broken"})


def test_a_schema_is_compiled_once_and_fresh_objects_are_not() -> None:
    schema = {"type": "string", "maxLength": 3}
    assert openapi31.compiled(schema) is openapi31.compiled(schema)
    assert openapi31.compiled(dict(schema)) is not openapi31.compiled(schema)
    assert openapi31.compiled({}) is openapi31.compiled({})


def test_the_parameter_validator_enforces_the_cached_schema_every_time() -> None:
    param = {"name": "q", "in": "query", "schema": {"type": "string", "const": "yes"}}
    check = openapi31.VALIDATOR_MAP["parameter"].validate_parameter
    for _ in range(3):
        assert check("query", "yes", param) is None
        assert "'yes' was expected" in (check("query", "no", param) or "")
    assert param == {"name": "q", "in": "query", "schema": {"type": "string", "const": "yes"}}
