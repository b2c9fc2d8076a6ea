"""The spec as outside tools read it: served with its components, linted, well named.

* every schema object holds only JSON Schema 2020-12 / OpenAPI 3.1 keywords
  (a YAML flow mapping once split a description into a property);
* ``/openapi.json`` is the document as written, with its ``$ref``s and every
  component used, not connexion's resolved copy;
* every operationId is a stable camelCase name that resolves to a handler,
  and every handler in the table serves an operation;
* Redocly's recommended rules and Spectral's ``oas`` ruleset find no error in
  the served document (the npm tools are pinned in specs/lint; without them
  these skip, except under CI, where they fail).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.api import openapi31
from hub.api.operations import HANDLERS, OperationResolver
from hub.config import Settings
from tests.common.npm import TOOLS, npm_tool
from tests.common.server import serve_hub

SPEC = Path(__file__).resolve().parents[3] / "specs" / "hub.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

#: JSON Schema 2020-12 (core, applicator, validation, meta-data, format,
#: content, unevaluated) and the OpenAPI 3.1 schema object's own keywords.
SCHEMA_KEYWORDS = frozenset(
    {
        "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$defs",
        "$comment", "$vocabulary",
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas",
        "prefixItems", "items", "contains", "properties", "patternProperties",
        "additionalProperties", "propertyNames", "unevaluatedItems", "unevaluatedProperties",
        "type", "const", "enum", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
        "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
        "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties",
        "required", "dependentRequired",
        "title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
        "format", "contentEncoding", "contentMediaType", "contentSchema",
        "discriminator", "xml", "externalDocs", "example",
    }
)  # fmt: skip

#: The keywords whose value is one subschema, a list of them, or a map of them.
_ONE = ("items", "contains", "not", "if", "then", "else", "additionalProperties",
        "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema")  # fmt: skip
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")


def _subschemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in _ONE:
        if isinstance(schema.get(key), dict):
            yield schema[key]
    for key in _LIST:
        yield from (s for s in schema.get(key, []) if isinstance(s, dict))
    for key in _MAP:
        yield from (s for s in schema.get(key, {}).values() if isinstance(s, dict))


def _walk(schema: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield where, schema
    for index, child in enumerate(_subschemas(schema)):
        yield from _walk(child, f"{where}/{index}")


def _document_schemas(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object of the document: components, parameters, bodies, headers."""
    for name, schema in spec["components"].get("schemas", {}).items():
        yield from _walk(schema, f"components/schemas/{name}")

    def media(where: str, content: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        for media_type, item in content.items():
            if "schema" in item:
                yield from _walk(item["schema"], f"{where}/{media_type}")

    for path, item in spec["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            here = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield from _walk(parameter.get("schema", {}), f"{here} ?{parameter.get('name')}")
            yield from media(here, operation.get("requestBody", {}).get("content", {}))
            for status, response in operation.get("responses", {}).items():
                yield from media(f"{here} {status}", response.get("content", {}))
                for header, value in response.get("headers", {}).items():
                    yield from _walk(value.get("schema", {}), f"{here} {status} {header}")
    for name, response in spec["components"].get("responses", {}).items():
        yield from media(f"components/responses/{name}", response.get("content", {}))


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def test_every_schema_object_holds_only_schema_keywords() -> None:
    spec = openapi31.load_document(SPEC)
    strays = [
        f"{where}: {key}"
        for where, schema in _document_schemas(spec)
        for key in schema
        if key not in SCHEMA_KEYWORDS and not key.startswith("x-")
    ]
    assert strays == []


def test_the_keyword_check_catches_a_split_flow_mapping() -> None:
    # The very mistake it guards against: an unquoted comma inside {...}.
    import yaml  # noqa: PLC0415

    broken = yaml.safe_load('{type: string, description: The law relied on, or "consent".}')
    assert set(broken) - SCHEMA_KEYWORDS == {'or "consent".'}


def test_every_operation_id_resolves_and_no_handler_is_orphaned() -> None:
    spec = openapi31.load_document(SPEC)
    ids = [operation["operationId"] for _, _, operation in _operations(spec)]
    assert len(ids) == len(set(ids)), "operationIds are unique"
    assert [i for i in ids if not re.fullmatch(r"[a-z][a-zA-Z0-9]*", i)] == []
    resolver = OperationResolver()
    for operation_id in ids:
        assert resolver.function_resolver(operation_id) is HANDLERS[operation_id]
    assert set(HANDLERS) == set(ids), "every handler in the table serves an operation"


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with serve_hub(settings) as (url, _, _):
        document = tmp_path / "openapi.json"
        document.write_bytes(requests.get(f"{url}/openapi.json", timeout=10).content)
        yield url, document


@pytest.mark.db
def test_the_served_spec_keeps_its_components_and_refs(served: tuple[str, Path]) -> None:
    _, document = served
    spec = json.loads(document.read_text(encoding="utf-8"))
    written = openapi31.load_document(SPEC)
    assert spec["paths"] == written["paths"]
    assert spec["components"] == written["components"]
    text = document.read_text(encoding="utf-8")
    unused = [
        f"{kind}/{name}"
        for kind in ("schemas", "responses")
        for name in spec["components"][kind]
        if f'"#/components/{kind}/{name}"' not in text
    ]
    assert unused == []


@pytest.mark.db
def test_redocly_recommended_rules_find_no_error(served: tuple[str, Path]) -> None:
    redocly = npm_tool("redocly")
    _, document = served
    result = subprocess.run(
        [str(redocly), "lint", str(document), "--config", str(TOOLS / "redocly.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=TOOLS,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.db
def test_spectral_oas_ruleset_finds_no_error(served: tuple[str, Path]) -> None:
    spectral = npm_tool("spectral")
    _, document = served
    result = subprocess.run(
        [
            str(spectral),
            "lint",
            str(document),
            "--ruleset",
            str(TOOLS / ".spectral.yaml"),
            "--fail-severity",
            "error",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=TOOLS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
