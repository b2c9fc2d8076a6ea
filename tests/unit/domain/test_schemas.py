"""SchemaCheck: jsonschema-rs decides, with ECMA-262 patterns; jsonschema words the errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, ValidationError

from hub.api.openapi31 import compiled
from hub.domain.schemas import SchemaCheck

SPEC = Path(__file__).resolve().parents[3] / "specs" / "hub.yaml"
AFM = {"type": "string", "pattern": "^[0-9]{9}$"}
NO_CONTROL = {"type": "string", "pattern": "^[^\\u0000-\\u001f]+$"}
PERSON = {
    "type": "object",
    "required": ["afm", "born"],
    "additionalProperties": False,
    "properties": {"afm": AFM, "born": {"type": "string", "format": "date"}},
}


def _messages(errors: Any) -> list[str]:
    return [error.message for error in errors]


@pytest.mark.parametrize(
    ("schema", "instance"),
    [(AFM, "123456789\n"), (NO_CONTROL, "Bank\n"), (NO_CONTROL, "Τράπεζα\n")],
)
def test_a_final_newline_does_not_satisfy_an_anchored_pattern(
    schema: dict[str, Any], instance: str
) -> None:
    # Python's re, which jsonschema uses, lets "$" match before a final newline.
    assert Draft202012Validator(schema).is_valid(instance)
    check = SchemaCheck(schema)
    assert not check.is_valid(instance)
    errors = list(check.iter_errors(instance))
    assert len(errors) == 1
    assert isinstance(errors[0], ValidationError)
    assert "does not match" in errors[0].message
    with pytest.raises(ValidationError):
        check.validate(instance)


def test_valid_instances_pass() -> None:
    check = SchemaCheck(PERSON)
    person = {"afm": "123456789", "born": "1980-02-29"}
    assert check.is_valid(person)
    assert list(check.iter_errors(person)) == []
    check.validate(person)


def test_errors_are_jsonschemas_own_words_and_paths() -> None:
    bad = {"afm": "12345678x", "born": "1981-02-29", "extra": 1}
    reference = Draft202012Validator(PERSON, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = list(SchemaCheck(PERSON).iter_errors(bad))
    assert _messages(errors) == _messages(reference.iter_errors(bad))
    assert len(errors) == 3
    assert sorted(list(e.path) for e in errors) == [[], ["afm"], ["born"]]


def test_formats_jsonschema_checks_keep_its_verdict() -> None:
    stamp = {"type": "string", "format": "date-time"}
    check = SchemaCheck(stamp)
    # jsonschema-rs alone takes a leap second, which datetime cannot hold.
    assert check.is_valid("2026-01-01T10:00:00Z")
    assert not check.is_valid("2016-12-31T23:59:60Z")
    assert not check.is_valid("2026-01-01T10:00:00")


def test_a_format_jsonschema_does_not_check_is_checked() -> None:
    uri = {"type": "string", "format": "uri"}
    assert Draft202012Validator(uri, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(
        "not a uri"
    )
    check = SchemaCheck(uri)
    assert check.is_valid("https://oncehub.gov.gr/problems/not-found")
    errors = list(check.iter_errors("not a uri"))
    assert errors
    assert '"not a uri" is not a "uri"' in errors[0].message


def test_without_formats_no_format_is_checked() -> None:
    check = SchemaCheck({"type": "string", "format": "date"}, formats=False)
    assert check.is_valid("not a date")
    assert not SchemaCheck({"type": "string", "format": "date"}).is_valid("not a date")


def test_a_value_with_no_json_counterpart_is_judged_by_jsonschema() -> None:
    check = SchemaCheck({"type": "array"})
    reference = Draft202012Validator({"type": "array"})
    assert check.is_valid([1, 2])
    # jsonschema-rs refuses these outright ("Unsupported type").
    for odd in (object(), {1, 2}, b"bytes"):
        assert not check.is_valid(odd)
        assert _messages(check.iter_errors(odd)) == _messages(reference.iter_errors(odd))


def test_a_schema_jsonschema_rs_cannot_compile_is_judged_by_jsonschema() -> None:
    # "\Z" is Python's end of string; ECMA-262 has no such escape.
    schema = {"type": "string", "pattern": "^ab\\Z"}
    check = SchemaCheck(schema)
    assert not check.compiled_natively
    assert check.native_error is not None
    assert "regex" in check.native_error
    assert check.is_valid("ab")
    assert not check.is_valid("abc")


def test_a_reference_to_another_server_is_never_fetched() -> None:
    check = SchemaCheck({"$ref": "http://127.0.0.1:9/schema.json"})
    assert not check.compiled_natively
    assert check.native_error is not None
    assert "Retrieval is disabled" in check.native_error
    assert SchemaCheck({"type": "string"}).native_error is None


def _schemas(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "schema" in node and isinstance(node["schema"], dict):
            found.append(node["schema"])
        for value in node.values():
            found.extend(_schemas(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_schemas(value))
    return found


def test_every_schema_of_the_api_compiles_natively() -> None:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    components = document["components"]["schemas"]
    schemas = _schemas(document["paths"]) + list(components.values())
    assert len(schemas) > 50
    for schema in schemas:
        # "#/components/schemas/…" resolves against the schema's own root.
        check = SchemaCheck({**schema, "components": document["components"]})
        assert check.compiled_natively, schema


def test_the_api_validators_are_schema_checks_built_once() -> None:
    schema = {"type": "string", "pattern": "^[0-9]{9}$"}
    first = compiled(schema)
    assert isinstance(first, SchemaCheck)
    assert compiled(schema) is first
    assert not first.is_valid("123456789\n")
